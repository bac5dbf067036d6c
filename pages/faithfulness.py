"""Faithfulness: Average Drop and Average Increase per method, in the form of the paper's Table 1."""

import streamlit as st

from camlib.app import faithfulness, inputs, models, widgets

widgets.page_setup("Faithfulness")
st.markdown(
    "For each image, the class is the model's top-1. **Y** is its softmax score on the image and **O** its "
    "score on the image multiplied by the method's map (on the normalised input, as in the Grad-CAM++ paper). "
    "**Average Drop** = 100/N · Σ max(0, Y − O)/Y (lower is better); **Average Increase** = 100/N · Σ [O > Y] "
    "(higher is better). Computed with `camlib.metrics`."
)

chosen = widgets.sidebar_image_and_model()
layer = st.sidebar.selectbox("Target layer", models.layer_options(chosen.model), key=f"camlib_layer::{chosen.backbone_key}")
settings = widgets.sidebar_method_settings()
widgets.sidebar_device()


def evaluate_and_show(images, label):
    bar = st.progress(0.0, text="Starting…")
    rows = faithfulness.evaluate_faithfulness(
        images, chosen.backbone_key, chosen.weights_path, layer, settings.methods, settings.params,
        progress=lambda fraction, text: bar.progress(fraction, text=text),
    )
    table = faithfulness.table_1(rows, settings.methods)
    st.dataframe(table.style.format("{:.1f}", na_rep="n/a"), width="stretch")
    st.plotly_chart(faithfulness.faithfulness_figure(table), key=f"faithfulness_{label}")
    with st.expander("Per image"):
        st.dataframe(faithfulness.per_image_table(rows, chosen.class_names), width="stretch", hide_index=True)


st.header(f"Current image: {chosen.image.name}")
st.caption("With one image, Average Increase is 0 or 100 %: use the set below for averages that mean something.")
evaluate_and_show([chosen.image], "current")

st.header("A small set")
uploads = widgets.image_uploader("Upload images for the set (PNG, JPEG, WebP, BMP)", key="camlib_set_uploads", accept_multiple_files=True)
images, problems = inputs.read_uploaded_images((uploaded.name, uploaded.getvalue()) for uploaded in uploads or [])
for problem in problems:
    st.error(problem)
if not images:
    st.caption("No images uploaded: the set is the built-in samples.")
    images = [inputs.sample_input(sample) for sample in inputs.available_samples()]
st.write(f"{len(images)} image(s): " + ", ".join(item.name for item in images))
signature = (tuple(item.digest for item in images), chosen.backbone_key, layer, tuple(settings.methods), settings.speed, repr(settings.overrides))
if st.button(f"Evaluate {len(images)} image(s) × {len(settings.methods)} method(s)", key="camlib_evaluate_set", type="primary"):
    st.session_state["camlib_set_signature"] = signature
if st.session_state.get("camlib_set_signature") == signature:
    evaluate_and_show(images, "set")
