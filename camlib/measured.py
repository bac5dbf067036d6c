"""What camlib's own evaluation found about each method: the one source that the app's method cells and
docs/results.md read, computed from the per-image rows in ``docs/results/`` (shipped as package data in
``camlib/data/results``; never typed in twice).

The rows are the **report half** of the 250-image ImageNet sample (odd 0-based indices of the name-sorted
files; the defaults were chosen on the other half), scored by ``camlib evaluate --sanity`` (see
docs/results.md for the commands). A method gets a note where, at that backbone, layer and setting, its
randomisation check does not pass, or it does not beat the centred blob (a map that knows nothing of the
model) on insertion − deletion or an Average Drop at a fixed area. Every verdict comes from a 95 % bootstrap
interval (:mod:`camlib.intervals`, paired against the blob): "fails" / "below the blob" only where the
interval excludes the threshold, "indistinguishable" where it does not. Each note names the benchmark it
is about. Where no rows were measured with that model, layer and parameters, nothing is claimed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from camlib import cache_limits
from camlib.evaluate import TABLE_ROWS, MethodSummary, blob_verdicts, read_results, summarize
from camlib.intervals import INDISTINGUISHABLE, Interval, paired_difference, verdict
from camlib.resources import resource_path
from camlib.sanity import SANITY_THRESHOLD
from camlib.verdicts import difference

RESULTS_DIR: Path = resource_path("results")  # package data: copies of docs/results/ (camlib/resources.py)
REPORT_FILES: dict[tuple[str, str], str] = {
    ("efficientnet_lite0", "bn2"): "report_lite0_bn2.csv",
    ("efficientnet_lite0", "conv_head"): "report_lite0_conv_head.csv",
    ("efficientnet_lite1", "bn2"): "report_lite1_bn2_fast.csv",
    ("efficientnet_lite2", "bn2"): "report_lite2_bn2_fast.csv",
}
"""(backbone, layer) -> the report-half rows of every method and baseline there, in :data:`RESULTS_DIR`."""
FAST_FILES: dict[tuple[str, str], str] = {("efficientnet_lite0", "bn2"): "report_lite0_bn2_scorecam_fast.csv"}
"""(backbone, layer) -> the report-half rows of Score-CAM at the ``fast`` setting (with the baselines)."""

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


def _files(backbone: str, layer: str) -> list[str]:
    return [name for name in (REPORT_FILES.get((backbone, layer)), FAST_FILES.get((backbone, layer))) if name]


@lru_cache(maxsize=cache_limits.MEASURED_FILES)
def _read(name: str) -> tuple[dict[str, MethodSummary], dict]:
    """Method key -> summary, and the configuration line, of one results file (empty when it is absent)."""
    if not (RESULTS_DIR / name).is_file():
        return {}, {}
    rows, config = read_results([RESULTS_DIR / name])
    return {summary.method: summary for summary in summarize(rows)}, config or {}


def _measured_file(method: str, backbone: str, layer: str, params: Mapping | None) -> str | None:
    """The results file holding ``method`` at ``backbone`` / ``layer`` run with exactly ``params`` (any
    parameters when ``params`` is None), or None when none was measured so."""
    for name in _files(backbone, layer):
        summaries, config = _read(name)
        if method not in summaries:
            continue
        if params is None or dict(config.get("params", {}).get(method, {})) == dict(params):
            return name
    return None


def report_summaries(backbone: str, layer: str) -> dict[str, MethodSummary]:
    """Method or baseline key -> its report-half summary at ``backbone`` / ``layer``; empty when not measured."""
    name = REPORT_FILES.get((backbone, layer))
    return dict(_read(name)[0]) if name else {}


report_summaries.cache_clear = _read.cache_clear  # the tests swap the files and clear what was read


def benchmark(name: str, summary: MethodSummary) -> str:
    """Which measurement a note is about: ``camlib's benchmark (125 report-half ImageNet photos,
    efficientnet_lite0 at bn2, fast setting)``."""
    config = _read(name)[1]
    setting = f", {config['speed']} setting" if config.get("speed") else ""
    model = f"{config.get('backbone', '?')} at {config.get('layer', '?')}"
    return f"camlib's benchmark ({summary.images} report-half ImageNet photos, {model}{setting})"


SANITY_BADGES = {"fails": "✗ rand", INDISTINGUISHABLE: "? rand"}
BLOB_BADGES = {"worse": "< blob", INDISTINGUISHABLE: "≈ blob"}
"""The badges under a map, a few characters each so that a row of narrow tiles keeps them on one or two lines, one per
verdict the intervals support: the model randomisation check failed (✗) or could not be told from its threshold (?);
the map is below the centred blob (<) or indistinguishable from it (≈). The sentence behind each says it in full."""


@dataclass(frozen=True)
class Caveat:
    """One measured note on a method: its badge under the map and the sentence behind it (benchmark, figure, interval, reason)."""

    badge: str
    text: str


def caveats(method: str, backbone: str, layer: str, *, params: Mapping | None = None, resolution: int | None = None) -> list[str]:
    """One sentence per thing a viewer of ``method``'s map should know (:func:`caveat_notes`' sentences)."""
    return [note.text for note in caveat_notes(method, backbone, layer, params=params, resolution=resolution)]


def caveat_notes(method: str, backbone: str, layer: str, *, params: Mapping | None = None,
                 resolution: int | None = None) -> list[Caveat]:
    """The notes a viewer of ``method``'s map should know, from the report-half rows measured with this ``backbone``,
    ``layer`` and method ``params`` (and at the backbone's own input size, when the screen's ``resolution`` is
    given). Empty when that combination was not measured or the method passes."""
    name = _measured_file(method, backbone, layer, params)
    if name is None or (resolution is not None and resolution != _input_size(backbone)):
        return []
    summaries = _read(name)[0]
    summary, where = summaries[method], benchmark(name, summaries[method])
    notes = []
    spearman = summary.interval("sanity_spearman")
    if summary.sanity_verdict in SANITY_BADGES:
        outcome = "fails" if summary.sanity_verdict == "fails" else "is indistinguishable from the threshold of"
        notes.append(Caveat(SANITY_BADGES[summary.sanity_verdict], (
            f"In {where}, this method {outcome} the model randomisation check: its map keeps a mean rank correlation of "
            f"{spearman.text()} (95 % interval; the check fails above {SANITY_THRESHOLD}) with itself after the classifier "
            "and the last two blocks are re-initialised" + (f" ({WHY[method]})." if method in WHY else ".")
        )))
    labels = {row.field: row.label for row in TABLE_ROWS}
    center = summaries.get("center")
    for field, side in blob_verdicts(list(summaries.values())).get(method, {}).items():
        if side not in BLOB_BADGES:
            continue
        gap = difference(summary, center, field)
        words = "is below" if side == "worse" else "is indistinguishable from"
        notes.append(Caveat(BLOB_BADGES[side], (
            f"In {where}, this method {words} a centred blob that knows nothing of the model on {labels[field].lower()} "
            f"(difference {gap.text(3 if field == 'insertion_minus_deletion' else 2, signed=True)}, 95 % interval)"
            + _blob_deletion_reason(field, summary, center)
            + "."
        )))
    return notes


def _input_size(backbone: str) -> int | None:
    """The input size the benchmark ran at: the backbone's own (``camlib evaluate`` preprocesses with it)."""
    try:
        from camlib.backbones import BACKBONES

        return BACKBONES[backbone].input_size
    except (ImportError, KeyError, AttributeError):
        return None


