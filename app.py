"""camlib's Streamlit app: `streamlit run app.py`.

This main page, "Compare methods", shows one image explained by the six methods side by side (the paper's
Fig. 2). The other pages are in pages/; everything they compute comes from camlib/app_backend.py.
"""

import streamlit as st

from camlib import app_backend as ui
from camlib.methods import METHODS

ui.page_setup("Compare methods")
st.caption("Upload an image or pick a sample, choose a backbone, a layer and a class, and see each method's map.")

image = ui.sidebar_image_picker()
if image is None:
    st.stop()

st.sidebar.header("Model")
backbone_key = st.sidebar.selectbox(
    "Backbone", list(ui.BACKBONES), format_func=ui.backbone_label, key="camlib_backbone", persist_state="session"
)
model = ui.load_model_or_explain(backbone_key)
if model is None:
    ui.sidebar_device()
    st.stop()
weights_path = ui.weights_path_for(backbone_key)
class_names = model.backbone.class_names
top = ui.top_predictions(image.digest, backbone_key, weights_path, image.image)

layers = ui.layer_options(model)
layer = st.sidebar.selectbox(
    "Target layer", layers, key=f"camlib_layer::{backbone_key}",
    help="The first entries are presets; type to find any layer by its dotted name.",
)
target_class = st.sidebar.selectbox(
    "Class (type to search all 1000)",
    range(len(class_names)),
    index=top[0][0],
    format_func=lambda index: f"{class_names[index]} ({index})",
    key=f"camlib_class::{image.digest}::{backbone_key}",
    help="The default is the top-1 prediction.",
)
st.sidebar.plotly_chart(ui.predictions_figure(top, target_class), key="top5", config={"displayModeBar": False})

st.sidebar.header("Methods")
methods = ui.sidebar_methods()
speed, overrides = ui.sidebar_speed()
st.sidebar.header("Display")
opacity, colormap = ui.sidebar_display()
ui.sidebar_device()

display_image = model.backbone.display_image(image.image)
st.markdown(
    f"Explaining **{class_names[target_class]}** ({target_class}) in *{image.name}* with "
    f"**{ui.backbone_label(backbone_key)}** at layer `{layer}` · settings: **{ui.SPEED_PRESETS[speed].label}**"
)
cells = ui.grid_cells(len(methods) + 1, columns=4, key="overlay_grid")
cells[0].image(display_image, caption=f"Input: {class_names[target_class]}", width="stretch")
results = ui.fill_method_cells(
    dict(zip(methods, cells[1:])), image, backbone_key, weights_path, layer, target_class, display_image,
    speed=speed, overrides=overrides, opacity=opacity, colormap=colormap,
)

rendered = [key for key, result in results.items() if result.saliency is not None]
if rendered:
    st.subheader("Inspect a map")
    default = rendered.index("gradpp_scorecam") if "gradpp_scorecam" in rendered else 0
    chosen = st.selectbox("Method", rendered, index=default, format_func=lambda k: METHODS[k].display_name, key="camlib_inspect")
    left, right = st.columns([2, 3])
    left.image(ui.overlay_tile(display_image, results[chosen], opacity=opacity, colormap=colormap),
               caption=ui.tile_caption(results[chosen]), width="stretch")
    right.plotly_chart(
        ui.heatmap_figure(results[chosen].saliency, colormap=colormap, title=f"{METHODS[chosen].display_name}: hover for values"),
        key="heatmap",
    )

    explanation = ui.explanation_of(display_image, target_class, class_names, top, layer, results)
    stem = f"{backbone_key}_{class_names[target_class].replace(' ', '_')}"
    first, second = st.columns(2)
    first.download_button("Download the grid (PNG)", ui.grid_png(explanation, opacity=opacity, colormap=colormap, columns=4),
                          file_name=f"camlib_grid_{stem}.png", mime="image/png", on_click="ignore")
    second.download_button("Download the raw maps (.npz)", ui.maps_npz(explanation, backbone_key=backbone_key),
                           file_name=f"camlib_maps_{stem}.npz", mime="application/octet-stream", on_click="ignore")
