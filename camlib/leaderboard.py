"""Every method of one model and layer on one leaderboard: each figure a mean over images with its 95 %
bootstrap interval (:mod:`camlib.intervals`), ranks only where paired intervals separate the methods, and
the Pareto front of faithfulness (insertion − deletion) against cost (seconds per map).

:func:`build_leaderboard` joins, per image and method, several ``camlib evaluate`` CSVs of one model (files
with different method sets, e.g. the paper's six and the added nine), ``camlib pointing-game`` CSVs and a
table of seconds per map. Files whose configuration lines disagree on the model, the layer, the target, the
half (where recorded) or anything else in :data:`SAME_SETUP` are refused. A method found at two speed
settings becomes two entries (``scorecam@exact``, ``scorecam@fast``); a baseline found twice keeps its first
rows. Every entry is measured on the images that all of them have (:func:`shared_images`). :mod:`camlib.leaderboard_text` turns a :class:`Leaderboard` into tables and measured recommendations.
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from camlib.errors import InvalidParameterError
from camlib.intervals import ABOVE, BELOW, NOTHING, Interval, mean_of, paired_difference, verdict
from camlib.methods import METHODS
from camlib.methods.registry import SPEED_SETTINGS, speed_params
from camlib.pointing import by_grid, read_pointing_rows, summarize_pointing
from camlib.results_file import ResultsError, read_results_file
from camlib.seconds_tables import read_seconds_table
from camlib.summary import summarize

SAME_SETUP = ("backbone", "layer", "target", "half", "weights", "insertion_steps", "pixel_order")
"""Configuration keys that must agree between the joined files (a key absent from every file is fine)."""
FIELDS = ("insertion_minus_deletion", "average_drop_10", "average_drop_25", "average_drop_50", "adcc", "hit_rate",
          "sanity_spearman", "seconds")  # fmt: skip
HIGHER_IS_BETTER = {"insertion_minus_deletion": True, "adcc": True, "hit_rate": True, "sanity_spearman": False,
                    "seconds": False, **{f"average_drop_{p}": False for p in (10, 25, 50)}}  # fmt: skip
EVALUATE_ROWS = "evaluate rows"
MIN_PAIRED = 8
"""Fewest images (pointing cells) two entries must share before an interval may put one ahead of the other."""


@dataclass
class Entry:
    """One method (or baseline) at one speed setting, with its per-image values on each of :data:`FIELDS`."""

    key: str  # the method key, or ``method@speed`` where the method came at two settings
    method: str
    kind: str  # "method" or "baseline"
    speed: str
    params: dict
    source: str  # the evaluate file its rows came from
    values: dict[str, dict[Hashable, float]] = field(default_factory=dict, repr=False)
    sanity: str | None = None  # "passes", "fails", "indistinguishable" or None (not run)
    seconds_from: str = EVALUATE_ROWS

    def interval(self, name: str) -> Interval:
        values = self.values.get(name)
        return mean_of(values, group=by_grid if name == "hit_rate" else None) if values else NOTHING


@dataclass
class Leaderboard:
    model: str
    layer: str
    target: str
    half: str
    entries: list[Entry]
    images: int  # the images every method has (:func:`shared_images`)

    def entry(self, key: str) -> Entry:
        found = next((e for e in self.entries if e.key == key), None)
        if found is None:
            raise InvalidParameterError(f"No {key} on this leaderboard.")
        return found

    @property
    def methods(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "method"]


def difference(first: Entry, second: Entry, name: str) -> Interval:
    """Paired ``first − second`` on ``name`` over the images (pointing cells: grids resampled) both have."""
    a, b = first.values.get(name), second.values.get(name)
    if not a or not b:
        return NOTHING
    return paired_difference(a, b, group=by_grid if name == "hit_rate" else None)


def ahead(first: Entry, second: Entry, name: str) -> bool:
    """``first`` is better than ``second`` on ``name``: the paired interval excludes 0 on the good side."""
    return _side(first, second, name) is True


def _side(first: Entry, second: Entry, name: str) -> bool | None:
    """True: ``first`` is ahead of ``second``; False: behind; None: a tie (or under :data:`MIN_PAIRED` shared images)."""
    gap = difference(first, second, name)
    side = verdict(gap, 0.0) if gap.n >= MIN_PAIRED else None
    if side not in (ABOVE, BELOW):
        return None
    return (side == ABOVE) == HIGHER_IS_BETTER[name]


def ranks(entries: Sequence[Entry], name: str) -> dict[str, int]:
    """Rank on ``name`` = 1 + the number of entries ahead of it by their paired interval; entries that no
    interval separates share a rank (a tie). Where an entry has values but fewer than :data:`MIN_PAIRED`, the
    column gets no ranks at all; entries without values are left out."""
    counts = [len(e.values.get(name) or ()) for e in entries]
    if any(0 < count < MIN_PAIRED for count in counts):
        return {}  # ranks among the well-measured few would read as ranks among all: none in this column
    scored = [e for e, count in zip(entries, counts) if count >= MIN_PAIRED]
    beaten_by = {e.key: 0 for e in scored}
    for i, first in enumerate(scored):
        for second in scored[i + 1 :]:
            side = _side(first, second, name)
            if side is not None:
                beaten_by[(second if side else first).key] += 1
    return {key: 1 + count for key, count in beaten_by.items()}


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """The keys of ``points`` (cost, faithfulness) that no other point dominates (costs no more and is at
    least as faithful, strictly better on one), cheapest first. Points with a NaN are left out."""
    finite = {key: p for key, p in points.items() if all(math.isfinite(v) for v in p)}

    def dominated(key: str) -> bool:
        cost, faith = finite[key]
        return any(c <= cost and f >= faith and (c < cost or f > faith) for other, (c, f) in finite.items() if other != key)

    return sorted((key for key in finite if not dominated(key)), key=lambda key: finite[key])


def front_of(board: Leaderboard) -> list[str]:
    """The Pareto front of the methods (baselines are reference points, not candidates) on mean seconds per
    map against mean insertion − deletion."""
    points = {e.key: (e.interval("seconds").mean, e.interval("insertion_minus_deletion").mean) for e in board.methods}
    return pareto_front(points)


def check_same_setup(configs: Sequence[tuple[str, dict | None]]) -> dict:
    """The files' shared configuration; a :class:`ResultsError` naming the key and the two files where they disagree."""
    first_name, first = configs[0]
    for name, config in configs:
        if config is None:
            raise ResultsError(f"{name} has no camlib-config line, so its model, layer and target cannot be checked; re-run it.")
    for name, config in configs[1:]:
        for key in SAME_SETUP:
            if config.get(key) != first.get(key):
                raise ResultsError(
                    f"{name} and {first_name} disagree on {key} ({config.get(key)!r} against {first.get(key)!r}); "
                    "a leaderboard joins files of one model, layer, target and half only."
                )
    return first