def _blob_deletion_reason(field: str, summary: MethodSummary, center: MethodSummary) -> str:
    """Where the blob's deletion AUC is lower with 95 % confidence and the map inserts at least as well, say so."""
    if field != "insertion_minus_deletion":
        return ""
    deletion = difference(summary, center, "deletion_auc")
    if verdict(deletion) != "above" or verdict(difference(summary, center, "insertion_auc")) == "below":
        return ""
    return (
        f": the blob's deletion AUC ({center.deletion_auc:.3f}) is lower than this map's ({summary.deletion_auc:.3f}; "
        f"difference {deletion.text(signed=True)}), since the objects of ImageNet photos tend to sit in the middle"
    )


def images_measured(backbone: str, layer: str) -> int:
    summaries = report_summaries(backbone, layer)
    return max((summary.images for summary in summaries.values()), default=0)


def fast_against_exact(backbone: str = "efficientnet_lite0", layer: str = "bn2") -> dict[str, Interval] | None:
    """Score-CAM at the ``fast`` setting minus exact Score-CAM, paired over the report images both scored, on
    insertion − deletion and ADCC (with the fast means as ``fast_*``); ``None`` when either was not measured."""
    exact_name, fast_name = REPORT_FILES.get((backbone, layer)), FAST_FILES.get((backbone, layer))
    if exact_name is None or fast_name is None:
        return None
    exact, fast = _read(exact_name)[0].get("scorecam"), _read(fast_name)[0].get("scorecam")
    if exact is None or fast is None:
        return None
    found = {}
    for field in ("insertion_minus_deletion", "adcc"):
        found[field] = paired_difference(fast.per_image.get(field, {}), exact.per_image.get(field, {}))
        found[f"fast_{field}"] = fast.interval(field)
        found[f"exact_{field}"] = exact.interval(field)
    return found if found["insertion_minus_deletion"].n else None


def fast_setting_text() -> str:
    """One sentence on how the fast Score-CAM scores against the exact one, for the app's speed labels."""
    found = fast_against_exact()
    if found is None:
        return ""
    gaps = found["insertion_minus_deletion"], found["adcc"]
    same = all(verdict(gap) == INDISTINGUISHABLE for gap in gaps)
    return (
        f" On {gaps[0].n} report-half ImageNet images (EfficientNet-Lite0, bn2) its maps score "
        + ("indistinguishably from the exact ones" if same else "differently from the exact ones")
        + f": insertion − deletion {found['fast_insertion_minus_deletion'].mean:.3f} against "
        f"{found['exact_insertion_minus_deletion'].mean:.3f} (fast − exact {gaps[0].text(signed=True)}), ADCC "
        f"{found['fast_adcc'].mean:.3f} against {found['exact_adcc'].mean:.3f} (fast − exact {gaps[1].text(signed=True)}; "
        "paired, 95 %)."
    )


POINTING_FILES: dict[tuple[str, str], str] = {
    ("efficientnet_lite0", "bn2"): "pointing_lite0_bn2.csv",
    ("efficientnet_lite0", "conv_head"): "pointing_lite0_conv_head.csv",
    ("efficientnet_lite1", "bn2"): "pointing_lite1_bn2.csv",
    ("efficientnet_lite2", "bn2"): "pointing_lite2_bn2.csv",
}
"""(backbone, layer) -> the grid pointing game's rows on report-half grids (``camlib pointing-game``)."""


@lru_cache(maxsize=cache_limits.POINTING_SUMMARIES)
def pointing_summaries(backbone: str, layer: str) -> dict:
    """Method or baseline key -> its :class:`camlib.pointing.PointingSummary` on the report-half grids; empty
    when that backbone and layer were not measured."""
    from camlib.pointing import read_pointing_rows, summarize_pointing

    name = POINTING_FILES.get((backbone, layer))
    if name is None or not (RESULTS_DIR / name).is_file():
        return {}
    return {summary.method: summary for summary in summarize_pointing(read_pointing_rows([RESULTS_DIR / name]))}
