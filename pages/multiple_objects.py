"""Multiple objects: several classes in one photo, and one class with several instances (the paper's Fig. 5)."""

import streamlit as st

from camlib.app import captions, inputs, instances, layers, widgets
from camlib.app import class_choice as classes, plots_and_downloads as figures

widgets.page_setup("Multiple objects")
widgets.how_to_read(
    "**Several classes:** one row per class, one column per method. A method that separates the classes "
    "lights up a different object in each row. Tick *common scale* to compare how strongly each class is "
    "supported (within a method; methods keep their own units).  \n"
    "**Several instances:** a good map covers every instance of the class, not only the most obvious one. "
    "This page uses 448 px by default: at 224 px the last feature map of a typical CNN is 7 × 7 (a stride of 32 "
    "pixels), too coarse to separate neighbouring objects. Hot spots are kept one cell of the chosen layer apart."
)

chosen = widgets.sidebar_image_and_model()
image, class_names = chosen.image, chosen.class_names
layer = widgets.sidebar_layer(chosen)
resolution = widgets.sidebar_resolution(448, key="camlib_resolution_multi")
settings = widgets.sidebar_method_settings(resolution)
display = widgets.sidebar_display()
widgets.sidebar_device()
widgets.methods_or_stop(settings.methods)
widgets.note(instances.resolution_note(resolution))
setting_text = captions.setting_line(captions.model_title(chosen.model.backbone, chosen.choice), layer, settings)
grid = {"layer": layer, "settings": settings, "display": display}

st.header("Several classes in one image")
widgets.offer_sample(inputs.sample_to_offer(image), "Use the dog-and-cat photo")
top = widgets.predictions_or_stop(chosen, image, resolution)
chosen_classes = widgets.classes_to_compare(image, class_names, top)
common_scale = st.checkbox(
    "Common scale: within each method, put the classes' maps on one scale", key="camlib_common_scale", persist_state="session",
    help=figures.COMMON_SCALE_NOTE,
)
common = widgets.common_maxima_for(chosen, image, chosen_classes, layer=layer, settings=settings, wanted=common_scale)
class_rows = [widgets.class_row(chosen, image, target_class, key=f"class_row_{target_class}", common_maxima=common, **grid)[0]
              for target_class in chosen_classes]
if class_rows:
    widgets.colour_scale(display, common=common_scale)
    widgets.figure_downloads(
        lambda: class_rows, title=f"{image.name} · {setting_text}", stem=f"classes_{resolution}", key="figure_classes",
        display=display, scale_note=figures.figure_scale_note(common_scale),
    )

st.header("One class, several instances")
crowds = inputs.samples_with_instances()
options, first = instances.crowd_options(crowds)
choice = st.selectbox(
    "Photo", options, index=first, format_func=lambda label: instances.crowd_option_label(label, image.name),
    key="camlib_crowd", persist_state="session",
)
widgets.note(instances.no_crowd_note(crowds))
crowd = instances.crowd_photo(choice, image, crowds)
crowd_top = widgets.predictions_or_stop(chosen, crowd, resolution)
crowd_class = widgets.class_box(class_names, classes.first_known_class(classes.sample_for(crowd.sample, class_names), crowd_top),
                                key=f"camlib_crowd_class::{crowd.digest}::{chosen.entry}", label=classes.search_label(class_names))
crowd_row, crowd_results = widgets.class_row(chosen, crowd, crowd_class, key="instances_row", **grid)
widgets.colour_scale(display)
widgets.figure_downloads(
    lambda: [crowd_row], title=f"{crowd.name} · {setting_text}", stem=f"instances_{resolution}", key="figure_instances", display=display,
)
stride = layers.stride(chosen.choice, layer, resolution)
counted = inputs.counted_instances(crowd) if classes.sample_for(crowd.sample, class_names) else None
st.info(instances.instances_note(crowd_results, resolution=resolution, stride=stride, instances=counted,
                                 fixed_size=chosen.model.backbone.fixed_size))

st.subheader("Pointing game on grids of four photos")
widgets.pointing_game(settings.methods, chosen.backbone_key if chosen.weights_path is None else chosen.label, layer)
