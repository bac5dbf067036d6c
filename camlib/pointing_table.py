"""The grid pointing game's table: each method's mean energy share and hit rate with their intervals
(bootstrap over grids), the chance line, and which method leads."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from camlib.baselines import is_baseline
from camlib.errors import CamlibError, InvalidParameterError
from camlib.explain import display_name
from camlib.intervals import NOTHING, Interval, mean_of
from camlib.verdicts import leader, leader_sentence, versus, versus_sentence

CHANCE = 0.25
"""Energy share of a map spread evenly over a 2 x 2 grid, and hit rate of a pointer that picks a cell at random."""


@dataclass
class PointingSummary:
    method: str
    cells: int
    energy_share: float
    hit_rate: float
    seconds_per_cell: float
    kind: str = "method"
    per_image: dict[str, dict[tuple[int, int], float]] = field(default_factory=dict, repr=False, compare=False)
    """``energy_share`` / ``hit_rate`` -> {(grid, cell): that cell's value}."""

    def interval(self, name: str) -> Interval:
        """The mean of ``name`` with its 95 % bootstrap interval, resampling whole grids: the four cells of a
        grid share one map, so their scores are not independent."""
        values = self.per_image.get(name)
        return mean_of(values, group=by_grid) if values else NOTHING


def by_grid(key: tuple[int, int]) -> int:
    """The bootstrap's unit for a (grid, cell) key: its grid."""
    return key[0]


def summarize_pointing(rows: Iterable[dict]) -> list[PointingSummary]:
    """Per method (in order of first appearance), over the rows without error: mean energy share, hit
    rate and seconds per cell. Both scores are at chance at :data:`CHANCE` = 0.25."""
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        if not row.get("error"):
            grouped.setdefault(row["method"], []).append(row)
    return [
        PointingSummary(
            method=method,
            cells=len(items),
            energy_share=float(np.mean([_number(r, "energy_share") for r in items])),
            hit_rate=float(np.mean([_number(r, "hit") for r in items])),
            seconds_per_cell=float(np.mean([_number(r, "seconds") for r in items])),
            kind="baseline" if is_baseline(method) else "method",
            per_image={
                "energy_share": {(int(r["grid"]), int(r["cell"])): float(r["energy_share"]) for r in items},
                "hit_rate": {(int(r["grid"]), int(r["cell"])): float(r["hit"]) for r in items},
            },
        )
        for method, items in grouped.items()
    ]


def _number(row: dict, column: str) -> float:
    """A score of a row without error; an empty one means the file was damaged or edited."""
    try:
        return float(row[column])
    except (KeyError, ValueError):
        raise InvalidParameterError(f"The {row.get('method')} row of grid {row.get('grid')} cell {row.get('cell')} has no {column} and no error; the file is damaged.") from None


def pointing_markdown(summaries: Sequence[PointingSummary]) -> str:
    """Methods as rows, each mean with its 95 % interval (bootstrap over grids), the chance line last, then
    whether the best method's energy share is ahead of the runner-up's (paired over cells, grids resampled)."""
    lines = [
        "| method | energy share (higher is better) | hit rate (higher is better) | cells | seconds per cell |",
        "|---|---|---|---|---|",
    ]
    for s in summaries:
        cells = [f"{getattr(s, name):.3f}" + _interval_text(s.interval(name)) for name in ("energy_share", "hit_rate")]
        lines.append(f"| {_name(s.method)} | {cells[0]} | {cells[1]} | {s.cells} | {s.seconds_per_cell:.3f} |")
    lines.append(f"| chance (2×2 grid) | {CHANCE:.3f} | {CHANCE:.3f} | | |")
    lines += ["", "Each mean is followed by its 95 % interval (percentile bootstrap over grids, seeded)."]
    found = leader(summaries, "energy_share", True, group=by_grid)
    if found is not None and found.runner_up is not None:
        lines.append(leader_sentence(found, "Energy share", _name))
    by = {s.method: s for s in summaries}
    if "gradpp_scorecam" in by and "scorecam" in by:
        gap, outcome = versus(by["gradpp_scorecam"], by["scorecam"], "energy_share", True, group=by_grid)
        lines.append(versus_sentence("gradpp_scorecam", "scorecam", "energy share", gap, outcome, _name))
    return "\n".join(lines)


def _interval_text(interval: Interval) -> str:
    return f" [{interval.low:.3f}, {interval.high:.3f}]" if math.isfinite(interval.low) else ""


def _name(key: str) -> str:
    try:
        return display_name(key)
    except CamlibError:
        return key
