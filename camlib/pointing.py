"""Grid pointing game: does the map of one class land on the image of that class among four?

Böhle et al., "Convolutional dynamic alignment networks for interpretable classifications", CVPR 2021,
and Rao et al., "Towards better understanding attribution methods", CVPR 2022 (the grid pointing game
and its energy-based score). Four images, each classified confidently on its own and of four
different classes, are put in a 2 x 2 grid; for the class of each cell the method explains the whole
grid, and two numbers are kept:

- **energy share** (Rao's energy pointing game; Quantus ``AttributionLocalisation`` with
  ``weighted=False``): ``sum(max(S, 0) inside the cell) / sum(max(S, 0))``. Quantus's ``abs`` and
  ``normalise`` (divide by the maximum) leave this unchanged on camlib's non-negative maps; on maps with
  negative values camlib clips them, as Quantus's ``positive_attributions=True`` does. A uniform map, or any map spread evenly over
  the four cells, scores the chance level 0.25; a perfect map scores 1. A map with no positive value
  scores 0 (Quantus: 0 / (0 + 1e-9) = 0 too).
- **hit** (the pointing game of Zhang et al., "Top-down neural attention by excitation backprop",
  ECCV 2016; Quantus ``PointingGame``): the map's maximum lies in the cell. When several pixels share
  the maximum, camlib takes the first in reading order (row by row), so a uniform map hits exactly one
  cell of four (chance, 0.25); Quantus instead counts a hit for every cell that holds any maximum, so a
  uniform map would hit all four. The two agree whenever the maximum is unique. A map with no positive
  value points nowhere: no hit.

A map that ignores the target class (any of camlib's baselines) scores chance exactly, averaged over
the four cells of a grid: its four energy shares sum to 1 and its one maximum lies in one cell. So a
broad or centred map cannot beat 0.25 here; only a map that moves with the class can.

Grids: each image is centre-cropped to a square (the shorter side, so nothing is squashed) and resized
to a ``size/2`` cell; the same crop, at the backbone's input size, is what :func:`confident_images`
classifies. Cells go row by row: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right; boxes are
``(top, left, bottom, right)`` with bottom and right exclusive. Composition is deterministic from the
seed (:func:`compose_grids`).

Results go to a CSV as each grid is done, as :mod:`camlib.evaluate` does: ``resume=True`` skips the
(grid, cell, method) rows already there, ``shard=(i, n)`` keeps every n-th grid starting at i (every
shard composes the same grids first), and :func:`merge_pointing` joins shard CSVs.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from camlib.backbones import Backbone
from camlib.baselines import baseline_map, is_baseline
from camlib.dataset import LabelLookup, list_images
from camlib.errors import CamlibError, InvalidParameterError
from camlib.explain import build_method, display_name
from camlib.images import load_image
from camlib.intervals import NOTHING, Interval, mean_of
from camlib.verdicts import leader, leader_sentence, versus, versus_sentence
from camlib.results import check_resumable, check_some_rows, make_config, open_results, read_results, weights_identity, write_results

POINTING_FIELDS = ["grid", "cell", "file", "target", "method", "energy_share", "hit", "seconds", "error"]
CHANCE = 0.25
"""Energy share of a map spread evenly over a 2 x 2 grid, and hit rate of a pointer that picks a cell at random."""
DEFAULT_GRIDS = 50
DEFAULT_SIZE = 448
"""The grid of a 224-pixel model; :func:`grid_size` gives each model's (twice its input size)."""
MIN_PROBABILITY = 0.5
MAX_GRIDS = 100_000
MIN_SIZE, MAX_SIZE = 32, 1024
"""Grid sides accepted: four copies of a 1024-pixel grid go through the model in one batch."""
CLASSIFY_BATCH = 16
HALVES = ("tuning", "report")

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Grid:
    """Four images of four different classes, row by row (top-left, top-right, bottom-left, bottom-right)."""

    index: int
    files: tuple[Path, ...]
    classes: tuple[int, ...]


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


