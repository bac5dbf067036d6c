"""Faithfulness: camlib evaluate's metrics per method, beside maps that know nothing of the model."""

import streamlit as st

from camlib.app import faithfulness, inputs, models, widgets

widgets.page_setup("Faithfulness")
st.markdown(
    "For each image, the class is the model's top-1. **Y** is its softmax score on the image and **O** its "
    "score on the image multiplied by the map (on the normalised input, as in the Grad-CAM++ paper). "
    "Beside the methods stand three **baselines** that know nothing of the model (grey, hatched): a centred "
    "Gaussian blob, a uniform map and smoothed noise. A method that does not beat the centre blob does not "
    "explain anything by that metric. Computed by `camlib.evaluate`, the loop of `camlib evaluate`."
)

chosen = widgets.sidebar_image_and_model()
layer = st.sidebar.selectbox("Target layer", models.layer_options(chosen.model), key=f"camlib_layer::{chosen.backbone_key}")
settings = widgets.sidebar_method_settings()
with_baselines = st.sidebar.checkbox("Baselines (no model)", value=True, key="camlib_faithfulness_baselines")
widgets.sidebar_device()
keys = faithfulness.evaluated_keys(settings.methods, with_baselines)
steps = faithfulness.insertion_steps_for(settings.speed)


def evaluate_and_show(images, label):
    signature = (label, tuple(item.digest for item in images), chosen.backbone_key, chosen.weights_path, layer,
                 tuple(keys), tuple(settings.params(key) for key in settings.methods), steps)
    cache = st.session_state.setdefault("camlib_faithfulness_results", {})
    if signature not in cache:
        bar = st.progress(0.0, text="Starting…")
        cache[signature] = faithfulness.evaluate_safely(
            images, chosen.backbone_key, chosen.weights_path, layer, settings.methods, settings.params,
            baselines=with_baselines, insertion_steps=steps, progress=lambda fraction, text: bar.progress(fraction, text=text),
        )
        bar.empty()
        while len(cache) > 8:  # keep the latest evaluations of this session
            cache.pop(next(iter(cache)))
    rows, problem = cache[signature]
    if problem:
        st.error(problem)
        return
    table = faithfulness.table_1(rows, keys)
    st.dataframe(table.style.format("{:.3g}", na_rep="—"), width="stretch", height=36 * (len(table) + 1) + 2)
    failures = faithfulness.not_beating_center(rows)
    if failures:
        st.warning("Not better than the centre blob (no model):\n" + "\n".join(f"- **{name}** on {', '.join(failed)}" for name, failed in failures.items()))
    metric = st.selectbox("Chart", [m.label for m in faithfulness.METRICS], key=f"camlib_faithfulness_chart_{label}",
                          index=[m.label for m in faithfulness.METRICS].index(faithfulness.CHART_DEFAULT))
    st.plotly_chart(faithfulness.metric_figure(table, metric, keys), key=f"faithfulness_{label}")
    with st.expander("Per image"):
        st.dataframe(faithfulness.per_image_table(rows, chosen.class_names), width="stretch", hide_index=True)
    with st.expander("The paper's Table 1 beside these numbers"):
        paper = faithfulness.paper_table_1()
        comparison = faithfulness.paper_comparison(rows, paper)
        if comparison is None:
            st.info(paper.reference)
        else:
            st.dataframe(comparison.style.format("{:.1f}", na_rep="—"), width="stretch")
            st.caption(f"Paper: {paper.reference}")
            st.caption(faithfulness.what_differs(chosen.model.backbone.spec.display_name, layer, len(images)))


with st.expander("How to read each metric"):
    st.markdown("\n".join(f"- **{metric.label}**: {metric.guide}" for metric in faithfulness.METRICS))

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
signature = (tuple(item.digest for item in images), chosen.backbone_key, layer, tuple(keys), settings.speed, repr(settings.overrides))
if st.button(f"Evaluate {len(images)} image(s) × {len(keys)} map(s)", key="camlib_evaluate_set", type="primary"):
    st.session_state["camlib_set_signature"] = signature
if st.session_state.get("camlib_set_signature") == signature:
    evaluate_and_show(images, "set")
