"""Compare backbones: one image; rows are backbones, columns are methods (the paper's Figs. 2–4)."""

import streamlit as st

from camlib.app import models, widgets
from camlib.backbones import BACKBONES, imagenet_class_names

widgets.page_setup("Compare backbones")
st.caption(
    "One image, explained by each backbone at its default layer. A backbone whose weights are not on this "
    "machine says how to add them."
)

image = widgets.sidebar_image()
st.sidebar.header("Models")
backbones = st.sidebar.multiselect(
    "Backbones", list(BACKBONES), default=list(BACKBONES), format_func=widgets.backbone_label,
    key="camlib_backbones", persist_state="session",
)
class_names = imagenet_class_names()
class_choice = st.sidebar.selectbox(
    "Class (type to search)", [None, *range(len(class_names))],
    format_func=lambda index: "Each backbone's top-1" if index is None else f"{class_names[index]} ({index})",
    key="camlib_backbones_class",
)
settings = widgets.sidebar_method_settings()
display = widgets.sidebar_display()
widgets.sidebar_device()

for backbone_key in backbones:
    st.subheader(widgets.backbone_label(backbone_key))
    model = widgets.load_model_or_explain(backbone_key)
    if model is None:
        continue
    weights_path = widgets.weights_path_for(backbone_key)
    top = models.top_predictions(image.digest, backbone_key, weights_path, image.image)
    target_class = top[0][0] if class_choice is None else class_choice
    layer = model.backbone.spec.default_layer
    probability = next((p for index, _, p in top if index == target_class), None)
    st.caption(
        f"Top-1: **{top[0][1]}** ({top[0][2]:.0%}) · explaining **{class_names[target_class]}**"
        + (f" ({probability:.0%})" if probability is not None and class_choice is not None else "")
        + f" · layer `{layer}`"
    )
    widgets.overlay_grid(
        image, model.backbone.display_image(image.image), "Input", backbone_key=backbone_key, weights_path=weights_path,
        layer=layer, target_class=target_class, settings=settings, display=display, key=f"backbone_row_{backbone_key}",
    )