# -- which images -----------------------------------------------------------------------------------


def centre_square(image: Image.Image, side: int) -> np.ndarray:
    """The centred square of the shorter side, resized (bilinear) to ``side`` x ``side``: (side, side, 3) uint8."""
    image = image.convert("RGB")
    width, height = image.size
    short = min(width, height)
    left, top = (width - short) // 2, (height - short) // 2
    square = image.crop((left, top, left + short, top + short))
    return np.asarray(square.resize((side, side), Image.Resampling.BILINEAR))


def confident_images(
    backbone: Backbone,
    files: Sequence[str | os.PathLike],
    *,
    min_probability: float = MIN_PROBABILITY,
    label_of: Callable[[Path], int] | None = None,
    progress: ProgressCallback | None = None,
) -> list[tuple[Path, int]]:
    """The images whose top-1 probability is at least ``min_probability`` (and whose top-1 class is
    ``label_of(path)`` when given), with that class; each image classified alone, as its centre square
    at the backbone's input size, in batches of :data:`CLASSIFY_BATCH`."""
    if not 0.0 <= min_probability <= 1.0:
        raise InvalidParameterError(f"min_probability must lie in [0, 1], got {min_probability}.")
    paths = [Path(file) for file in files]
    side = backbone.spec.input_size
    kept: list[tuple[Path, int]] = []
    for start in range(0, len(paths), CLASSIFY_BATCH):
        batch = paths[start : start + CLASSIFY_BATCH]
        inputs = torch.cat([backbone.to_tensor(centre_square(load_image(path), side)) for path in batch])
        values, classes = backbone.probabilities(inputs).max(dim=1)
        for path, value, cls in zip(batch, values.tolist(), classes.tolist()):
            if value >= min_probability and (label_of is None or label_of(path) == cls):
                kept.append((path, int(cls)))
        if progress is not None:
            progress(start + len(batch), len(paths), batch[-1].name)
    return kept


def compose_grids(candidates: Iterable[tuple[str | os.PathLike, int]], count: int, *, seed: int = 0) -> list[Grid]:
    """``count`` grids of four images of four different classes, the same for the same seed and candidates.

    The candidates are sorted by path, then drawn without replacement from a seeded shuffle. When the
    unused ones cannot complete the current grid with a class it does not have yet, a new shuffled pass
    over all candidates begins: an image is reused only once (nearly) every image has been used, and
    never twice in one grid.
    """
    if not 1 <= count <= MAX_GRIDS:
        raise InvalidParameterError(f"The number of grids must be 1..{MAX_GRIDS}, got {count}.")
    by_path: dict[Path, int] = {}
    for path, cls in candidates:
        by_path.setdefault(Path(path), int(cls))
    ordered = sorted(by_path.items(), key=lambda item: str(item[0]))
    classes = {cls for _, cls in ordered}
    if len(classes) < 4:
        raise InvalidParameterError(
            f"A grid needs confidently classified images of four different classes; found {len(ordered)} image(s) "
            f"of {len(classes)} class(es). Use more images or a lower minimum probability."
        )
    generator = np.random.default_rng(seed)

    def shuffled() -> list[tuple[Path, int]]:
        return [ordered[i] for i in generator.permutation(len(ordered))]

    pool = shuffled()
    grids: list[Grid] = []
    while len(grids) < count:
        chosen: list[tuple[Path, int]] = []
        while len(chosen) < 4:
            taken = {cls for _, cls in chosen}
            pick = next((i for i, (_, cls) in enumerate(pool) if cls not in taken), None)
            if pick is None:
                pool = [item for item in shuffled() if item not in chosen]
                continue
            chosen.append(pool.pop(pick))
        grids.append(Grid(index=len(grids), files=tuple(p for p, _ in chosen), classes=tuple(c for _, c in chosen)))
    return grids


# -- one grid ---------------------------------------------------------------------------------------


def check_grid_size(size: int) -> int:
    if not (MIN_SIZE <= size <= MAX_SIZE and size % 2 == 0):
        raise InvalidParameterError(f"--size must be an even number of pixels in {MIN_SIZE}..{MAX_SIZE}, got {size}.")
    return size


