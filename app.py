"""camlib's Streamlit app: `streamlit run app.py`.

This main page, "Compare methods", shows one image explained by the six methods side by side (the paper's
Fig. 2). The other pages are in pages/; everything they compute or decide comes from the camlib.app package.
"""

import streamlit as st

from camlib.app import widgets  # light: its widgets import torch and the methods on first use

widgets.page_setup("Compare methods")
st.caption("Upload an image or pick a sample, choose a model (or load your own), a layer and a class, and see each method's map.")
widgets.how_to_read(
    "Each tile is the input with one method's map laid over it: warm colours (1 on the colour bar) mark the "
    "places that, by that method's measure, most raise the chosen class's score. Every map is scaled to its "
    "own range, so compare **where** maps are hot, not how hot. Methods that agree are more convincing; "
    "the **Faithfulness** page tests which maps keep the class score when the rest of the image is dimmed."
)

photo = widgets.sidebar_image()
with widgets.first_run_preview(photo):  # the photo is drawn before torch, the methods and the model load
    from camlib.app import captions, compare, inputs, models
    from camlib.app import class_choice as classes, plots_and_downloads as figures
    from camlib.app.widgets import comparison

    chosen = widgets.sidebar_image_and_model(photo)
image, class_names, model_name = chosen.image, chosen.class_names, chosen.label
layer = widgets.sidebar_layer(chosen)
resolution = widgets.sidebar_resolution()
top = widgets.predictions_or_stop(chosen, image, resolution)
target_class = widgets.class_box(
    class_names, inputs.default_class(classes.sample_for(image.sample, class_names), top),
    key=f"camlib_class::{image.digest}::{chosen.entry}", label=classes.search_label(class_names), container=st.sidebar,
    help="The default is the class the sample photo shows, else the top-1 prediction.",
)
probability = models.class_probability(image.digest, chosen.choice, image.image, resolution, target_class)
widgets.top_5_and_notes(class_names, top, target_class, probability,
                        widgets.at_resolution(chosen, image, resolution, target_class))

settings = widgets.sidebar_method_settings(resolution)
display = widgets.sidebar_display()
widgets.sidebar_device()

display_image = chosen.model.backbone.display_image(image.image, resolution)
class_text = figures.class_label(class_names, target_class, probability)
st.markdown(captions.explaining_line(class_text, image.name, model_name, layer, settings,
                                    chosen.model.backbone.spec.cam_layer))
widgets.methods_or_stop(settings.methods)
results = widgets.overlay_grid(
    image, display_image, "Input", model=chosen.choice, layer=layer, target_class=target_class,
    settings=settings, display=display, key="overlay_grid", columns=compare.grid_columns(len(settings.methods) + 1),
)
widgets.colour_scale(display)
comparison.same_map_reason(results, layer, chosen.model.backbone.spec.cam_layer)
comparison.parting_layer_button(chosen, layer)
comparison.difference_view(results, display_image)

rendered = figures.rendered_methods(results)
if rendered:
    title = captions.input_title(captions.model_title(chosen.model.backbone, chosen.choice), layer, settings, display_image.shape[1], display_image.shape[0], image.name)
    stem = captions.file_stem(chosen.backbone_key, class_names[target_class])
    widgets.figure_downloads(lambda: [figures.figure_row(class_text, display_image, results)],
                             title=title, stem=stem, key="figure_main", display=display)

    st.subheader("Inspect a map")
    widgets.map_inspector(results, display_image, display, rendered, figures.inspected_first(rendered))

    explanation = figures.explanation_of(display_image, target_class, class_names, top, layer, results)
    st.download_button("Download the raw maps (.npz)", figures.maps_npz(explanation, backbone_key=chosen.backbone_key),
                       file_name=f"camlib_maps_{stem}.npz", mime="application/octet-stream", on_click="ignore")