def _entries_of(path: Path, config: dict, rows: list[dict]) -> list[Entry]:
    speed = str(config.get("speed", "exact"))
    entries = []
    for summary in summarize(rows):
        values = {name: dict(summary.per_image.get(name, {})) for name in FIELDS[:5]}
        values["sanity_spearman"] = dict(summary.per_image.get("sanity_spearman", {}))
        values["seconds"] = {row["file"]: float(row["seconds"]) for row in rows
                             if row["method"] == summary.method and not row.get("error") and row.get("seconds")}  # fmt: skip
        params = dict(config.get("params", {}).get(summary.method, {}))
        entries.append(Entry(summary.method, summary.method, summary.kind, speed, params,
                             path.name, values, summary.sanity_verdict))  # fmt: skip
    return entries


def load_evaluations(paths: Sequence[str | os.PathLike]) -> tuple[dict, list[Entry]]:
    """The shared configuration and the entries of several evaluate CSVs of one model and layer."""
    if not paths:
        raise InvalidParameterError("A leaderboard needs at least one evaluate CSV.")
    files = [read_results_file(path) for path in paths]
    config = check_same_setup([(f.path.name, f.config) for f in files])
    shared = shared_images(files)
    if not shared:
        raise ResultsError("The files share no image that every method has: nothing to compare.")
    entries: list[Entry] = []
    for results in files:
        rows = [row for row in results.rows if row["file"] in shared]
        for entry in _entries_of(results.path, results.config, rows):
            same = [e for e in entries if e.method == entry.method]
            if same and entry.kind == "baseline":
                continue  # a baseline ignores the speed setting: its first rows stand
            if any(e.speed == entry.speed for e in same):
                raise ResultsError(
                    f"{entry.method} at the {entry.speed} setting is in {entry.source} and {same[0].source}; keep it in one file."
                )
            entries.append(entry)
    for entry in entries:
        if sum(e.method == entry.method for e in entries) > 1:
            entry.key = f"{entry.method}@{entry.speed}"
    return config, entries


def shared_images(files: Sequence) -> set[str]:
    """The images every method of every file has: means over different images would not compare."""
    images: set[str] | None = None
    for results in files:
        for method in {row["method"] for row in results.rows}:
            found = {row["file"] for row in results.rows if row["method"] == method}
            images = found if images is None else images & found
    return images or set()