def grid_size(backbone: Backbone, size: int | None) -> int:
    """The grid's side: ``size``, else twice the model's input size (each cell at the input size); a
    fixed-size model (a ViT) takes only its input size, so its grid is that size."""
    side = backbone.spec.input_size
    if backbone.spec.fixed_size:
        if size not in (None, side):
            raise InvalidParameterError(f"{backbone.spec.display_name} takes only {side}×{side} inputs: the grid must be {side} pixels, not {size}.")
        return side
    return 2 * side if size is None else size


def grid_boxes(size: int) -> list[tuple[int, int, int, int]]:
    """The four cells of a ``size`` x ``size`` grid as (top, left, bottom, right), row by row."""
    cell = check_grid_size(size) // 2
    return [(row * cell, col * cell, (row + 1) * cell, (col + 1) * cell) for row in (0, 1) for col in (0, 1)]


def grid_image(grid: Grid, size: int = DEFAULT_SIZE) -> np.ndarray:
    """The grid as one (size, size, 3) uint8 picture: each image's centre square in its cell."""
    boxes = grid_boxes(size)
    picture = np.zeros((size, size, 3), dtype=np.uint8)
    for path, (top, left, bottom, right) in zip(grid.files, boxes):
        picture[top:bottom, left:right] = centre_square(load_image(path), bottom - top)
    return picture


def grid_input(backbone: Backbone, grid: Grid, size: int = DEFAULT_SIZE) -> tuple[torch.Tensor, list[tuple[int, int, int, int]]]:
    """The grid normalised as the backbone expects, (1, 3, size, size), and its four cell boxes."""
    return backbone.to_tensor(grid_image(grid, size)), grid_boxes(size)


