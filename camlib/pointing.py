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

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from camlib.backbones import Backbone
from camlib.baselines import is_baseline
from camlib.dataset import LabelLookup, list_images
from camlib.errors import InvalidParameterError
from camlib.pointing_grids import (  # noqa: F401  (re-exported: the game's public names stay in camlib.pointing)
    CLASSIFY_BATCH, DEFAULT_SIZE, MAX_GRIDS, MAX_SIZE, MIN_PROBABILITY, MIN_SIZE, Grid, ProgressCallback, centre_square,
    check_grid_size, compose_grids, confident_images, grid_boxes, grid_image, grid_input, grid_size,
)
from camlib.pointing_scores import energy_share, pointing_hit, pointing_rows  # noqa: F401
from camlib.pointing_table import CHANCE, PointingSummary, by_grid, pointing_markdown, summarize_pointing  # noqa: F401
from camlib.results import check_resumable, check_some_rows, make_config, open_results, read_results, weights_identity, write_results

POINTING_FIELDS = ["grid", "cell", "file", "target", "method", "energy_share", "hit", "seconds", "error"]
DEFAULT_GRIDS = 50


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
    _check_game_options(grids, methods, shard)
    config = pointing_config(backbone, methods, layer=layer, method_params=method_params, size=size, seed=seed, half=half,
                             min_probability=min_probability)  # fmt: skip
    files = list_images(Path(folder), half=half)
    if not files:
        raise InvalidParameterError(f"No images (.jpg, .png, .webp, .bmp) in {folder}{f' ({half} half)' if half else ''}.")
    if resume:
        check_resumable(out, POINTING_FIELDS, config)  # before any work; open_results checks it again
    candidates = _candidates(backbone, Path(folder), files, min_probability, progress)
    index, count = shard
    mine = compose_grids(candidates, grids, seed=seed)[index::count]
    with open_results(out, POINTING_FIELDS, config, resume=resume) as writer:
        done = {_row_key(row): row["file"] for row in writer.rows}
        for number, grid in enumerate(mine, start=1):
            _check_same_grid(done, grid, out)
            for row in _pending_rows(backbone, grid, methods, done, size=size, layer=layer, params=method_params):
                writer.write(row)
            if progress is not None:
                progress(number, len(mine), f"grid {grid.index}")
    return summarize_pointing(read_pointing_rows([out]))


def _check_game_options(grids: int, methods: Sequence[str], shard: tuple[int, int]) -> None:
    if not 1 <= grids <= MAX_GRIDS:
        raise InvalidParameterError(f"The number of grids must be 1..{MAX_GRIDS}, got {grids}.")
    if not methods:
        raise InvalidParameterError("No method given for the pointing game.")
    index, count = shard
    if count < 1 or not 0 <= index < count:
        raise InvalidParameterError(f"Shard {index}/{count} is invalid: use i/n with 0 <= i < n.")


def _candidates(backbone: Backbone, folder: Path, files, min_probability: float, progress: ProgressCallback | None) -> list:
    """The confidently classified images (matching ``folder/labels.csv`` when there is one), with their class."""
    label_of = LabelLookup(folder, None, classes=backbone.class_names) if (folder / "labels.csv").is_file() else None
    classifying = (lambda done, total, name: progress(done, total, f"classifying {name}")) if progress else None
    return confident_images(backbone, files, min_probability=min_probability, label_of=label_of, progress=classifying)


def _pending_rows(backbone: Backbone, grid: Grid, methods: Sequence[str], done: dict, *, size: int, layer, params) -> list[dict]:
    """The rows of ``grid`` not in ``done`` (a resumed file), computed only for the methods that lack one."""
    pending = [key for key in methods if any((grid.index, cell, key) not in done for cell in range(len(grid.files)))]
    if not pending:
        return []
    inputs, boxes = grid_input(backbone, grid, size)
    rows = pointing_rows(backbone, grid, inputs, boxes, pending, layer=layer, params=params)
    return [row for row in rows if (row["grid"], row["cell"], row["method"]) not in done]


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
