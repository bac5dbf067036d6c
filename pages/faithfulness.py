"""Faithfulness: camlib evaluate's metrics per method, beside maps that know nothing of the model."""

import streamlit as st

from camlib.app import faithfulness, widgets

widgets.page_setup("Faithfulness")
st.markdown(
    "For each image, the class is the model's top-1. **Y** is its softmax score on the image and **O** its "
    "score on the image multiplied by the map (on the normalised input, as in the Grad-CAM++ paper). "
    "Beside the methods stand three **baselines** that know nothing of the model (grey, hatched): a centred "
    "Gaussian blob, a uniform map and smoothed noise. A method not shown to beat the centre blob (by the 95 % "
    "interval of the paired difference over the images) explains nothing measurable by that metric. Computed by `camlib.evaluate`, the loop of `camlib evaluate`."
)

chosen = widgets.sidebar_image_and_model()
layer = widgets.sidebar_layer(chosen)
settings = widgets.sidebar_method_settings()
with_baselines = st.sidebar.checkbox("Baselines (no model)", value=True, key="camlib_faithfulness_baselines", persist_state="session")
widgets.sidebar_device()
widgets.methods_or_stop(settings.methods)
keys = faithfulness.evaluated_keys(settings.methods, with_baselines)
evaluated = {"chosen": chosen, "layer": layer, "settings": settings, "baselines": with_baselines}

with st.expander("How to read each metric"):
    st.markdown(faithfulness.metrics_guide())

st.header(f"Current image: {chosen.image.name}")
st.caption("With one image, Average Increase is 0 or 100 %: use the set below for averages that mean something.")
widgets.faithfulness_results([chosen.image], "current", **evaluated)

st.header("A small set")
images = widgets.image_set("Upload images for the set", key="camlib_set_uploads")
st.write(faithfulness.set_line(images))
signature = faithfulness.set_signature(images, chosen.choice, layer, keys, settings.speed, settings.overrides)
clicked = st.button(faithfulness.evaluate_label(images, keys), key="camlib_evaluate_set", type="primary")
if faithfulness.set_requested(st.session_state, signature, clicked):
    widgets.faithfulness_results(images, "set", **evaluated)
