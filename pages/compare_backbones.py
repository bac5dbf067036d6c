"""Compare backbones: one image; rows are backbones, columns are methods (the paper's Figs. 2–4)."""

import streamlit as st

from camlib.app import captions, models, widgets
from camlib.app import class_choice as classes, plots_and_downloads as figures
from camlib.backbones import BACKBONES, imagenet_class_names

widgets.page_setup("Compare backbones")
st.caption("One image, explained by each built-in ImageNet backbone at its default layer (your own model: the other pages).")
widgets.how_to_read(
    "Each row is one backbone, each column one method. A method that points at the same object on every "
    "backbone describes the image; one that moves with the backbone describes the network. Maps are each "
    "scaled to their own range, and raw values of different backbones are in different units, so compare "
    "where maps are hot, not how hot."
)

image = widgets.sidebar_image()
st.sidebar.header("Models")
backbones = st.sidebar.multiselect(
    "Backbones", list(BACKBONES), default=list(BACKBONES), format_func=widgets.backbone_label,
    key="camlib_backbones", persist_state="session",
)
resolution = widgets.sidebar_resolution()
class_names = imagenet_class_names()
class_choice = st.sidebar.selectbox(
    "Class (type to search)", [None, *range(len(class_names))],
    format_func=lambda index: classes.class_choice_option(class_names, index),
    key="camlib_backbones_class", persist_state="session",
)
settings = widgets.sidebar_method_settings(resolution)
display = widgets.sidebar_display()
widgets.sidebar_device()
widgets.methods_or_stop(settings.methods)

rows = []
for backbone_key in backbones:
    st.subheader(widgets.backbone_label(backbone_key))
    model = widgets.load_model_or_explain(backbone_key)
    if model is None:
        continue
    choice = models.ModelChoice(backbone_key, widgets.weights_path_for(backbone_key))
    top = models.top_predictions(image.digest, choice, image.image, resolution)
    target_class = classes.target_or_top_1(top, class_choice)
    if not models.is_imagenet(model.backbone.class_names) and class_choice is not None:
        st.caption(f"Its weights ({model.backbone.weights_label}) have their own {len(model.backbone.class_names)} classes, "
                   "not ImageNet's: choose “Each backbone's top-1” to explain it here.")
        continue
    layer = model.backbone.default_layer
    probability = models.class_probability(image.digest, choice, image.image, resolution, target_class)
    class_text = figures.class_label(model.backbone.class_names, target_class, probability)
    st.caption(captions.top_1_line(top, class_text, layer))
    display_image = model.backbone.display_image(image.image, resolution)
    results = widgets.overlay_grid(
        image, display_image, "Input", model=choice, layer=layer, target_class=target_class, settings=settings, display=display,
        key=f"backbone_row_{backbone_key}",
    )
    rows.append(figures.figure_row(captions.backbone_row_label(backbone_key, layer, class_text), display_image, results))

if rows:
    widgets.colour_scale(display)
    widgets.figure_downloads(
        lambda: rows, title=captions.backbones_title(image.name, settings),
        stem=f"backbones_{resolution}", key="figure_backbones", display=display,
    )
