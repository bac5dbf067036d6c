"""What camlib's own evaluation found about each method: the one source that the app's method cells and
docs/results.md read, computed from the per-image rows in ``docs/results/`` (never typed in twice).

The rows are the **report half** of ``../shared/imagenet-sample`` (odd 0-based indices of the name-sorted
files; the defaults were chosen on the other half), scored by ``camlib evaluate --sanity`` (see
docs/results.md for the commands). A method gets a caveat where, at that backbone and layer, it fails the
model randomisation check or does not beat the centred blob (a map that knows nothing of the model) on
insertion − deletion or an Average Drop at a fixed area. Where no rows were measured, nothing is claimed.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from camlib.evaluate import TABLE_ROWS, MethodSummary, fails_against_center, read_rows, summarize

RESULTS_DIR = Path(__file__).resolve().parents[1] / "docs" / "results"
REPORT_FILES: dict[tuple[str, str], str] = {
    ("efficientnet_lite0", "bn2"): "report_lite0_bn2.csv",
    ("efficientnet_lite0", "conv_head"): "report_lite0_conv_head.csv",
}
"""(backbone, layer) -> the report-half rows of every method and baseline there, in :data:`RESULTS_DIR`."""

WHY: dict[str, str] = {
    "gradcampp": "its channel weights keep only positive gradients, so with a destroyed classifier the map still "
    "follows the strongest activations",
    "smoothgradcampp": "it averages Grad-CAM++'s gradients; at a layer right before the pooling the gradient does "
    "not depend on the input, so it equals Grad-CAM++ there",
    "scorecam": "its softmax weights are all positive, so the map stays close to the channels' mean activation "
    "whatever the model's class scores",
    "gradpp_scorecam": "its weights are positive Score-CAM scores times Grad-CAM++ weights, and it inherits both",
}
"""Why a method's map can survive the model's randomisation: a property of the method, not of the image."""


@cache
def report_summaries(backbone: str, layer: str) -> dict[str, MethodSummary]:
    """Method or baseline key -> its report-half summary at ``backbone`` / ``layer``; empty when not measured."""
    name = REPORT_FILES.get((backbone, layer))
    if name is None or not (RESULTS_DIR / name).is_file():
        return {}
    return {summary.method: summary for summary in summarize(read_rows([RESULTS_DIR / name]))}


def caveats(method: str, backbone: str, layer: str) -> list[str]:
    """One sentence per thing a viewer of ``method``'s map at ``backbone`` / ``layer`` should know, from the
    measured report-half rows (empty when that combination was not measured or the method passes)."""
    summaries = report_summaries(backbone, layer)
    summary = summaries.get(method)
    if summary is None:
        return []
    notes = []
    if summary.sanity_passes is False:
        notes.append(
            f"Fails the model randomisation check here: its map keeps a rank correlation of {summary.sanity_spearman:.2f} "
            "with itself after the classifier and the last two blocks are re-initialised"
            + (f" ({WHY[method]})." if method in WHY else ".")
        )
    labels = {row.field: row.label for row in TABLE_ROWS}
    center = summaries.get("center")
    for field in fails_against_center(list(summaries.values())).get(method, []):
        notes.append(
            f"Does not beat a centred blob that knows nothing of the model on {labels[field].lower()} "
            f"({getattr(summary, field):.3f} against {getattr(center, field):.3f})."
        )
    return notes


def images_measured(backbone: str, layer: str) -> int:
    summaries = report_summaries(backbone, layer)
    return max((summary.images for summary in summaries.values()), default=0)
