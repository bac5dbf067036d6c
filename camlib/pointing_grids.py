"""The grid pointing game's grids: which images are confident enough, how four of them are composed into
a 2 x 2 grid, and the grid as a picture and as the model's input (see :mod:`camlib.pointing`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from camlib.backbones import Backbone
from camlib.errors import InvalidParameterError
from camlib.images import load_image

DEFAULT_SIZE = 448
"""The grid of a 224-pixel model; :func:`grid_size` gives each model's (twice its input size)."""
MIN_PROBABILITY = 0.5
MAX_GRIDS = 100_000
MIN_SIZE, MAX_SIZE = 32, 1024
"""Grid sides accepted: four copies of a 1024-pixel grid go through the model in one batch."""
CLASSIFY_BATCH = 16

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Grid:
    """Four images of four different classes, row by row (top-left, top-right, bottom-left, bottom-right)."""

    index: int
    files: tuple[Path, ...]
    classes: tuple[int, ...]


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
