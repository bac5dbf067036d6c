"""The tables and charts of measured numbers: the faithfulness metrics, the pointing game, Table 1 beside the paper's."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from camlib.app import faithfulness, instances, teaching
from camlib.app.inputs import ImageInput
from camlib.app.models import is_imagenet
from camlib.app.settings import MethodSettings
from camlib.app.widgets.model import ImageAndModel

RESULTS_KEY = "camlib_faithfulness_results"  # session state: signature -> (rows, problem), the latest evaluations


def faithfulness_results(images: Sequence[ImageInput], label: str, *, chosen: ImageAndModel, layer: str,
                         settings: MethodSettings, baselines: bool) -> None:
    """Evaluate ``images`` (once per setting in a session) and show the metrics, the chart, the rows and the paper's numbers."""
    keys = faithfulness.evaluated_keys(settings.methods, baselines)
    steps = faithfulness.insertion_steps_for(settings.speed)
    signature = faithfulness.evaluation_signature(label, images, chosen.choice, chosen.choice.weights, layer, keys,
                                                  settings.methods, settings.params, steps)

    def evaluate():
        bar = st.progress(0.0, text="Starting…")
        outcome = faithfulness.evaluate_safely(
            images, chosen.choice, layer, settings.methods, settings.params,
            baselines=baselines, insertion_steps=steps, progress=lambda fraction, text: bar.progress(fraction, text=text),
        )
        bar.empty()
        return outcome

    rows, problem = faithfulness.remembered(st.session_state.setdefault(RESULTS_KEY, {}), signature, evaluate)
    if problem:
        st.error(problem)
        return
    _metrics_table_and_chart(rows, keys, label)
    with st.expander("Per image"):
        _per_image(rows, chosen.class_names)
    with st.expander("The paper's Table 1 beside these numbers"):
        _paper_comparison(rows, chosen, layer, len(images))


def _metrics_table_and_chart(rows: list[dict], keys: list[str], label: str) -> None:
    table = faithfulness.table_1(rows, keys)
    st.dataframe(table.style.format("{:.3g}", na_rep=faithfulness.MISSING), width="stretch",
                 height=faithfulness.table_height(table))
    if table.isna().to_numpy().any():
        st.caption(faithfulness.MISSING_NOTE)
    with st.expander("95 % intervals of these means (bootstrap over the images)"):
        intervals = faithfulness.intervals_table(rows, keys)
        st.dataframe(intervals, width="stretch")
        if (intervals == faithfulness.MISSING).to_numpy().any():
            st.caption(faithfulness.MISSING_NOTE)
    labels, default = faithfulness.chart_choices()
    chosen = st.selectbox("Chart", labels, key=f"camlib_faithfulness_chart_{label}", index=default, persist_state="session")
    metric = faithfulness.metric_by_label(chosen)
    failures = faithfulness.failures_text(faithfulness.not_beating_center(rows, [metric]))
    if failures:
        st.warning(failures)
    lead = faithfulness.baseline_lead_text(rows, metric)
    if lead:
        st.info(lead, icon=":material/info:")
    st.plotly_chart(faithfulness.metric_figure(table, chosen, keys), key=f"faithfulness_{label}")


def _per_image(rows: list[dict], class_names) -> None:
    table = faithfulness.per_image_table(rows, class_names)
    numbers = list(table.select_dtypes("number").columns)
    st.dataframe(table.style.format("{:.4g}", subset=numbers, na_rep=faithfulness.MISSING), width="stretch", hide_index=True)
    if table[numbers].isna().to_numpy().any():
        st.caption(faithfulness.MISSING_NOTE)


def _paper_comparison(rows: list[dict], chosen: ImageAndModel, layer: str, image_count: int) -> None:
    if not is_imagenet(chosen.class_names):
        st.info(f"The paper's Table 1 was measured on ImageNet classifiers; {chosen.label} has its own "
                f"{len(chosen.class_names)} classes, so its numbers are not set beside the paper's.")
        return
    paper = faithfulness.paper_table_1()
    comparison = faithfulness.paper_comparison(rows, paper)
    if comparison is None:
        st.info(paper.reference)
        return
    st.dataframe(comparison.style.format("{:.1f}", na_rep="—"), width="stretch")
    st.caption(f"Paper: {paper.reference}")
    st.caption(faithfulness.what_differs(chosen.model.backbone.spec.display_name, layer, image_count))


def pointing_game(methods: Sequence[str], backbone_key: str, layer: str) -> None:
    """camlib's grid pointing game for ``methods`` beside the centre blob, or the command that measures it."""
    pointing = instances.pointing_table(methods, backbone_key, layer)
    if pointing is None:
        st.markdown(instances.pointing_missing_text(backbone_key, layer))
        return
    st.markdown(
        "camlib's evaluation (docs/results.md): 2 × 2 grids of four ImageNet photos of different classes, each "
        "classified confidently on its own; for each cell's class, the share of the map's positive mass inside that "
        "cell and how often its maximum falls there. Chance is 0.25, which the centre blob scores."
    )
    st.dataframe(pointing.style.format("{:.3f}", subset=list(pointing.select_dtypes("float").columns)))


def table_1_columns() -> None:
    """The paper's Table 1 beside camlib's own measurement, each when it is on this machine."""
    paper, ours = st.columns(2)
    paper.markdown("**In the paper** (Table 1)")
    paper_table = teaching.paper_table_1()
    if paper_table is not None:
        paper.dataframe(paper_table.T.style.format("{:.1f}"), width="stretch")
        paper.caption(f"{teaching.PAPER_SETTING} Source: {teaching.PAPER_REFERENCE}")
    else:
        paper.info("The paper's Table 1 did not ship with this installation of camlib (camlib/data/paper/table1.csv); see the paper below.")
    ours.markdown("**With camlib** (docs/results.md)")
    camlib_table = teaching.camlib_table_1()
    if camlib_table is not None:
        ours.dataframe(camlib_table.T.style.format("{:.1f}"), width="stretch")
        ours.caption(teaching.CAMLIB_SETTING)
