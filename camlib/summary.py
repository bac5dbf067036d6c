"""Per-image result rows summarised: each method's means with their 95 % intervals (:class:`MethodSummary`), and
the table of ``camlib evaluate`` / ``evaluate-merge`` (:func:`markdown_table`), every verdict from :mod:`camlib.verdicts`.
Re-exported by :mod:`camlib.evaluate`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from camlib.baselines import is_baseline
from camlib.errors import InvalidParameterError
from camlib.explain import display_name
from camlib.intervals import ABOVE, BELOW, INDISTINGUISHABLE, NOTHING, Interval, mean_of, verdict
from camlib.methods import METHODS
from camlib.metrics import FIXED_AREAS, average_drop, average_increase
from camlib.sanity import SANITY_THRESHOLD, summarize_sanity
from camlib.verdicts import (
    BLOB_MARKS,
    BLOB_WORDS,
    CHECKED_AGAINST_CENTER,
    against_center,
    leader,
    leader_sentence,
    versus,
    versus_sentence,
)


def kind_of(key: str) -> str:
    return "baseline" if is_baseline(key) else "method"


@dataclass
class MethodSummary:
    """One method's or baseline's means over its images (field names as in ``camlib evaluate``'s table).

    ``average_drop_10`` etc. are Average Drop % with only the top 10 / 25 / 50 % of pixels kept;
    ``coherency`` and ``adcc`` average the images where they are defined (NaN when none is)."""

    method: str
    images: int
    average_drop: float
    average_increase: float
    insertion_auc: float
    deletion_auc: float
    seconds_per_image: float
    kind: str = "method"
    insertion_minus_deletion: float = math.nan
    average_drop_10: float = math.nan
    average_drop_25: float = math.nan
    average_drop_50: float = math.nan
    complexity: float = math.nan
    coherency: float = math.nan
    adcc: float = math.nan
    sparseness: float = math.nan
    sanity_spearman: float = math.nan  # mean Spearman at the last randomisation stage run
    sanity_ssim: float = math.nan
    sanity_passes: bool | None = None  # True / False only where the interval excludes the threshold
    sanity_verdict: str | None = None  # "passes", "fails" or "indistinguishable"; None: the check was not run
    per_image: dict[str, dict[str, float]] = field(default_factory=dict, repr=False, compare=False)
    """Metric field -> {image file: that image's value}, whose mean is the field (the rows behind the intervals)."""

    def interval(self, name: str) -> Interval:
        """The mean of ``name`` over images with its 95 % bootstrap interval (:mod:`camlib.intervals`);
        no interval (NaN) when the per-image values are not known."""
        values = self.per_image.get(name)
        return mean_of(values) if values else NOTHING


def summarize(rows: Iterable[dict]) -> list[MethodSummary]:
    """One summary per method, in the order the methods first appear, over the rows without errors."""
    rows = list(rows)
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        if not row.get("error"):
            grouped.setdefault(row["method"], []).append(row)
    sanity = summarize_sanity(rows)
    summaries = []
    for method, items in grouped.items():
        try:
            per_image = _per_image(items, sanity.get(method, {}).get("last_stage"))
            seconds = float(np.mean([float(r["seconds"]) for r in items]))
        except (KeyError, ValueError) as error:  # an edited or damaged file: a score missing from a row without error
            raise InvalidParameterError(f"A {method} row without error lacks a number ({error}); the results file is damaged.") from None
        means = {name: _mean(per_image, name) for name in MEANS}
        summaries.append(
            MethodSummary(
                method=method,
                images=len(items),
                seconds_per_image=seconds,
                kind=items[0].get("kind") or kind_of(method),
                insertion_minus_deletion=means["insertion_auc"] - means["deletion_auc"],
                **means,
                **_sanity_summary(sanity.get(method)),
                per_image=per_image,
            )
        )
    return summaries


def _per_image(items: list[dict], last_stage: int | None) -> dict[str, dict[str, float]]:
    """Each table field's value on each image (file -> value), so that the field is their mean. A file name
    seen again (two uploads of one name) gets ``#2``, ``#3``…, in the same order for every method."""
    values: dict[str, dict[str, float]] = {}
    seen: dict[str, int] = {}

    def put(name: str, key: str, value: float) -> None:
        if math.isfinite(value):
            values.setdefault(name, {})[key] = value

    for row in items:
        seen[row["file"]] = seen.get(row["file"], 0) + 1
        key = row["file"] if seen[row["file"]] == 1 else f"{row['file']}#{seen[row['file']]}"
        base, masked = float(row["base_score"]), float(row["masked_score"])
        if base <= 0:
            raise InvalidParameterError("Average Drop needs positive base scores Y.")
        put("average_drop", key, average_drop([base], [masked]))
        put("average_increase", key, average_increase([base], [masked]))
        for column in ("insertion_auc", "deletion_auc", "complexity", "coherency", "adcc", "sparseness"):
            put(column, key, _number(row.get(column)))
        put("insertion_minus_deletion", key, float(row["insertion_auc"]) - float(row["deletion_auc"]))
        for percent in FIXED_AREAS:
            kept = _number(row.get(f"masked_score_{percent}"))
            put(f"average_drop_{percent}", key, average_drop([base], [kept]) if math.isfinite(kept) else math.nan)
        if last_stage is not None:
            put("sanity_spearman", key, _number(row.get(f"rand_spearman_{last_stage}")))
            put("sanity_ssim", key, _number(row.get(f"rand_ssim_{last_stage}")))
    return values


def _sanity_summary(values: dict | None) -> dict:
    if not values:
        return {}
    last = values["last_stage"]
    verdict_ = sanity_verdict_of(values["interval"])
    return {
        "sanity_spearman": values[f"rand_spearman_{last}"],
        "sanity_ssim": values.get(f"rand_ssim_{last}", math.nan),
        "sanity_passes": {"passes": True, "fails": False}.get(verdict_),
        "sanity_verdict": verdict_,
    }


def sanity_verdict_of(spearman: Interval) -> str:
    """The randomisation check from the interval of the mean Spearman at the last stage: ``passes`` where it
    lies wholly below :data:`camlib.sanity.SANITY_THRESHOLD`, ``fails`` above, else ``indistinguishable``."""
    side = verdict(spearman, SANITY_THRESHOLD)
    return {BELOW: "passes", ABOVE: "fails"}.get(side, INDISTINGUISHABLE)


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


MEANS = [
    "average_drop", "average_increase", "insertion_auc", "deletion_auc", *(f"average_drop_{p}" for p in FIXED_AREAS),
    "complexity", "coherency", "adcc", "sparseness",
]  # fmt: skip
"""The summary's fields that are the mean of their per-image values (NaN where no image has one)."""


def _mean(per_image: dict[str, dict[str, float]], name: str) -> float:
    values = per_image.get(name)
    return float(np.mean(list(values.values()))) if values else math.nan


@dataclass(frozen=True)
class TableRow:
    label: str
    field: str
    digits: int
    higher_is_better: bool | None  # None: not a quality (time, counts)
    optional: bool = False  # shown only when some summary has a value


TABLE_ROWS = [
    TableRow("Average Drop %", "average_drop", 2, False),
    TableRow("Average Increase %", "average_increase", 2, True),
    TableRow("Insertion AUC", "insertion_auc", 3, True),
    TableRow("Deletion AUC", "deletion_auc", 3, False),
    TableRow("Insertion − deletion", "insertion_minus_deletion", 3, True),
    *(TableRow(f"Average Drop % keeping the top {p} %", f"average_drop_{p}", 2, False, True) for p in FIXED_AREAS),
    TableRow("Complexity (mean map value)", "complexity", 3, False, True),
    TableRow("Coherency", "coherency", 3, True, True),
    TableRow("ADCC", "adcc", 3, True, True),
    TableRow("Sparseness (Gini)", "sparseness", 3, True, True),
    TableRow("Spearman after model randomisation", "sanity_spearman", 3, False, True),
    TableRow("SSIM after model randomisation", "sanity_ssim", 3, False, True),
]
LEADER_FIELDS = ["insertion_minus_deletion", "adcc"]
"""Metrics on which the tables say which method is best (or that the top is a tie)."""
VERSUS = [("gradpp_scorecam", "scorecam")]
"""Pairs of methods whose paired difference the tables print (Grad++ScoreCAM against the method it builds on)."""


def directions() -> dict[str, bool]:
    return {row.field: row.higher_is_better for row in TABLE_ROWS if row.higher_is_better is not None}


def blob_verdicts(summaries: Sequence[MethodSummary]) -> dict[str, dict[str, str]]:
    """Method -> {checked field: ``better`` / ``worse`` / ``indistinguishable``} against the centre blob,
    from paired intervals (:func:`camlib.verdicts.against_center`)."""
    return against_center(summaries, directions())


def fails_against_center(summaries: Sequence[MethodSummary]) -> dict[str, list[str]]:
    """For each method (not baseline), the fields of :data:`CHECKED_AGAINST_CENTER` on which it is below the
    ``center`` baseline with 95 % confidence (its paired interval excludes 0); empty when ``center`` was not evaluated."""
    verdicts = blob_verdicts(summaries)
    return {method: [name for name, side in found.items() if side == "worse"] for method, found in verdicts.items()}


def _format(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "—"


def _table_cell(summary: MethodSummary, row: TableRow, marks: dict[str, str]) -> str:
    value = getattr(summary, row.field)
    interval = summary.interval(row.field)
    text = _format(value, row.digits)
    if math.isfinite(value) and math.isfinite(interval.low):
        text += f" [{interval.low:.{row.digits}f}, {interval.high:.{row.digits}f}]"
    return text + (f" {BLOB_MARKS[marks[row.field]]}" if row.field in marks else "")


def markdown_table(summaries: Sequence[MethodSummary]) -> str:
    """Table 1's layout: methods and baselines as columns, metrics as rows with their direction.

    Each mean is followed by its 95 % bootstrap interval over images. Baselines are marked in a ``kind``
    row; a method's cell on insertion − deletion or an Average Drop at a fixed area gets ✓ (beats the
    ``center`` blob), ✗ (below it) or ≈ (indistinguishable), from the paired interval of the difference."""
    names = [_name(s.method) for s in summaries]
    verdicts = blob_verdicts(summaries)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(summaries)]
    if any(s.kind == "baseline" for s in summaries):
        lines.append("| kind | " + " | ".join(s.kind for s in summaries) + " |")
    for row in TABLE_ROWS:
        values = [getattr(s, row.field) for s in summaries]
        if row.optional and not any(math.isfinite(value) for value in values):
            continue
        direction = "higher is better" if row.higher_is_better else "lower is better"
        cells = [_table_cell(s, row, verdicts.get(s.method, {})) for s in summaries]
        lines.append(f"| {row.label} ({direction}) | " + " | ".join(cells) + " |")
    if any(s.sanity_verdict is not None for s in summaries):
        words = {"passes": "passes", "fails": "**fails**", INDISTINGUISHABLE: "indistinguishable from 0.5", None: "—"}
        cells = " | ".join(words[s.sanity_verdict] for s in summaries)
        lines.append(f"| sanity check (Spearman below 0.5 after randomisation, 95 %) | {cells} |")
    lines.append("| seconds per image | " + " | ".join(f"{s.seconds_per_image:.2f}" for s in summaries) + " |")
    lines.append("| images | " + " | ".join(str(s.images) for s in summaries) + " |")
    notes = _table_notes(summaries, verdicts)
    return "\n".join(lines + ([""] + notes if notes else []))


def _name(key: str) -> str:
    return display_name(key) if key in METHODS or is_baseline(key) else key


def _table_notes(summaries: Sequence[MethodSummary], verdicts: dict[str, dict[str, str]]) -> list[str]:
    notes = ["Each mean is followed by its 95 % interval (percentile bootstrap over images, seeded)."]
    if verdicts:
        notes.append(
            "Against the centre blob (a map that knows nothing of the model), from the paired difference's 95 % interval: "
            "✓ beats the blob, ✗ below the blob, ≈ indistinguishable from it."
        )
        for side in ("worse", INDISTINGUISHABLE):
            named = [_name(m) for m, found in verdicts.items() if side in found.values() and m in METHODS]
            if named:
                notes.append(f"{BLOB_WORDS[side].capitalize()} on at least one checked metric: " + ", ".join(named) + ".")
    notes.extend(_comparison_notes(summaries))
    for verdict_, words in (("fails", "Fails"), (INDISTINGUISHABLE, "Indistinguishable from the threshold in")):
        named = [_name(s.method) for s in summaries if s.sanity_verdict == verdict_ and s.method in METHODS]
        if named:
            notes.append(f"{words} the model randomisation check (mean Spearman against 0.5, 95 % interval): {', '.join(named)}.")
    if any(s.kind == "baseline" for s in summaries) and any(math.isfinite(s.coherency) for s in summaries):
        notes.append(
            "Baselines ignore the image, so their Coherency is 1 by construction (undefined, —, for the constant uniform map)."
        )
    return notes


def _comparison_notes(summaries: Sequence[MethodSummary]) -> list[str]:
    """Who is best on :data:`LEADER_FIELDS` (or a tie), and the :data:`VERSUS` pairs' differences."""
    labels, way = {row.field: row.label for row in TABLE_ROWS}, directions()
    notes = []
    for name in LEADER_FIELDS:
        found = leader(summaries, name, way[name])
        if found is not None and found.runner_up is not None:
            notes.append(leader_sentence(found, labels[name], _name))
    by = {s.method: s for s in summaries}
    for first, second in VERSUS:
        if first in by and second in by:
            for name in LEADER_FIELDS:
                gap, outcome = versus(by[first], by[second], name, way[name])
                if math.isfinite(gap.mean):
                    notes.append(versus_sentence(first, second, labels[name], gap, outcome, _name))
    return notes
