"""The Faithfulness page's tables and chart, made from ``camlib evaluate``'s rows through its
:class:`~camlib.evaluate.MethodSummary`: the means, their intervals, the rows per image, one metric's bars, and
what the paired intervals say against the centre blob.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from camlib.app.faithfulness_metrics import METRICS, SECONDS, Metric
from camlib.baselines import BASELINES
from camlib.evaluate import MethodSummary, blob_verdicts, summarize
from camlib.explain import display_name
from camlib.intervals import INDISTINGUISHABLE, better_or_worse
from camlib.verdicts import against_center, difference

MISSING = "—"
MISSING_NOTE = ("— : not measured: a map that could not be computed on this model (its reason is in the per-image "
                "table's note column), or a metric undefined for that map (e.g. Coherency where it has no defined value).")
BASELINE_COLOR = "#adb5bd"
METHOD_COLOR = "#1c7ed6"


def summaries_by_key(rows: Sequence[dict]) -> dict[str, MethodSummary]:
    return {summary.method: summary for summary in summarize(rows)}


def table_1(rows: Sequence[dict], keys: Sequence[str]) -> pd.DataFrame:
    """Metrics as rows (with their direction), methods then baselines as columns; NaN where a map
    could not be scored (a method that cannot run on this model, an undefined Coherency)."""
    summaries = summaries_by_key(rows)
    columns = {}
    for key in keys:
        summary = summaries.get(key)
        values = [getattr(summary, metric.field) if summary else math.nan for metric in METRICS]
        columns[display_name(key)] = [*values, summary.seconds_per_image if summary else math.nan]
    return pd.DataFrame(columns, index=[metric.label for metric in METRICS] + [SECONDS])


def intervals_table(rows: Sequence[dict], keys: Sequence[str]) -> pd.DataFrame:
    """Beside :func:`table_1`, each mean's 95 % interval over the images (``[low, high]``; — where undefined),
    from :mod:`camlib.intervals`: with a handful of images the intervals are wide, and say so."""
    summaries = summaries_by_key(rows)
    columns = {}
    for key in keys:
        summary = summaries.get(key)
        intervals = [summary.interval(metric.field) if summary else None for metric in METRICS]
        columns[display_name(key)] = [
            f"[{i.low:.3g}, {i.high:.3g}]" if i is not None and math.isfinite(i.low) else MISSING for i in intervals
        ]
    return pd.DataFrame(columns, index=[metric.label for metric in METRICS])


def not_beating_center(rows: Sequence[dict], metrics: Sequence[Metric] | None = None) -> dict[str, list[str]]:
    """Display name -> labels of the metrics on which that method is not shown to beat the centre blob, each
    with the verdict of the paired 95 % interval: below it, or indistinguishable from it. ``metrics``: those
    checked (default: camlib evaluate's, :func:`camlib.evaluate.blob_verdicts`); one without a direction is skipped."""
    labels = {metric.field: metric.label for metric in METRICS}
    words = {"worse": "below it", INDISTINGUISHABLE: "indistinguishable"}
    summaries = summarize(rows)
    if metrics is None:
        verdicts = blob_verdicts(summaries)
    else:
        directions = {metric.field: metric.higher_is_better for metric in metrics if metric.higher_is_better is not None}
        verdicts = against_center(summaries, directions, list(directions))
    found = {
        display_name(key): [f"{labels[field]} ({words[side]})" for field, side in sides.items() if side in words]
        for key, sides in verdicts.items()
    }
    return {name: failed for name, failed in found.items() if failed}


def baseline_lead_text(rows: Sequence[dict], metric: Metric) -> str | None:
    """When a map that knows nothing of the model has the best mean on ``metric``, what the paired interval against
    the best method says about it, in plain words; ``None`` when a method leads or the metric has no direction."""
    if metric.higher_is_better is None:
        return None
    scored = [s for s in summarize(rows) if math.isfinite(getattr(s, metric.field))]
    ranked = sorted(scored, key=lambda s: getattr(s, metric.field), reverse=metric.higher_is_better)
    methods = [s for s in ranked if s.kind != "baseline"]
    if not ranked or not methods or ranked[0].kind != "baseline":
        return None
    baseline, method = ranked[0], methods[0]
    gap = difference(baseline, method, metric.field)
    count = f"{gap.n} photo{'s' if gap.n != 1 else ''}"
    lead = (f"On {count}, {display_name(baseline.method)}, a map that knows nothing of the model, has the best mean "
            f"{metric.label} ({getattr(baseline, metric.field):.3g}), ahead of the best method, {display_name(method.method)} "
            f"({getattr(method, metric.field):.3g})")
    if better_or_worse(gap, metric.higher_is_better) == "better":
        return (f"{lead}; the paired interval excludes a tie (difference {gap.text(signed=True)}, 95 %): on these photos "
                "this metric rewards something other than what the model looks at.")
    return (f"{lead}, but the intervals cannot separate the two (difference {gap.text(signed=True)}, paired, 95 %): "
            "too few photos to rank them on this metric.")


def per_image_table(rows: Sequence[dict], class_names: Sequence[str]) -> pd.DataFrame:
    """One row per image and map; NaN (shown as :data:`MISSING`) where a value was not measured."""
    def number(row: dict, column: str) -> float:
        return float(row[column]) if row.get(column) not in (None, "") else math.nan

    return pd.DataFrame(
        [
            {
                "image": row["file"],
                "map": display_name(row["method"]),
                "kind": row["kind"],
                "class": f"{class_names[int(row['target'])]} ({row['target']})",
                "Y (score on image)": number(row, "base_score"),
                "O (score on image × map)": number(row, "masked_score"),
                "O, top 25 % kept": number(row, "masked_score_25"),
                "insertion": number(row, "insertion_auc"),
                "deletion": number(row, "deletion_auc"),
                "complexity": number(row, "complexity"),
                "coherency": number(row, "coherency"),
                "ADCC": number(row, "adcc"),
                "seconds": number(row, "seconds"),
                "note": row.get("error") or "",
            }
            for row in rows
        ]
    )


def metric_figure(table: pd.DataFrame, label: str, keys: Sequence[str]) -> go.Figure:
    """One metric per bar: methods in blue, baselines grey and hatched, the centre blob as a dashed line."""
    names = [display_name(key) for key in keys]
    values = [table.loc[label, name] for name in names]
    is_baseline = [key in BASELINES for key in keys]
    figure = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker={"color": [BASELINE_COLOR if b else METHOD_COLOR for b in is_baseline],
                    "pattern": {"shape": ["/" if b else "" for b in is_baseline]}},
            text=["—" if not np.isfinite(v) else f"{v:.3g}" for v in values],
            textposition="auto",
            hovertemplate="%{x}: %{y:.4g}<extra></extra>",
        )
    )
    center = display_name("center")
    if center in table.columns and np.isfinite(table.loc[label, center]):
        figure.add_hline(y=table.loc[label, center], line_dash="dash", line_color="#495057",
                         annotation_text="centre blob (no model)", annotation_position="top left")
    figure.update_layout(yaxis={"title": label}, margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=360, showlegend=False)
    return figure


def failures_text(failures: dict[str, list[str]]) -> str | None:
    """The warning for the methods not shown to beat the centre blob (from :func:`not_beating_center`, called with
    the metrics the chart under it shows)."""
    if not failures:
        return None
    return "Not shown to beat the centre blob (no model), by the 95 % interval of the paired difference over these images:\n" + "\n".join(f"- **{name}** on {', '.join(failed)}" for name, failed in failures.items())


def table_height(table: pd.DataFrame) -> int:
    """Pixels for a table to show every row without scrolling (36 a row, the header included)."""
    return 36 * (len(table) + 1) + 2
