"""Multiple objects: several classes in one photo, and one class with several instances (the paper's Fig. 5)."""

import streamlit as st

from camlib.app import figures, inputs, instances, maps, models, widgets

widgets.page_setup("Multiple objects")
widgets.how_to_read(
    "**Several classes:** one row per class, one column per method. A method that separates the classes "
    "lights up a different object in each row. Tick *common scale* to compare how strongly each class is "
    "supported (within a method; methods keep their own units).  \n"
    "**Several instances:** a good map covers every instance of the class, not only the most obvious one. "
    "This page uses 448 px by default: at 224 px the last feature map of these networks is 7 × 7, too coarse "
    "to separate neighbouring objects."
)

chosen = widgets.sidebar_image_and_model()
image, backbone_key, weights_path, class_names = chosen.image, chosen.backbone_key, chosen.weights_path, chosen.class_names
layer = widgets.sidebar_layer(chosen)
resolution = widgets.sidebar_resolution(448, key="camlib_resolution_multi")
settings = widgets.sidebar_method_settings(resolution)
display = widgets.sidebar_display()
widgets.sidebar_device()
backbone = chosen.model.backbone
if resolution != 224:
    st.caption(
        f"At {resolution} px the objects look larger than in the 224-px photos the model learned from, so its "
        "predictions are often less confident (the top-5 below); the maps are still for the classes you choose."
    )
setting_text = f"{widgets.backbone_label(backbone_key)} · layer {layer} · {settings.label()} · shorter side {resolution} px"


def class_row(photo, target_class, key, common=None):
    probability = models.class_probability(photo.digest, backbone_key, weights_path, photo.image, resolution, target_class)
    label = figures.class_label(class_names, target_class, probability)
    display_image = backbone.display_image(photo.image, resolution)
    results = widgets.overlay_grid(
        photo, display_image, label, backbone_key=backbone_key, weights_path=weights_path, layer=layer,
        target_class=target_class, settings=settings, display=display, key=key, common_maxima=common,
    )
    return figures.figure_row(label, display_image, results), results


def row_results(photo, target_class):
    """Every method's result for one class, from the cache when it is there (for the common scale)."""
    return {
        key: maps.compute_map_safely(
            maps.map_request(photo, backbone_key, weights_path, layer, target_class, key, settings.params(key), resolution), photo
        )
        for key in settings.methods
    }


st.header("Several classes in one image")
samples = {sample.label: sample for sample in inputs.available_samples()}
dog_and_cat = samples.get("Dog and cat (shared)")
if dog_and_cat is not None and image.sample != dog_and_cat:
    st.button("Use the dog-and-cat photo", on_click=widgets.use_sample, args=(dog_and_cat.label,))

top = models.top_predictions(image.digest, backbone_key, weights_path, image.image, resolution)
mode = st.radio("Classes", ["choose", "top-k"], format_func={"choose": "Choose classes", "top-k": "Top-k predictions"}.get,
                horizontal=True, key="camlib_multi_mode", persist_state="session")
if mode == "top-k":
    k = st.slider("k", 2, 5, 2, key="camlib_multi_k", persist_state="session")
    classes = [index for index, _, _ in top[:k]]
else:
    suggested = list(image.sample.classes) if image.sample and len(image.sample.classes) >= 2 else [i for i, _, _ in top[:2]]
    classes = st.multiselect(
        "Classes (type to search all 1000)", range(len(class_names)), default=suggested,
        format_func=lambda index: f"{class_names[index]} ({index})", key=f"camlib_multi_classes::{image.digest}",
        persist_state="session",
    )
if len(classes) < 2:
    st.info("Pick two or more classes to compare.")
common_scale = st.checkbox(
    "Common scale: within each method, put the classes' maps on one scale", key="camlib_common_scale", persist_state="session",
    help=figures.COMMON_SCALE_NOTE,
)
common = None
if common_scale and classes:
    with st.spinner("Computing every class's maps for the common scale…"):
        common = figures.common_maxima([row_results(image, target_class) for target_class in classes])
class_rows = [class_row(image, target_class, f"class_row_{target_class}", common)[0] for target_class in classes]
if class_rows:
    widgets.colour_scale(display, common=common_scale)
    widgets.figure_downloads(
        lambda: class_rows, title=f"{image.name} · {setting_text}", stem=f"classes_{resolution}", key="figure_classes",
        display=display, scale_note=figures.COMMON_SCALE_FIGURE_NOTE if common_scale else figures.SCALE_NOTE,
    )

st.header("One class, several instances")
crowds = {label: sample for label, sample in samples.items() if sample.instances}
choice = st.selectbox(
    "Photo", ["current", *crowds], index=1 if crowds else 0,
    format_func=lambda label: f"The current image ({image.name})" if label == "current" else label,
    key="camlib_crowd", persist_state="session",
)
if not crowds:
    st.caption("Upload a photo with several objects of one class to see how each method spreads over them.")
crowd = image if choice == "current" else inputs.sample_input(crowds[choice])
crowd_top = models.top_predictions(crowd.digest, backbone_key, weights_path, crowd.image, resolution)
default_class = crowd.sample.classes[0] if crowd.sample and crowd.sample.classes else crowd_top[0][0]
crowd_class = st.selectbox(
    "Class", range(len(class_names)), index=default_class,
    format_func=lambda index: f"{class_names[index]} ({index})", key=f"camlib_crowd_class::{crowd.digest}",
    persist_state="session",
)
crowd_row, crowd_results = class_row(crowd, crowd_class, "instances_row")
widgets.colour_scale(display)
widgets.figure_downloads(
    lambda: [crowd_row], title=f"{crowd.name} · {setting_text}", stem=f"instances_{resolution}", key="figure_instances", display=display,
)
st.info(instances.instances_note(crowd_results, resolution=resolution, instances=crowd.sample.instances if crowd.sample else None))

st.subheader("Pointing game on grids of four photos")
pointing = instances.pointing_table(settings.methods, backbone_key, layer)
if pointing is None:
    st.markdown(
        f"Not measured for {widgets.backbone_label(backbone_key)} at layer {layer}. Run "
        f"`camlib pointing-game IMAGES_DIR --backbone {backbone_key} --layer {layer} --half report`."
    )
else:
    st.markdown(
        "camlib's evaluation (docs/results.md): 2 × 2 grids of four ImageNet photos of different classes, each "
        "classified confidently on its own; for each cell's class, the share of the map's positive mass inside that "
        "cell and how often its maximum falls there. Chance is 0.25, which the centre blob scores."
    )
    st.dataframe(pointing.style.format("{:.3f}", subset=pointing.columns[:2]))
