"""The Faithfulness page's computation: :func:`camlib.evaluate.evaluate_images` (the loop ``camlib evaluate``
runs) on the app's images, and the tables and chart made from its rows.

The rows are those of ``camlib evaluate``'s CSV (:data:`camlib.evaluate.CSV_FIELDS`) and the summaries
its :class:`~camlib.evaluate.MethodSummary`, so the page and the command line cannot disagree.
"""

from __future__ import annotations

import csv
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from camlib.app.inputs import ImageInput
from camlib.app.map_requests import ordered_methods
from camlib.app.models import ModelChoice, shared_model
from camlib.app.settings import Params
from camlib.baselines import BASELINES
from camlib.errors import CamlibError
from camlib.evaluate import TABLE_ROWS, MethodSummary, blob_verdicts, evaluate_images, prepare_sources, summarize
from camlib.explain import display_name
from camlib.metrics import FIXED_AREAS
from camlib.resources import resource_path

logger = logging.getLogger(__name__)

PAPER_DIR = resource_path("paper")  # package data: the paper's Table 1 and the README that cites it
BASELINE_COLOR = "#adb5bd"
METHOD_COLOR = "#1c7ed6"


@dataclass(frozen=True)
class Metric:
    label: str  # the table's row label, with the direction
    field: str  # the MethodSummary field
    higher_is_better: bool | None
    guide: str  # one line: how to read it


# field -> (the metric's name, how to read it), in the table's order; each label gets its direction (↑ / ↓)
# from camlib evaluate's table, the one that also judges which methods beat the centre blob.
GUIDES: dict[str, tuple[str, str]] = {
    "average_drop": ("Average Drop (%)", "How much the class score falls on the image times the map (Grad-CAM++ paper). A map of all ones scores 0: read it with Complexity."),
    "average_increase": ("Average Increase (%)", "Share of images whose class score rises on the image times the map. Also rewards broad maps."),
    "insertion_auc": ("Insertion AUC", "Score while the most salient pixels are put back onto a blurred image (RISE): high if the map finds the evidence first."),
    "deletion_auc": ("Deletion AUC", "Score while the most salient pixels are removed (RISE): low if removing what the map shows kills the prediction."),
    "insertion_minus_deletion": ("Insertion − deletion", "Both curves in one number; a method should beat the centre blob here."),
    **{
        f"average_drop_{p}": (f"Average Drop, top {p} % kept (%)",
                              f"Average Drop when only the map's top {p} % of pixels are kept: every map gets the same area, so breadth cannot win.")
        for p in FIXED_AREAS
    },
    "complexity": ("Complexity", "Mean map value (Poppi et al. 2021): how much of the image the map lights up; 1 for the uniform map."),
    "coherency": ("Coherency", "Does the map stay the same when the input is reduced to what it shows? 1 for the baselines by construction; — when undefined."),
    "adcc": ("ADCC", "Harmonic mean of Coherency, 1 − Complexity and 1 − Average Drop (Poppi et al. 2021): one number that a broad map cannot game."),
    "sparseness": ("Sparseness (Gini)", "Gini index of the map (Chalasani et al. 2020, as in Quantus): 0 for a uniform map, near 1 when a few pixels hold the mass."),
}
_HIGHER_IS_BETTER = {row.field: row.higher_is_better for row in TABLE_ROWS}
METRICS: list[Metric] = [
    Metric(f"{name} {'↑' if _HIGHER_IS_BETTER[field] else '↓'}", field, _HIGHER_IS_BETTER[field], guide)
    for field, (name, guide) in GUIDES.items()
]
SECONDS = "Seconds per image"
AVERAGE_DROP, AVERAGE_INCREASE = METRICS[0].label, METRICS[1].label
CHART_DEFAULT = "ADCC ↑"


def insertion_steps_for(speed: str) -> int:
    """Insertion / deletion steps: 16 as ``camlib evaluate``; 4 under the app's quick test preset."""
    return 4 if speed == "test" else 16


def evaluated_keys(methods: Sequence[str], baselines: bool) -> list[str]:
    """The methods, cheapest first, then the baselines when asked for."""
    return ordered_methods(methods) + (list(BASELINES) if baselines else [])


