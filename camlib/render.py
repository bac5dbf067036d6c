"""Overlays and the side-by-side grid (the paper's Fig. 2 layout)."""

from __future__ import annotations

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


def _titled(tile: np.ndarray, title: str) -> np.ndarray:
    width = tile.shape[1]
    banner = np.full((TITLE_HEIGHT, width, 3), 255, dtype=np.uint8)
    scale = 0.45 if width < 300 else 0.6
    text = title
    while cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width - 6 and len(text) > 4:
        text = text[:-2]
    cv2.putText(banner, text, (3, TITLE_HEIGHT - 9), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([banner, tile])


def message_tile(text: str, size: tuple[int, int]) -> np.ndarray:
    """A grey tile with wrapped text, for a method that could not run."""
    height, width = size
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
    """Lay titled (H, W, 3) tiles of one size in a grid on white; one row unless ``columns`` is given."""
    if not tiles:
        raise ValueError("grid needs at least one tile")
    titled = [_titled(tile, title) for title, tile in tiles]
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
    """(height, width) of :func:`grid`'s output for square tiles of ``tile_size``."""
    columns = columns or tile_count
    rows = -(-tile_count // columns)
    return rows * (tile_size + TITLE_HEIGHT) + (rows + 1) * GAP, columns * tile_size + (columns + 1) * GAP
