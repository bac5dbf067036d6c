"""Compare backbones: one image; rows are backbones, columns are methods (the paper's Figs. 2–4)."""

import streamlit as st

from camlib import app_backend as ui
from camlib.backbones import imagenet_class_names

ui.page_setup("Compare backbones")
st.caption(
    "One image, explained by each backbone at its default layer. A backbone whose weights are not on this "
    "machine says how to add them."
)

image = ui.sidebar_image_picker()
if image is None:
    st.stop()

st.sidebar.header("Models")
backbones = st.sidebar.multiselect(
    "Backbones", list(ui.BACKBONES), default=list(ui.BACKBONES), format_func=ui.backbone_label,
    key="camlib_backbones", persist_state="session",
)
class_names = imagenet_class_names()
class_choice = st.sidebar.selectbox(
    "Class (type to search)", [None, *range(len(class_names))],
    format_func=lambda index: "Each backbone's top-1" if index is None else f"{class_names[index]} ({index})",
    key="camlib_backbones_class",
)
st.sidebar.header("Methods")
methods = ui.sidebar_methods()
speed, overrides = ui.sidebar_speed()
st.sidebar.header("Display")
opacity, colormap = ui.sidebar_display()
ui.sidebar_device()

for backbone_key in backbones:
    st.subheader(ui.backbone_label(backbone_key))
    model = ui.load_model_or_explain(backbone_key)
    if model is None:
        continue
    weights_path = ui.weights_path_for(backbone_key)
    top = ui.top_predictions(image.digest, backbone_key, weights_path, image.image)
    target_class = top[0][0] if class_choice is None else class_choice
    layer = model.backbone.spec.default_layer
    probability = next((p for index, _, p in top if index == target_class), None)
    st.caption(
        f"Top-1: **{top[0][1]}** ({top[0][2]:.0%}) · explaining **{class_names[target_class]}**"
        + (f" ({probability:.0%})" if probability is not None and class_choice is not None else "")
        + f" · layer `{layer}`"
    )
    display_image = model.backbone.display_image(image.image)
    cells = ui.grid_cells(len(methods) + 1, columns=len(methods) + 1, key=f"backbone_row_{backbone_key}")
    cells[0].image(display_image, caption="Input", width="stretch")
    ui.fill_method_cells(
        dict(zip(methods, cells[1:])), image, backbone_key, weights_path, layer, target_class, display_image,
        speed=speed, overrides=overrides, opacity=opacity, colormap=colormap,
    )
