"""The grid pointing game's two scores of a map in a cell (energy share, hit) and the rows of one grid
(see :mod:`camlib.pointing` for their definitions)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from camlib.backbones import Backbone
from camlib.baselines import baseline_map, is_baseline
from camlib.errors import CamlibError, InvalidParameterError
from camlib.explain import build_method
from camlib.pointing_grids import Grid


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