def _check_map_and_box(saliency: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    saliency = np.asarray(saliency, dtype=np.float64)
    if saliency.ndim != 2 or saliency.size == 0:
        raise InvalidParameterError(f"A saliency map must be (H, W), got shape {saliency.shape}.")
    if not np.isfinite(saliency).all():
        raise InvalidParameterError("The saliency map holds NaN or infinite values.")
    top, left, bottom, right = box
    height, width = saliency.shape
    if not (0 <= top < bottom <= height and 0 <= left < right <= width):
        raise InvalidParameterError(f"Box {tuple(box)} (top, left, bottom, right) is empty or outside a {height}×{width} map.")
    return saliency


def energy_share(saliency: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Share of the map's positive mass inside ``box``: ``sum(max(S,0)[box]) / sum(max(S,0))``, 0 if no mass."""
    saliency = _check_map_and_box(saliency, box)
    positive = np.clip(saliency, 0.0, None)
    total = positive.sum()
    if total <= 0:
        return 0.0
    top, left, bottom, right = box
    return float(positive[top:bottom, left:right].sum() / total)


def pointing_hit(saliency: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Whether the map's maximum (the first in reading order on ties) lies inside ``box``; never for a
    map without a positive value."""
    saliency = _check_map_and_box(saliency, box)
    if saliency.max() <= 0:
        return False
    row, col = np.unravel_index(int(np.argmax(saliency)), saliency.shape)
    top, left, bottom, right = box
    return bool(top <= row < bottom and left <= col < right)


def pointing_rows(
    backbone: Backbone,
    grid: Grid,
    inputs: torch.Tensor,
    boxes: Sequence[tuple[int, int, int, int]],
    keys: Sequence[str],
    *,
    layer: str | None = None,
    params: dict[str, dict] | None = None,
) -> list[dict]:
    """One row per key (method or baseline) and cell: the map of the cell's class over the whole grid,
    its energy share and hit in that cell. ``params`` maps a method key to its settings.

    A method explains the four cells in one batch (the grid four times, one class each), which gives the
    same maps as :func:`camlib.explain.compute_map` per cell; ``seconds`` is a quarter of that call.
    A method that cannot run gives four rows with its error.
    """
    if len(boxes) != len(grid.files):
        raise InvalidParameterError(f"Got {len(boxes)} boxes for a grid of {len(grid.files)} images.")
    rows = []
    for key in keys:
        start = time.perf_counter()
        error = ""
        try:
            maps = _cell_maps(key, backbone, inputs, grid.classes, layer, (params or {}).get(key))
        except CamlibError as caught:
            maps, error = None, str(caught)
        seconds = (time.perf_counter() - start) / len(grid.files)
        for cell, (path, cls, box) in enumerate(zip(grid.files, grid.classes, boxes)):
            row = {"grid": grid.index, "cell": cell, "file": path.name, "target": cls, "method": key}
            if maps is None:
                rows.append({**row, "energy_share": "", "hit": "", "seconds": "", "error": error})
            else:
                rows.append(
                    {
                        **row,
                        "energy_share": f"{energy_share(maps[cell], box):.6f}",
                        "hit": str(int(pointing_hit(maps[cell], box))),
                        "seconds": f"{seconds:.4f}",
                        "error": "",
                    }
                )
    return rows


def _cell_maps(key: str, backbone: Backbone, inputs: torch.Tensor, classes: Sequence[int], layer, params) -> np.ndarray:
    if is_baseline(key):
        return np.stack([baseline_map(key, *inputs.shape[-2:])] * len(classes))
    method = build_method(key, backbone, layer=layer, **(params or {}))
    return method(inputs.repeat(len(classes), 1, 1, 1), list(classes))


# -- a folder ---------------------------------------------------------------------------------------


# Over 50 lines: 14 parameters (mostly the CLI options) and their docs; the body is checks, then one loop.
def pointing_game_folder(
    backbone: Backbone,
    folder: str | os.PathLike,
    *,
    methods: Sequence[str],
    out: str | os.PathLike,
    grids: int = DEFAULT_GRIDS,
    size: int | None = None,
    seed: int = 0,
    resume: bool = False,
    shard: tuple[int, int] = (0, 1),
    half: str | None = None,
    layer: str | None = None,
    method_params: dict[str, dict] | None = None,
    min_probability: float = MIN_PROBABILITY,
    progress: ProgressCallback | None = None,
) -> list[PointingSummary]:
    """Play the grid pointing game with ``methods`` (and baselines) on ``grids`` grids from ``folder``.

    Images come from the chosen ``half`` (:func:`camlib.dataset.list_images`); those classified with probability at
    least ``min_probability`` are the candidates (when ``folder/labels.csv`` exists, the top-1 class
    must also be the label). Every shard classifies all of them and composes the same grids, then keeps
    every n-th grid. Rows are appended to ``out`` after each grid. ``progress(done, total, item)``
    follows the classification (item ``"classifying NAME"``), then the grids (item ``"grid k"``).
    """
    size = check_grid_size(grid_size(backbone, size))
    if not 1 <= grids <= MAX_GRIDS:
        raise InvalidParameterError(f"The number of grids must be 1..{MAX_GRIDS}, got {grids}.")
    if not methods:
        raise InvalidParameterError("No method given for the pointing game.")
    index, count = shard
    if count < 1 or not 0 <= index < count:
        raise InvalidParameterError(f"Shard {index}/{count} is invalid: use i/n with 0 <= i < n.")
    config = pointing_config(backbone, methods, layer=layer, method_params=method_params, size=size, seed=seed, half=half,
                             min_probability=min_probability)  # fmt: skip
    folder = Path(folder)
    files = list_images(folder, half=half)
    if not files:
        raise InvalidParameterError(f"No images (.jpg, .png, .webp, .bmp) in {folder}{f' ({half} half)' if half else ''}.")
    if resume:
        check_resumable(out, POINTING_FIELDS, config)  # before any work; open_results checks it again
    label_of = LabelLookup(folder, None, classes=backbone.class_names) if (folder / "labels.csv").is_file() else None
    classifying = (lambda done, total, name: progress(done, total, f"classifying {name}")) if progress else None
    candidates = confident_images(backbone, files, min_probability=min_probability, label_of=label_of, progress=classifying)
    mine = compose_grids(candidates, grids, seed=seed)[index::count]
    with open_results(out, POINTING_FIELDS, config, resume=resume) as writer:
        done = {_row_key(row): row["file"] for row in writer.rows}
        for number, grid in enumerate(mine, start=1):
            _check_same_grid(done, grid, out)
            pending = [key for key in methods if any((grid.index, cell, key) not in done for cell in range(len(grid.files)))]
            if pending:
                inputs, boxes = grid_input(backbone, grid, size)
                for row in pointing_rows(backbone, grid, inputs, boxes, pending, layer=layer, params=method_params):
                    if (row["grid"], row["cell"], row["method"]) not in done:
                        writer.write(row)
            if progress is not None:
                progress(number, len(mine), f"grid {grid.index}")
    return summarize_pointing(read_pointing_rows([out]))


def pointing_config(backbone: Backbone, methods: Sequence[str], *, layer, method_params, size, seed, half, min_probability) -> dict:
    """What a pointing-game CSV's first line records: the model (its description when it is not a
    built-in), its weights, layer and method parameters, and what makes the grids; a resume or a
    merge with another configuration is refused."""
    return make_config(
        backbone=backbone.key, layer=layer or backbone.default_layer,
        weights=weights_identity(backbone.weights_path, backbone.weights_source),
        method_params={key: (method_params or {}).get(key, {}) for key in methods if not is_baseline(key)},
        game="grid pointing", size=size, seed=seed, half=half, min_probability=min_probability,
        **({} if backbone.spec.builtin else {"model": backbone.description()}),
    )  # fmt: skip


def _row_key(row: dict) -> tuple[int, int, str]:
    """(grid, cell, method) of a row (the reader has checked that grid and cell are numbers)."""
    try:
        return int(float(row["grid"])), int(float(row["cell"])), row["method"]
    except (ValueError, OverflowError):
        raise InvalidParameterError(f"A pointing-game row of {row.get('file', '?')} has no grid or cell number; the file is damaged.") from None


def _check_same_grid(done: dict[tuple[int, int, str], str], grid: Grid, out) -> None:
    names = {(grid_index, cell): name for (grid_index, cell, _), name in done.items() if grid_index == grid.index}
    for cell, path in enumerate(grid.files):
        name = names.get((grid.index, cell))
        if name is not None and name != path.name:
            raise InvalidParameterError(
                f"{out} holds other grids (grid {grid.index} cell {cell} is {name}, now {path.name}): "
                "it was written with another seed, number of grids, half or image folder. Use another --out."
            )


def read_pointing_rows(paths: Iterable[str | os.PathLike]) -> list[dict]:
    """Rows of one or more pointing-game CSVs; a (grid, cell, method) seen twice keeps its last row."""
    return _read_pointing(paths)[0]


def _read_pointing(paths: Iterable[str | os.PathLike]) -> tuple[list[dict], dict | None]:
    """The rows of :func:`read_pointing_rows` and the files' common configuration (they must agree):
    :func:`camlib.results.read_results`, keyed by (grid, cell, method)."""
    rows, config = read_results(paths, key=_pointing_key)
    return sorted(rows, key=_row_key), config


def _pointing_key(row: dict) -> tuple[int, int, str]:
    if "grid" not in row or "cell" not in row:
        raise InvalidParameterError(f"Row of {row.get('file', '?')} is not a pointing-game row: a pointing-game CSV needs the columns grid, cell, method.")
    return _row_key(row)


def merge_pointing(paths: Iterable[str | os.PathLike], out: str | os.PathLike | None = None) -> list[PointingSummary]:
    """Combine shard CSVs (optionally into ``out``) and summarise them."""
    paths = list(paths)
    rows, config = _read_pointing(paths)
    check_some_rows(rows, paths)
    if out is not None:
        write_results(out, POINTING_FIELDS, rows, config)
    return summarize_pointing(rows)


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
