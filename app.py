"""camlib's Streamlit app: `streamlit run app.py`.

This main page, "Compare methods", shows one image explained by the six methods side by side (the paper's
Fig. 2). The other pages are in pages/; everything they compute comes from the camlib.app package.
"""

import streamlit as st

from camlib.app import figures, inputs, models, widgets
from camlib.methods import METHODS

widgets.page_setup("Compare methods")
st.caption("Upload an image or pick a sample, choose a backbone, a layer and a class, and see each method's map.")
widgets.how_to_read(
    "Each tile is the input with one method's map laid over it: warm colours (1 on the colour bar) mark the "
    "places that, by that method's measure, most raise the chosen class's score. Every map is scaled to its "
    "own range, so compare **where** maps are hot, not how hot. Methods that agree are more convincing; "
    "the **Faithfulness** page tests which maps keep the class score when the rest of the image is dimmed."
)

chosen = widgets.sidebar_image_and_model()
image, backbone_key, class_names = chosen.image, chosen.backbone_key, chosen.class_names
layer = widgets.sidebar_layer(chosen)
resolution = widgets.sidebar_resolution()
top = models.top_predictions(image.digest, backbone_key, chosen.weights_path, image.image, resolution)
suggested = inputs.default_class(image.sample, top)
target_class = st.sidebar.selectbox(
    "Class (type to search all 1000)",
    range(len(class_names)),
    index=suggested,
    format_func=lambda index: f"{class_names[index]} ({index})",
    key=f"camlib_class::{image.digest}::{backbone_key}",
    persist_state="session",
    help="The default is the class the sample photo shows, else the top-1 prediction.",
)
probability = models.class_probability(image.digest, backbone_key, chosen.weights_path, image.image, resolution, target_class)
st.sidebar.plotly_chart(figures.predictions_figure(top, target_class), key="top5", config={"displayModeBar": False})
if target_class not in [index for index, _, _ in top]:
    st.sidebar.caption(f"**{class_names[target_class]}** is not in the top 5: the model gives it {probability:.2%}.")
if top[0][2] < 0.2:
    st.sidebar.caption(
        f"The model is unsure about this image (its top-1 has only {top[0][2]:.0%}). Small objects fill little of the "
        "input: a higher resolution may help, and a class chosen by hand can still be explained."
    )

settings = widgets.sidebar_method_settings(resolution)
display = widgets.sidebar_display()
widgets.sidebar_device()

display_image = chosen.model.backbone.display_image(image.image, resolution)
class_text = figures.class_label(class_names, target_class, probability)
st.markdown(
    f"Explaining **{class_text}** in *{image.name}* with **{widgets.backbone_label(backbone_key)}** at layer `{layer}` · "
    f"{resolution} px · settings: **{settings.label()}**"
)
results = widgets.overlay_grid(
    image, display_image, f"Input: {class_names[target_class]}", backbone_key=backbone_key, weights_path=chosen.weights_path,
    layer=layer, target_class=target_class, settings=settings, display=display, key="overlay_grid", columns=4,
)
widgets.colour_scale(display)

rendered = [key for key, result in results.items() if result.saliency is not None]
if rendered:
    title = (f"{widgets.backbone_label(backbone_key)} · layer {layer} · {settings.label()} · "
             f"input {display_image.shape[1]}×{display_image.shape[0]} px · {image.name}")
    stem = f"{backbone_key}_{class_names[target_class].replace(' ', '_')}"
    widgets.figure_downloads(lambda: [figures.figure_row(class_text, display_image, results)],
                             title=title, stem=stem, key="figure_main", display=display)

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
    st.download_button("Download the raw maps (.npz)", figures.maps_npz(explanation, backbone_key=backbone_key),
                       file_name=f"camlib_maps_{stem}.npz", mime="application/octet-stream", on_click="ignore")
