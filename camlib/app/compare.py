"""What the comparison shows beyond the maps themselves: which methods gave the same map on this photo (and why),
where two methods disagree (a signed difference map in a diverging colour map), how many tiles go on a row,
and a layer where the gradient methods part ways.

Plain functions of maps and layer lists, tested with hand-made maps (tests/test_app_compare.py); the page
only draws what they return.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

SAME_MAX_DIFFERENCE = 0.01
"""Two maps (each in [0, 1]) whose largest pixel difference is at most this are the same map."""
NEAR_PEARSON = 0.99
"""Two maps whose Pearson correlation is at least this are nearly the same map."""
MEASURE_TEXT = (
    f"same map: no pixel differs by more than {SAME_MAX_DIFFERENCE} (maps scaled to [0, 1]); "
    f"nearly the same: Pearson correlation ≥ {NEAR_PEARSON} over the pixels of this photo's maps"
)
MAX_TILES_PER_ROW = 8
"""The input and up to seven maps fit on one row of a 1280 × 720 screen (about 120 px a tile beside the sidebar)."""


@dataclass(frozen=True)
class Agreement:
    """How one method's map compares with another's on this photo."""

    max_difference: float
    pearson: float | None  # None where a map is constant

    @property
    def same(self) -> bool:
        return self.max_difference <= SAME_MAX_DIFFERENCE

    @property
    def near(self) -> bool:
        return self.same or (self.pearson is not None and self.pearson >= NEAR_PEARSON)


@dataclass(frozen=True)
class SameAs:
    """A method whose map equals (or nearly equals) an earlier method's: the badge under its tile."""

    method: str
    reference: str
    agreement: Agreement

    def badge(self, names: dict[str, str]) -> str:
        other = names.get(self.reference, self.reference)
        if self.agreement.same:
            return f"= same map as {other}"
        return f"≈ nearly the same map as {other} (r = {self.agreement.pearson:.3f})"


