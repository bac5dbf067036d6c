"""Multiple objects: several classes in one photo, and one class with several instances (the paper's Fig. 5)."""

import streamlit as st

from camlib.app import inputs, instances, models, widgets

widgets.page_setup("Multiple objects")

chosen = widgets.sidebar_image_and_model()
image, backbone_key, weights_path, class_names = chosen.image, chosen.backbone_key, chosen.weights_path, chosen.class_names
layer = chosen.model.backbone.spec.default_layer
settings = widgets.sidebar_method_settings()
display = widgets.sidebar_display()
widgets.sidebar_device()


def class_row(photo, target_class, key):
    return widgets.overlay_grid(
        photo, chosen.model.backbone.display_image(photo.image), f"{class_names[target_class]} ({target_class})",
        backbone_key=backbone_key, weights_path=weights_path, layer=layer, target_class=target_class,
        settings=settings, display=display, key=key,
    )


st.header("Several classes in one image")
samples = {sample.label: sample for sample in inputs.available_samples()}
dog_and_cat = samples.get("Dog and cat (shared)")
if dog_and_cat is not None and image.sample != dog_and_cat:
    st.button("Use the dog-and-cat photo", on_click=widgets.use_sample, args=(dog_and_cat.label,))

top = models.top_predictions(image.digest, backbone_key, weights_path, image.image)
mode = st.radio("Classes", ["choose", "top-k"], format_func={"choose": "Choose classes", "top-k": "Top-k predictions"}.get,
                horizontal=True, key="camlib_multi_mode")
if mode == "top-k":
    k = st.slider("k", 2, 5, 2, key="camlib_multi_k")
    classes = [index for index, _, _ in top[:k]]
else:
    suggested = list(image.sample.classes) if image.sample and len(image.sample.classes) >= 2 else [i for i, _, _ in top[:2]]
    classes = st.multiselect(
        "Classes (type to search all 1000)", range(len(class_names)), default=suggested,
        format_func=lambda index: f"{class_names[index]} ({index})", key=f"camlib_multi_classes::{image.digest}",
    )
if len(classes) < 2:
    st.info("Pick two or more classes to compare.")
for target_class in classes:
    class_row(image, target_class, f"class_row_{target_class}")

st.header("One class, several instances")
crowds = {label: sample for label, sample in samples.items() if sample.instances}
choice = st.selectbox(
    "Photo", ["current", *crowds], index=1 if crowds else 0,
    format_func=lambda label: f"The current image ({image.name})" if label == "current" else label,
    key="camlib_crowd",
)
if not crowds:
    st.caption("Upload a photo with several objects of one class to see how each method spreads over them.")
crowd = image if choice == "current" else inputs.sample_input(crowds[choice])
crowd_top = models.top_predictions(crowd.digest, backbone_key, weights_path, crowd.image)
default_class = crowd.sample.classes[0] if crowd.sample and crowd.sample.classes else crowd_top[0][0]
crowd_class = st.selectbox(
    "Class", range(len(class_names)), index=default_class,
    format_func=lambda index: f"{class_names[index]} ({index})", key=f"camlib_crowd_class::{crowd.digest}",
)
count = st.number_input(
    "Instances in the photo", 1, 50, crowd.sample.instances if crowd.sample and crowd.sample.instances else 2,
    key=f"camlib_crowd_instances::{crowd.digest}",
)
results = class_row(crowd, crowd_class, "instances_row")
st.info(instances.instances_note(results, int(count)))
