"""Multiple objects: several classes in one photo, and one class with several instances (the paper's Fig. 5)."""

import streamlit as st

from camlib import app_backend as ui

ui.page_setup("Multiple objects")

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
layer = model.backbone.spec.default_layer
class_names = model.backbone.class_names
st.sidebar.header("Methods")
methods = ui.sidebar_methods()
speed, overrides = ui.sidebar_speed()
st.sidebar.header("Display")
opacity, colormap = ui.sidebar_display()
ui.sidebar_device()
display_image = model.backbone.display_image(image.image)

st.header("Several classes in one image")
samples = {sample.label: sample for sample in ui.available_samples()}
dog_and_cat = samples.get("Dog and cat (shared)")
if dog_and_cat is not None and image.sample != dog_and_cat:
    st.button("Use the dog-and-cat photo", on_click=ui.use_sample, args=(dog_and_cat.label,))

top = ui.top_predictions(image.digest, backbone_key, weights_path, image.image)
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
    cells = ui.grid_cells(len(methods) + 1, columns=len(methods) + 1, key=f"class_row_{target_class}")
    cells[0].image(display_image, caption=f"{class_names[target_class]} ({target_class})", width="stretch")
    ui.fill_method_cells(
        dict(zip(methods, cells[1:])), image, backbone_key, weights_path, layer, target_class, display_image,
        speed=speed, overrides=overrides, opacity=opacity, colormap=colormap,
    )

st.header("One class, several instances")
crowds = {label: sample for label, sample in samples.items() if sample.instances}
options = ["current"] + list(crowds)
choice = st.selectbox(
    "Photo", options, index=1 if crowds else 0,
    format_func=lambda label: f"The current image ({image.name})" if label == "current" else label,
    key="camlib_crowd",
)
if not crowds:
    st.caption("Upload a photo with several objects of one class to see how each method spreads over them.")
crowd = image if choice == "current" else ui.sample_input(crowds[choice])
crowd_top = ui.top_predictions(crowd.digest, backbone_key, weights_path, crowd.image)
default_class = crowd.sample.classes[0] if crowd.sample and crowd.sample.classes else crowd_top[0][0]
crowd_class = st.selectbox(
    "Class", range(len(class_names)), index=default_class,
    format_func=lambda index: f"{class_names[index]} ({index})", key=f"camlib_crowd_class::{crowd.digest}",
)
instances = st.number_input(
    "Instances in the photo", 1, 50, crowd.sample.instances if crowd.sample and crowd.sample.instances else 2,
    key=f"camlib_crowd_instances::{crowd.digest}",
)
crowd_display = model.backbone.display_image(crowd.image)
cells = ui.grid_cells(len(methods) + 1, columns=len(methods) + 1, key="instances_row")
cells[0].image(crowd_display, caption=f"{class_names[crowd_class]} ({crowd_class})", width="stretch")
results = ui.fill_method_cells(
    dict(zip(methods, cells[1:])), crowd, backbone_key, weights_path, layer, crowd_class, crowd_display,
    speed=speed, overrides=overrides, opacity=opacity, colormap=colormap,
)
st.info(ui.instances_note(results, int(instances)))