def _on_grid(saliency: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    saliency = np.nan_to_num(saliency.astype(np.float32))
    if saliency.shape != shape:
        saliency = cv2.resize(saliency, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return saliency


def agreement(first: np.ndarray, second: np.ndarray) -> Agreement:
    """The largest pixel difference and the Pearson correlation of two maps (the second resized to the first)."""
    a = _on_grid(first, first.shape).ravel().astype(np.float64)
    b = _on_grid(second, first.shape).ravel().astype(np.float64)
    largest = float(np.max(np.abs(a - b))) if a.size else 0.0
    spread = a.std() * b.std()
    pearson = float(np.mean((a - a.mean()) * (b - b.mean())) / spread) if spread > 1e-12 else None
    return Agreement(largest, pearson)


def same_maps(maps: dict[str, np.ndarray | None]) -> dict[str, SameAs]:
    """For each method whose map is (nearly) the same as an earlier one's in ``maps``' order, the first such method.

    Earlier methods are references: a method matching one is badged, and is not itself a reference, so a
    chain of small differences never makes two distant maps "the same".
    """
    references: list[str] = []
    found: dict[str, SameAs] = {}
    for key, saliency in maps.items():
        if saliency is None:
            continue
        for reference in references:
            measured = agreement(maps[reference], saliency)
            if measured.near:
                found[key] = SameAs(key, reference, measured)
                break
        else:
            references.append(key)
    return found


def identity_reason(layer: str, pooling_layer: str | None) -> str:
    """Why maps coincide, in one sentence: an identity at the layer feeding the pooling, else this photo's data."""
    if pooling_layer is not None and layer == pooling_layer:
        return (
            f"At `{layer}`, the layer followed by global average pooling and one linear layer, the class score's "
            "gradient is the same at every pixel, so gradient methods collapse onto each other: Grad-CAM = CAM, "
            "SmoothGrad-CAM++ = Grad-CAM++ up to its noise, and others (LayerCAM) land on nearly the same map."
        )
    return (f"At `{layer}` the methods differ in principle; on this photo these maps happen to agree "
            f"({MEASURE_TEXT}).")


def difference_map(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``first − second`` on the first's grid, in [−1, 1] (both maps in [0, 1]): where the first is hotter, positive."""
    return np.clip(_on_grid(first, first.shape) - _on_grid(second, first.shape), -1.0, 1.0)


def diverging_colours(difference: np.ndarray) -> np.ndarray:
    """A signed map in [−1, 1] as (H, W, 3) uint8: blue (−1) through white (0) to red (+1)."""
    level = np.clip(np.nan_to_num(difference.astype(np.float32)), -1.0, 1.0)[..., None]
    white, red, blue = np.array([255.0, 255, 255]), np.array([178.0, 24, 43]), np.array([33.0, 102, 172])
    colours = np.where(level >= 0, white + level * (red - white), white - level * (blue - white))
    return np.clip(np.round(colours), 0, 255).astype(np.uint8)


def difference_text(first_name: str, second_name: str, difference: np.ndarray) -> str:
    """What the difference tile shows, with its largest gap either way."""
    return (f"Red: {first_name} is hotter (up to {max(0.0, float(difference.max())):.2f}); blue: {second_name} is hotter "
            f"(up to {max(0.0, -float(difference.min())):.2f}); white: they agree. Both maps on their own [0, 1] scale.")


def grid_columns(tile_count: int, max_columns: int = MAX_TILES_PER_ROW) -> int:
    """Tiles on a row: all of them (the input and every map on one row) up to ``max_columns``, else evenly split."""
    if tile_count <= max_columns:
        return max(1, tile_count)
    rows = -(-tile_count // max_columns)
    return -(-tile_count // rows)


def _grid_cells(shape: Sequence[int]) -> int | None:
    """Cells of a layer's spatial output: (N, C, h, w), or channels last (N, h, w, C); ``None`` for tokens."""
    if len(shape) != 4:
        return None
    channels_last = shape[1] == shape[2] and shape[3] != shape[2]
    return shape[1] * shape[2] if channels_last else shape[2] * shape[3]


def parting_layer(candidates: Sequence[tuple[str, tuple[int, ...], bool]], default: str,
                  units: Collection[str] | None = None) -> str | None:
    """The last layer before the default's stage: the deepest candidate whose output grid is finer than the default's.

    ``candidates`` are (name, output shape, is default) in the order the model runs them, as
    :meth:`camlib.backbones.Backbone.candidate_layers` gives them; only names in ``units`` (when given, e.g.
    :func:`stage_units`) are chosen, so the answer is a whole block or stage, not a layer inside a block. Behind it
    come nonlinear blocks, so the gradient differs from pixel to pixel and the gradient methods part ways. ``None``
    when no layer has a finer grid (a Vision Transformer's tokens, or a model with one stage).
    """
    shapes = {name: shape for name, shape, _ in candidates}
    default_cells = _grid_cells(shapes.get(default, ()))
    if default_cells is None:
        return None
    finer = [name for name, shape, _ in candidates if (cells := _grid_cells(shape)) is not None and cells > default_cells
             and (units is None or name in units)]
    return finer[-1] if finer else None


def stage_units(model: torch.nn.Module) -> set[str]:
    """The model's whole blocks and stages: its own children, and the items of every ``Sequential`` or ``ModuleList``."""
    units = {name for name, _ in model.named_children()}
    for parent_name, parent in model.named_modules():
        if isinstance(parent, torch.nn.Sequential | torch.nn.ModuleList):
            units.update(f"{parent_name}.{name}" if parent_name else name for name, _ in parent.named_children())
    return units


def parting_text(layer: str, pooling_layer: str | None) -> str:
    """What the switch to ``layer`` changes, in one sentence."""
    return (f"At `{layer}`, an earlier stage with a finer grid, nonlinear blocks lie between the layer and the pooling, so "
            f"the gradient varies from pixel to pixel: Grad-CAM, Grad-CAM++ and their kin stop copying CAM, and the maps "
            f"are sharper but noisier" + (f" (CAM stays at `{pooling_layer}`)." if pooling_layer else "."))

