"""camlib's Streamlit app: `streamlit run app.py`.

This main page, "Compare methods", shows one image explained by the six methods side by side (the paper's
Fig. 2). The other pages are in pages/; everything they compute comes from the camlib.app package.
"""

import streamlit as st

from camlib.app import figures, models, widgets
from camlib.app.settings import SPEED_PRESETS
from camlib.methods import METHODS

widgets.page_setup("Compare methods")
st.caption("Upload an image or pick a sample, choose a backbone, a layer and a class, and see each method's map.")

chosen = widgets.sidebar_image_and_model()
image, backbone_key, class_names = chosen.image, chosen.backbone_key, chosen.class_names
top = models.top_predictions(image.digest, backbone_key, chosen.weights_path, image.image)

layer = st.sidebar.selectbox(
    "Target layer", models.layer_options(chosen.model), key=f"camlib_layer::{backbone_key}",
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
st.sidebar.plotly_chart(figures.predictions_figure(top, target_class), key="top5", config={"displayModeBar": False})

settings = widgets.sidebar_method_settings()
display = widgets.sidebar_display()
widgets.sidebar_device()

display_image = chosen.model.backbone.display_image(image.image)
st.markdown(
    f"Explaining **{class_names[target_class]}** ({target_class}) in *{image.name}* with "
    f"**{widgets.backbone_label(backbone_key)}** at layer `{layer}` · settings: **{SPEED_PRESETS[settings.speed].label}**"
)
results = widgets.overlay_grid(
    image, display_image, f"Input: {class_names[target_class]}", backbone_key=backbone_key, weights_path=chosen.weights_path,
    layer=layer, target_class=target_class, settings=settings, display=display, key="overlay_grid", columns=4,
)

rendered = [key for key, result in results.items() if result.saliency is not None]
if rendered:
    st.subheader("Inspect a map")
    default = rendered.index("gradpp_scorecam") if "gradpp_scorecam" in rendered else 0
    inspected = st.selectbox("Method", rendered, index=default, format_func=lambda k: METHODS[k].display_name, key="camlib_inspect")
    left, right = st.columns([2, 3])
    left.image(figures.overlay_tile(display_image, results[inspected], opacity=display.opacity, colormap=display.colormap),
               caption=figures.tile_caption(results[inspected]), width="stretch")
    right.plotly_chart(
        figures.heatmap_figure(results[inspected].saliency, colormap=display.colormap,
                               title=f"{METHODS[inspected].display_name}: hover for values"),
        key="heatmap",
    )

    explanation = figures.explanation_of(display_image, target_class, class_names, top, layer, results)
    stem = f"{backbone_key}_{class_names[target_class].replace(' ', '_')}"
    first, second = st.columns(2)
    first.download_button("Download the grid (PNG)",
                          figures.grid_png(explanation, opacity=display.opacity, colormap=display.colormap, columns=4),
                          file_name=f"camlib_grid_{stem}.png", mime="image/png", on_click="ignore")
    second.download_button("Download the raw maps (.npz)", figures.maps_npz(explanation, backbone_key=backbone_key),
                           file_name=f"camlib_maps_{stem}.npz", mime="application/octet-stream", on_click="ignore")
