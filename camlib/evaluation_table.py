"""The table of ``camlib evaluate`` / ``evaluate-merge`` (:func:`markdown_table`): the metrics as rows with their
direction, each method's means with their intervals, the marks against the centre blob and the notes under the
table, every verdict from :mod:`camlib.verdicts`. Re-exported by :mod:`camlib.evaluate`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from camlib.baselines import is_baseline
from camlib.explain import display_name
from camlib.intervals import INDISTINGUISHABLE
from camlib.methods import METHODS
from camlib.metrics import FIXED_AREAS
from camlib.verdicts import BLOB_MARKS, BLOB_WORDS, against_center, leader, leader_sentence, versus, versus_sentence

if TYPE_CHECKING:
    from camlib.summary import MethodSummary


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