def keep_shared_cells(entries: Sequence[Entry]) -> None:
    """Pointing hits only on the cells every pointing entry has (a method run on fewer grids compares on those)."""
    hits = [e.values["hit_rate"] for e in entries if "hit_rate" in e.values]
    shared = set.intersection(*(set(h) for h in hits)) if hits else set()
    for entry in entries:
        if "hit_rate" in entry.values:
            entry.values["hit_rate"] = {cell: hit for cell, hit in entry.values["hit_rate"].items() if cell in shared}


def _check_grid_size(sizes: dict[str, object], name: str, size: object) -> None:
    """Pointing files that record their grid size must record one size (older files record none)."""
    other = next(((first, found) for first, found in sizes.items() if found != size), None) if size is not None else None
    if other is not None:
        raise ResultsError(f"{name} was played on grids of {size} px, {other[0]} on {other[1]} px: not one game.")
    if size is not None:
        sizes[name] = size


def attach_pointing(entries: Sequence[Entry], paths: Iterable[str | os.PathLike], config: dict | None = None) -> None:
    """Each pointing-game method's per-cell hits go to the first entry of that method (the first evaluate
    file's setting where a method came at two). Files are read one by one (older ones have no configuration
    line); they must hold the same grids, and a recorded model or layer must be the evaluate files'."""
    cells: dict[tuple[int, int], str] = {}
    sizes: dict[str, object] = {}  # file -> the grid size it records
    for path in paths:
        results = read_results_file(path)
        _check_grid_size(sizes, Path(path).name, (results.config or {}).get("size"))
        for key in ("backbone", "layer"):
            if results.config and config and results.config.get(key) != config.get(key):
                found = results.config.get(key)
                raise ResultsError(f"{Path(path).name} has {key} {found!r}, the evaluate files {config.get(key)!r}.")
        rows = read_pointing_rows([path])
        for row in rows:
            cell = (int(row["grid"]), int(row["cell"]))
            if cells.setdefault(cell, row["file"]) != row["file"]:
                where = f"grid {cell[0]} cell {cell[1]}"
                raise ResultsError(f"{Path(path).name} holds other grids ({where} is {row['file']}, not {cells[cell]}).")
        for summary in summarize_pointing(rows):
            entry = next((e for e in entries if e.method == summary.method), None)
            if entry is not None and "hit_rate" not in entry.values:
                entry.values["hit_rate"] = dict(summary.per_image["hit_rate"])


def attach_seconds(entries: Sequence[Entry], table: dict[tuple[str, str | None], dict[Hashable, float]], source: str) -> None:
    """Seconds per map from the timing table where it has the method (at the entry's speed, or with no speed
    given) and the entry ran at that speed setting's own parameters (the table times those); the others keep
    the evaluate rows' seconds (e.g. SS-CAM with ``sampled_channels=128`` is not the table's SS-CAM)."""
    for entry in entries:
        if not runs_as_timed(entry):
            continue
        found = table.get((entry.method, entry.speed)) or table.get((entry.method, None))
        if found:
            entry.values["seconds"] = dict(found)
            entry.seconds_from = source


def runs_as_timed(entry: Entry) -> bool:
    """The entry's parameters are those its speed setting gives (what a timing run at that setting used)."""
    if entry.kind != "method" or entry.method not in METHODS or entry.speed not in SPEED_SETTINGS:
        return not entry.params
    return entry.params == speed_params(entry.method, entry.speed)


def build_leaderboard(
    evaluations: Sequence[str | os.PathLike],
    pointing: Iterable[str | os.PathLike] = (),
    seconds: str | os.PathLike | None = None,
    *,
    half: str = "report",
) -> Leaderboard:
    """The leaderboard of one model and layer from its evaluate CSVs, pointing-game CSVs and an optional
    seconds-per-map table (:func:`read_seconds_table`). ``half`` is what the title states where the files
    do not record it; a file that records another half is refused."""
    config, entries = load_evaluations(evaluations)
    recorded = config.get("half")
    if recorded not in (None, half):
        raise ResultsError(f"The evaluate files hold the {recorded} half, not the {half} half.")
    attach_pointing(entries, pointing, config)
    keep_shared_cells(entries)
    if seconds is not None:
        attach_seconds(entries, read_seconds_table(seconds, str(config.get("backbone"))), Path(seconds).name)
    order = sorted(entries, key=lambda e: (e.kind == "baseline", -_mean(e, "insertion_minus_deletion")))
    images = max((len(e.values.get("insertion_minus_deletion", {})) for e in entries), default=0)
    return Leaderboard(str(config.get("backbone")), str(config.get("layer")), str(config.get("target")), half, order, images)


def _mean(entry: Entry, name: str) -> float:
    values = entry.values.get(name)
    return sum(values.values()) / len(values) if values else -math.inf