def evaluate_faithfulness(
    images: Sequence[ImageInput],
    model_choice: ModelChoice,
    layer: str,
    methods: Sequence[str],
    params_for: Callable[[str], Params],
    *,
    baselines: bool = True,
    insertion_steps: int = 16,
    progress: Callable[[float, str], None] | None = None,
) -> list[dict]:
    """``camlib evaluate``'s rows for each image's top-1 class: every metric, for ``methods`` and
    (with ``baselines``) the three maps that know nothing of the model. A method that cannot run
    on this model gets rows with its reason as the error."""
    keys = evaluated_keys(methods, baselines)
    steps = max(1, len(images) * len(keys))
    done = {"maps": 0}

    def on_map(name: str, key: str) -> None:
        if progress is not None:
            progress(done["maps"] / steps, f"{name}: {display_name(key)} ({done['maps'] + 1} of {steps})")
        done["maps"] += 1

    rows: list[dict] = []
    model = shared_model(model_choice)
    with model.lock:
        sources = prepare_sources(
            model.backbone, keys, layer=layer, method_params={key: dict(params_for(key)) for key in methods}, strict=False
        )
        evaluate_images(
            model.backbone, [(image.name, image.image) for image in images], sources,
            metrics="all", insertion_steps=insertion_steps, on_rows=rows.extend, on_map=on_map,
        )  # fmt: skip
    if progress is not None:
        progress(1.0, f"Done: {len(images)} image(s), {len(keys)} map(s) each")
    return rows


def evaluate_safely(*args, **kwargs) -> tuple[list[dict], str | None]:
    """:func:`evaluate_faithfulness`, with a failure as a message instead of a traceback on the page."""
    try:
        return evaluate_faithfulness(*args, **kwargs), None
    except CamlibError as error:
        return [], str(error)
    except Exception as error:  # a method failing on an unusual model must not break the page
        logger.exception("The faithfulness evaluation failed")
        return [], f"The evaluation failed with {type(error).__name__}: {error}"


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
            f"[{i.low:.3g}, {i.high:.3g}]" if i is not None and math.isfinite(i.low) else "—" for i in intervals
        ]
    return pd.DataFrame(columns, index=[metric.label for metric in METRICS])


def not_beating_center(rows: Sequence[dict]) -> dict[str, list[str]]:
    """Display name -> labels of the metrics on which that method is not shown to beat the centre blob, each
    with the verdict of the paired 95 % interval (:func:`camlib.evaluate.blob_verdicts`): below it, or
    indistinguishable from it."""
    labels = {metric.field: metric.label for metric in METRICS}
    words = {"worse": "below it", "indistinguishable": "indistinguishable"}
    found = {
        display_name(key): [f"{labels[field]} ({words[side]})" for field, side in sides.items() if side in words]
        for key, sides in blob_verdicts(summarize(rows)).items()
    }
    return {name: failed for name, failed in found.items() if failed}


def per_image_table(rows: Sequence[dict], class_names: Sequence[str]) -> pd.DataFrame:
    def number(row: dict, column: str) -> float | None:
        return float(row[column]) if row.get(column) not in (None, "") else None

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


# -- the paper's Table 1 ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperTable:
    values: pd.DataFrame | None  # metrics as rows, camlib method keys as columns
    reference: str  # the citation, or why the table is absent


def paper_table_1(folder: Path = PAPER_DIR) -> PaperTable:
    """``table1.csv`` and the reference line of ``README.md`` from ``camlib/data/paper``, when present."""
    table_path, readme = folder / "table1.csv", folder / "README.md"
    if not table_path.is_file():
        return PaperTable(None, f"The paper's Table 1 is not on this machine (looked for {table_path}).")
    with open(table_path, newline="") as handle:
        records = list(csv.DictReader(handle))
    values = pd.DataFrame({row["metric"]: {k: float(v) for k, v in row.items() if k != "metric"} for row in records}).T
    reference = "The Grad++ScoreCAM paper (reference not found beside table1.csv)."
    if readme.is_file():
        match = re.search(r"Reference:\s*(.+?)(?:\n\s*\n|\n- )", readme.read_text(), flags=re.DOTALL)
        if match:
            reference = " ".join(match.group(1).split())
    return PaperTable(values, reference)


