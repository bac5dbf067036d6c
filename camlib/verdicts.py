"""The comparisons camlib states about its measured methods, each made by :func:`camlib.intervals.verdict`
from a paired bootstrap interval over images, and the words that say them.

- :func:`against_center`: each method against the centred blob on :data:`CHECKED_AGAINST_CENTER`
  (``better`` = beats the blob, ``worse`` = below it, else indistinguishable);
- :func:`leader`: the best method on a metric, ahead of the runner-up only where their paired difference
  excludes 0 (otherwise a tie);
- :func:`versus`: one method against another (Grad++ScoreCAM against Score-CAM).

Works on anything with ``method``, ``kind``, the metric fields and ``per_image`` (a
:class:`camlib.evaluate.MethodSummary` or a :class:`camlib.pointing.PointingSummary`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from camlib.intervals import INDISTINGUISHABLE, NOTHING, Interval, better_or_worse, paired_difference

CHECKED_AGAINST_CENTER = ["insertion_minus_deletion", "average_drop_10", "average_drop_25", "average_drop_50"]
BLOB_MARKS = {"better": "✓", "worse": "✗", INDISTINGUISHABLE: "≈"}
Grouping = Callable[[Hashable], Hashable] | None
"""Maps an image key to its resampling unit (a pointing-game grid), or None: each image on its own."""
BLOB_WORDS = {"better": "beats the blob", "worse": "below the blob", INDISTINGUISHABLE: "indistinguishable from the blob"}


def difference(first, second, name: str, *, group: Grouping = None) -> Interval:
    """Paired ``first − second`` on ``name`` over the images both scored (NaN when either has no per-image values)."""
    a, b = first.per_image.get(name), second.per_image.get(name)
    if not a or not b:
        return NOTHING
    return paired_difference(a, b, group=group)


def against_center(
    summaries: Sequence, directions: dict[str, bool], fields: Sequence[str] = CHECKED_AGAINST_CENTER
) -> dict[str, dict[str, str]]:
    """Method -> {field: ``better`` / ``worse`` / ``indistinguishable``} against ``center``; empty when the
    blob was not evaluated. ``directions`` says, per field, whether higher is better."""
    center = next((s for s in summaries if s.method == "center"), None)
    if center is None:
        return {}
    return {
        s.method: {
            name: better_or_worse(difference(s, center, name), directions[name])
            for name in fields
            if math.isfinite(getattr(center, name, math.nan))
        }
        for s in summaries
        if s.kind != "baseline"
    }


@dataclass(frozen=True)
class Leader:
    """The method with the best mean on a metric, the runner-up (the best other map) and their paired difference."""

    method: str
    runner_up: str | None
    difference: Interval
    outcome: str  # "better": the leader is best; "indistinguishable": a tie at the top
    same_map: tuple[str, ...] = ()  # other methods whose per-image values equal the leader's (the same map)


def leader(summaries: Sequence, name: str, higher_is_better: bool, *, group: Grouping = None) -> Leader | None:
    """The best method (not baseline) on ``name`` and whether its paired difference to the runner-up excludes 0;
    ``None`` with fewer than two methods. A method with exactly the leader's values is the same map, not a runner-up."""
    methods = [s for s in summaries if s.kind != "baseline" and math.isfinite(getattr(s, name, math.nan))]
    if len(methods) < 2:
        return None
    ranked = sorted(methods, key=lambda s: getattr(s, name), reverse=higher_is_better)
    best = ranked[0]
    same = tuple(s.method for s in ranked[1:] if _same_values(s.per_image.get(name), best.per_image.get(name)))
    others = [s for s in ranked[1:] if s.method not in same]
    if not others:
        return Leader(best.method, None, NOTHING, INDISTINGUISHABLE, same)
    gap = difference(best, others[0], name, group=group)
    return Leader(best.method, others[0].method, gap, better_or_worse(gap, higher_is_better), same)


def _same_values(a: dict | None, b: dict | None, tolerance: float = 2e-6) -> bool:
    """The same map on every image: equal per-image values to the CSV's six printed decimals (one unit of rounding apart)."""
    return bool(a) and bool(b) and a.keys() == b.keys() and all(abs(a[key] - b[key]) <= tolerance for key in a)


def versus(first, second, name: str, higher_is_better: bool, *, group: Grouping = None) -> tuple[Interval, str]:
    """``first − second`` on ``name`` and ``better`` / ``worse`` / ``indistinguishable`` for ``first``."""
    gap = difference(first, second, name, group=group)
    return gap, better_or_worse(gap, higher_is_better)


def leader_sentence(found: Leader, label: str, name_of: Callable[[str], str], digits: int = 3) -> str:
    """One line for a table's notes: who is best on ``label``, or that the top is a tie."""
    best = name_of(found.method) + "".join(f" (= {name_of(m)}, the same map)" for m in found.same_map)
    if found.runner_up is None:
        return f"{label}: {best}; no other method to compare."
    gap = found.difference.text(digits, signed=True)
    if found.outcome == "better":
        return f"{label}: {best} is the best of the methods, ahead of {name_of(found.runner_up)} by {gap} (paired, 95 %)."
    return (
        f"{label}: {best} and {name_of(found.runner_up)} are indistinguishable at the top (difference {gap}, paired, 95 %); "
        "no single best method."
    )


def versus_sentence(
    first: str, second: str, label: str, gap: Interval, outcome: str, name_of: Callable[[str], str], digits: int = 3
) -> str:
    """``Grad++ScoreCAM − Score-CAM on ADCC: −0.029 [−0.048, −0.011] (behind Score-CAM).``"""
    label = label[0].lower() + label[1:] if label[1:2].islower() else label  # "Insertion − deletion" within a sentence
    words = {"better": f"ahead of {name_of(second)}", "worse": f"behind {name_of(second)}", INDISTINGUISHABLE: "indistinguishable"}
    return f"{name_of(first)} − {name_of(second)} on {label}: {gap.text(digits, signed=True)} ({words[outcome]})."
