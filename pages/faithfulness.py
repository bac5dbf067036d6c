"""Faithfulness: Average Drop and Average Increase per method, in the form of the paper's Table 1."""

import streamlit as st

from camlib import app_backend as ui

ui.page_setup("Faithfulness")
st.markdown(
    "For each image, the class is the model's top-1. **Y** is its softmax score on the image and **O** its "
    "score on the image multiplied by the method's map (on the normalised input, as in the Grad-CAM++ paper). "
    "**Average Drop** = 100/N · Σ max(0, Y − O)/Y (lower is better); **Average Increase** = 100/N · Σ [O > Y] "
    "(higher is better). Computed with `camlib.metrics`."
)

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
layer = st.sidebar.selectbox("Target layer", ui.layer_options(model), key=f"camlib_layer::{backbone_key}")
class_names = model.backbone.class_names
st.sidebar.header("Methods")
methods = ui.sidebar_methods()
speed, overrides = ui.sidebar_speed()
ui.sidebar_device()


def params_for(method_key):
    return ui.method_params(method_key, speed, overrides)


def show(rows, label):
    table = ui.table_1(rows, methods)
    st.dataframe(table.style.format("{:.1f}", na_rep="n/a"), width="stretch")
    st.plotly_chart(ui.faithfulness_figure(table), key=f"faithfulness_{label}")
    with st.expander("Per image"):
        st.dataframe(ui.per_image_table(rows, class_names), width="stretch", hide_index=True)


st.header(f"Current image: {image.name}")
st.caption("With one image, Average Increase is 0 or 100 %: use the set below for averages that mean something.")
bar = st.progress(0.0, text="Starting…")
rows = ui.evaluate_faithfulness([image], backbone_key, weights_path, layer, methods, params_for,
                                progress=lambda fraction, text: bar.progress(fraction, text=text))
show(rows, "current")

st.header("A small set")
uploads = st.file_uploader(
    "Upload images for the set (PNG, JPEG, WebP, BMP)", type=ui.IMAGE_TYPES, accept_multiple_files=True,
    key="camlib_set_uploads", max_upload_size=ui.IMAGE_UPLOAD_LIMIT_MB, help=f"Upload limit: {ui.upload_limit_text()}.",
)
images, problems = [], []
for uploaded in uploads or []:
    loaded, error = ui.read_uploaded_image(uploaded.getvalue(), uploaded.name)
    if error:
        problems.append(error)
    else:
        images.append(loaded)
for problem in problems:
    st.error(problem)
if not images:
    st.caption("No images uploaded: the set is the built-in samples.")
    images = [ui.sample_input(sample) for sample in ui.available_samples()]
st.write(f"{len(images)} image(s): " + ", ".join(item.name for item in images))
if st.button(f"Evaluate {len(images)} image(s) × {len(methods)} method(s)", key="camlib_evaluate_set", type="primary"):
    st.session_state["camlib_set_signature"] = (tuple(item.digest for item in images), backbone_key, layer, tuple(methods), speed, repr(overrides))
if st.session_state.get("camlib_set_signature") == (tuple(item.digest for item in images), backbone_key, layer, tuple(methods), speed, repr(overrides)):
    set_bar = st.progress(0.0, text="Starting…")
    set_rows = ui.evaluate_faithfulness(images, backbone_key, weights_path, layer, methods, params_for,
                                        progress=lambda fraction, text: set_bar.progress(fraction, text=text))
    show(set_rows, "set")
