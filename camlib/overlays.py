"""Overlays and the side-by-side grid (the paper's Fig. 2 layout).

A model trained on small pictures (the example ``digits`` model sees 32 × 32) gives tiles too small to
read: :func:`grid` enlarges every tile whose shorter side is under :data:`MIN_DISPLAY_SIDE` by a whole
factor, pixel for pixel (nearest neighbour), so each pixel of the model's input stays a square of one
colour and the column titles have room. Only the picture grows; the maps are not touched.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

COLORMAPS = {
    "jet": cv2.COLORMAP_JET,
    "turbo": cv2.COLORMAP_TURBO,
    "inferno": cv2.COLORMAP_INFERNO,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "hot": cv2.COLORMAP_HOT,
}

TITLE_HEIGHT = 28
GAP = 4
MIN_DISPLAY_SIDE = 224
"""Tiles whose shorter side is smaller are enlarged for display by a whole factor to reach at least this."""
MAX_DISPLAY_SIDE = 2048
"""...unless that would make their longer side larger than this (a long, thin tile is enlarged less)."""


def display_factor(height: int, width: int) -> int:
    """The whole factor that brings a (height, width) tile's shorter side to :data:`MIN_DISPLAY_SIDE` or more,
    with its longer side at most :data:`MAX_DISPLAY_SIDE` (1 for a tile that is large enough already)."""
    shorter, longer = max(1, min(height, width)), max(1, height, width)
    return max(1, min(math.ceil(MIN_DISPLAY_SIDE / shorter), MAX_DISPLAY_SIDE // longer))


def display_size(size: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of a tile of ``size`` as :func:`grid` shows it (see :func:`display_factor`)."""
    factor = display_factor(*size)
    return size[0] * factor, size[1] * factor


def enlarge_for_display(picture: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """``picture`` at ``size`` (default :func:`display_size` of its own), nearest neighbour: for display only."""
    height, width = size or display_size(picture.shape[:2])
    if picture.shape[:2] == (height, width):
        return picture
    return cv2.resize(picture, (width, height), interpolation=cv2.INTER_NEAREST)


def colorize(saliency: np.ndarray, colormap: str = "jet") -> np.ndarray:
    """(H, W) map in [0, 1] -> (H, W, 3) uint8 RGB heatmap."""
    levels = np.clip(np.nan_to_num(saliency), 0.0, 1.0)
    bgr = cv2.applyColorMap((levels * 255).astype(np.uint8), COLORMAPS[colormap])
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def overlay(image: np.ndarray, saliency: np.ndarray, *, opacity: float = 0.5, colormap: str = "jet") -> np.ndarray:
    """Blend a heatmap of ``saliency`` over an (H, W, 3) uint8 image; the map is resized to fit."""
    height, width = image.shape[:2]
    if saliency.shape != (height, width):
        saliency = cv2.resize(saliency.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    heat = colorize(saliency, colormap).astype(np.float32)
    blended = (1.0 - opacity) * image.astype(np.float32) + opacity * heat
    return np.clip(blended, 0, 255).astype(np.uint8)


def title_font_scale(width: int) -> float:
    return 0.45 if width < 300 else 0.6


def fitted_title(title: str, width: int) -> str:
    """``title`` as it is written over a tile ``width`` pixels wide: shortened until it fits."""
    scale = title_font_scale(width)
    text = title
    while cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width - 6 and len(text) > 4:
        text = text[:-2]
    return text


def _titled(tile: np.ndarray, title: str) -> np.ndarray:
    width = tile.shape[1]
    banner = np.full((TITLE_HEIGHT, width, 3), 255, dtype=np.uint8)
    text, scale = fitted_title(title, width), title_font_scale(width)
    cv2.putText(banner, text, (3, TITLE_HEIGHT - 9), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([banner, tile])


def message_tile(text: str, size: tuple[int, int]) -> np.ndarray:
    """A grey tile with wrapped text, for a method that could not run, at :func:`display_size` of ``size``
    (the same proportions; larger than ``size`` only where the tile would be too small to read)."""
    height, width = display_size(size)
    tile = np.full((height, width, 3), 235, dtype=np.uint8)
    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if cv2.getTextSize(candidate, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)[0][0] > width - 8 and line:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    for row, content in enumerate(lines[: (height - 10) // 15]):
        cv2.putText(tile, content, (4, 16 + 15 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
    return tile


def grid(tiles: list[tuple[str, np.ndarray]], *, columns: int | None = None) -> np.ndarray:
    """Lay titled (H, W, 3) tiles in a grid on white; one row unless ``columns`` is given.

    Every tile is shown at :func:`display_size` of the first one's size (enlarged, never reduced, for a
    small model input; a :func:`message_tile` already has that size).
    """
    if not tiles:
        raise ValueError("grid needs at least one tile")
    shown = display_size(tiles[0][1].shape[:2])
    titled = [_titled(enlarge_for_display(tile, shown), title) for title, tile in tiles]
    columns = columns or len(titled)
    rows = -(-len(titled) // columns)
    tile_height, tile_width = titled[0].shape[:2]
    canvas = np.full(
        (rows * tile_height + (rows + 1) * GAP, columns * tile_width + (columns + 1) * GAP, 3), 255, dtype=np.uint8
    )
    for index, tile in enumerate(titled):
        row, column = divmod(index, columns)
        top, left = GAP + row * (tile_height + GAP), GAP + column * (tile_width + GAP)
        canvas[top : top + tile_height, left : left + tile_width] = tile
    return canvas


def grid_size(tile_count: int, tile_size: int, columns: int | None = None) -> tuple[int, int]:
    """(height, width) of :func:`grid`'s output for square tiles of ``tile_size`` (as displayed)."""
    columns = columns or tile_count
    rows = -(-tile_count // columns)
    tile_size = display_size((tile_size, tile_size))[0]
    return rows * (tile_size + TITLE_HEIGHT) + (rows + 1) * GAP, columns * tile_size + (columns + 1) * GAP


def slide_columns(tile_count: int, size: tuple[int, int], aspect: float = 16 / 9) -> int:
    """The columns that make :func:`grid`'s output for ``tile_count`` tiles of ``size`` (height, width) nearest ``aspect``
    (16 : 9, a slide): the ``--layout slide`` of ``camlib explain``."""
    height, width = display_size(size)

    def distance(columns: int) -> float:
        rows = -(-tile_count // columns)
        total_width = columns * width + (columns + 1) * GAP
        total_height = rows * (height + TITLE_HEIGHT) + (rows + 1) * GAP
        return abs(math.log(total_width / total_height / aspect))

    return min(range(1, max(1, tile_count) + 1), key=distance)