def paper_comparison(rows: Sequence[dict], paper: PaperTable) -> pd.DataFrame | None:
    """The paper's Average Drop / Increase beside camlib's on these images, per method of the paper."""
    if paper.values is None:
        return None
    summaries = summaries_by_key(rows)
    records = {}
    for key in paper.values.columns:
        ours = summaries.get(key)
        records[display_name(key)] = {
            "paper: Average Drop (%) ↓": paper.values.loc["average_drop_percent", key],
            "camlib: Average Drop (%) ↓": ours.average_drop if ours else math.nan,
            "paper: Average Increase (%) ↑": paper.values.loc["average_increase_percent", key],
            "camlib: Average Increase (%) ↑": ours.average_increase if ours else math.nan,
        }
    return pd.DataFrame(records).T


def what_differs(backbone_name: str, layer: str, image_count: int) -> str:
    return (
        f"What differs: the paper uses VGG16 on 1,000 random ILSVRC2012 validation images and does not name its layer "
        f"or its target rule; here it is {backbone_name} at `{layer}` on {image_count} image(s), explaining the top-1 "
        "class, with softmax scores. Read the two side by side, not as a reproduction."
    )


# -- what the Faithfulness page decides ----------------------------------------------------------------

KEPT_EVALUATIONS = 8  # the latest evaluations a session keeps
SET_SIGNATURE_KEY = "camlib_set_signature"  # session state: the set last asked for with the button


def evaluation_signature(label: str, images: Sequence[ImageInput], backbone_key: str, weights_path: str | None, layer: str,
                         keys: Sequence[str], methods: Sequence[str], params_for: Callable[[str], Params], steps: int) -> tuple:
    """Everything that decides one evaluation's rows: the key of the session's cache of them."""
    return (label, tuple(item.digest for item in images), backbone_key, weights_path, layer,
            tuple(keys), tuple(params_for(key) for key in methods), steps)


def remembered(cache: dict, signature, compute: Callable[[], object], *, keep: int = KEPT_EVALUATIONS):
    """``cache[signature]``, computed first when absent; the oldest entries go beyond the latest ``keep``."""
    if signature not in cache:
        cache[signature] = compute()
        while len(cache) > keep:
            cache.pop(next(iter(cache)))
    return cache[signature]


def set_signature(images: Sequence[ImageInput], backbone_key: str, layer: str, keys: Sequence[str], speed: str,
                  overrides: dict) -> tuple:
    """What the set's "Evaluate" button was pressed for: when any of it changes, the set waits for the button again."""
    return tuple(item.digest for item in images), backbone_key, layer, tuple(keys), speed, repr(overrides)


def set_requested(state, signature: tuple, clicked: bool) -> bool:
    """Whether to show the set's evaluation: the button was pressed for this very set (now or before, in ``state``)."""
    if clicked:
        state[SET_SIGNATURE_KEY] = signature
    return state.get(SET_SIGNATURE_KEY) == signature


def evaluate_label(images: Sequence[ImageInput], keys: Sequence[str]) -> str:
    return f"Evaluate {len(images)} image(s) × {len(keys)} map(s)"


def set_line(images: Sequence[ImageInput]) -> str:
    return f"{len(images)} image(s): " + ", ".join(item.name for item in images)


def failures_text(failures: dict[str, list[str]]) -> str | None:
    """The warning for the methods not shown to beat the centre blob (from :func:`not_beating_center`)."""
    if not failures:
        return None
    return "Not shown to beat the centre blob (no model), by the 95 % interval of the paired difference over these images:\n" + "\n".join(f"- **{name}** on {', '.join(failed)}" for name, failed in failures.items())


def metrics_guide() -> str:
    """How to read each metric, one list item each."""
    return "\n".join(f"- **{metric.label}**: {metric.guide}" for metric in METRICS)


def chart_choices() -> tuple[list[str], int]:
    """The metrics the chart can show, and the index of the one it opens on (:data:`CHART_DEFAULT`)."""
    labels = [metric.label for metric in METRICS]
    return labels, labels.index(CHART_DEFAULT)


def table_height(table: pd.DataFrame) -> int:
    """Pixels for a table to show every row without scrolling (36 a row, the header included)."""
    return 36 * (len(table) + 1) + 2
