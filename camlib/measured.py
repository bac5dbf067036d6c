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
from camlib.resources import resource_path
from camlib.sanity import SANITY_THRESHOLD

RESULTS_DIR: Path = resource_path("results")  # package data: copies of docs/results/ (camlib/resources.py)
REPORT_FILES: dict[tuple[str, str], str] = {
    ("efficientnet_lite0", "bn2"): "report_lite0_bn2.csv",
    ("efficientnet_lite0", "conv_head"): "report_lite0_conv_head.csv",
    ("efficientnet_lite1", "bn2"): "report_lite1_bn2_fast.csv",
    ("efficientnet_lite2", "bn2"): "report_lite2_bn2_fast.csv",
}
"""(backbone, layer) -> the report-half rows of every method and baseline there, in :data:`RESULTS_DIR`."""
FAST_FILES: dict[tuple[str, str], str] = {("efficientnet_lite0", "bn2"): "report_lite0_bn2_scorecam_fast.csv"}
"""(backbone, layer) -> the report-half rows of Score-CAM at the ``fast`` setting."""

WHY: dict[str, str] = {
    "gradcampp": "its channel weights keep only positive gradients, so with a destroyed classifier the map still "
    "follows the strongest activations",
    "smoothgradcampp": "it is Grad-CAM++ with gradients averaged over noisy copies, and keeps its positive weights; at "
    "a layer right before the pooling the gradient does not depend on the input, so there it is Grad-CAM++'s map",
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
            f"Fails the model randomisation check here: its map keeps a rank correlation of {summary.sanity_spearman:.3f} "
            f"(the check fails at {SANITY_THRESHOLD}) with itself after the classifier and the last two blocks are re-initialised"
            + (f" ({WHY[method]})." if method in WHY else ".")
        )
    labels = {row.field: row.label for row in TABLE_ROWS}
    center = summaries.get("center")
    for field in fails_against_center(list(summaries.values())).get(method, []):
        notes.append(
            f"Does not beat a centred blob that knows nothing of the model on {labels[field].lower()} "
            f"({getattr(summary, field):.3f} against {getattr(center, field):.3f})"
            + _blob_deletion_reason(field, summary, center)
            + "."
        )
    return notes


def _blob_deletion_reason(field: str, summary: MethodSummary, center: MethodSummary) -> str:
    """Where the blob wins insertion − deletion by its deletion AUC alone (the map inserts at least as well), say so."""
    if field != "insertion_minus_deletion" or not (
        center.deletion_auc < summary.deletion_auc and summary.insertion_auc >= center.insertion_auc
    ):
        return ""
    return (
        f": the blob's deletion AUC ({center.deletion_auc:.3f}) is lower than this map's ({summary.deletion_auc:.3f}), "
        "since the objects of ImageNet photos tend to sit in the middle"
    )


def images_measured(backbone: str, layer: str) -> int:
    summaries = report_summaries(backbone, layer)
    return max((summary.images for summary in summaries.values()), default=0)


def fast_against_exact(backbone: str = "efficientnet_lite0", layer: str = "bn2") -> tuple[MethodSummary, MethodSummary] | None:
    """Score-CAM at the ``fast`` setting and exact Score-CAM on the report images both scored, or ``None``."""
    exact_name, fast_name = REPORT_FILES.get((backbone, layer)), FAST_FILES.get((backbone, layer))
    if (
        exact_name is None
        or fast_name is None
        or not (RESULTS_DIR / exact_name).is_file()
        or not (RESULTS_DIR / fast_name).is_file()
    ):
        return None
    exact = [row for row in read_rows([RESULTS_DIR / exact_name]) if row["method"] == "scorecam" and not row.get("error")]
    fast = [row for row in read_rows([RESULTS_DIR / fast_name]) if row["method"] == "scorecam" and not row.get("error")]
    common = {row["file"] for row in exact} & {row["file"] for row in fast}
    if not common:
        return None
    return summarize([r for r in fast if r["file"] in common])[0], summarize([r for r in exact if r["file"] in common])[0]


def fast_setting_text() -> str:
    """One sentence on how the fast Score-CAM scores against the exact one, for the app's speed labels."""
    pair = fast_against_exact()
    if pair is None:
        return ""
    fast, exact = pair
    return (
        f" On {fast.images} report-half ImageNet images (EfficientNet-Lite0, bn2) its maps score like the exact ones: "
        f"insertion − deletion {fast.insertion_minus_deletion:.3f} against {exact.insertion_minus_deletion:.3f}, "
        f"ADCC {fast.adcc:.3f} against {exact.adcc:.3f}."
    )


POINTING_FILES: dict[tuple[str, str], str] = {
    ("efficientnet_lite0", "bn2"): "pointing_lite0_bn2.csv",
    ("efficientnet_lite0", "conv_head"): "pointing_lite0_conv_head.csv",
    ("efficientnet_lite1", "bn2"): "pointing_lite1_bn2.csv",
    ("efficientnet_lite2", "bn2"): "pointing_lite2_bn2.csv",
}
"""(backbone, layer) -> the grid pointing game's rows on report-half grids (``camlib pointing-game``)."""


@cache
def pointing_summaries(backbone: str, layer: str) -> dict:
    """Method or baseline key -> its :class:`camlib.pointing.PointingSummary` on the report-half grids; empty
    when that backbone and layer were not measured."""
    from camlib.pointing import read_pointing_rows, summarize_pointing

    name = POINTING_FILES.get((backbone, layer))
    if name is None or not (RESULTS_DIR / name).is_file():
        return {}
    return {summary.method: summary for summary in summarize_pointing(read_pointing_rows([RESULTS_DIR / name]))}
