"""Figures for slides and papers: overlays in the paper's layout (one row per image or backbone, one column
per method) with labels and one shared colour bar, as a high-resolution PNG and a vector SVG or PDF.

Drawn with matplotlib's object API (no pyplot, so it is safe from several threads). The colour bar uses the
same colour table as :func:`camlib.render.colorize`, so it matches the overlays exactly.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from camlib.render import colorize, message_tile, overlay

FORMATS = ("png", "svg", "pdf")
PNG_DPI = 200  # about 3300 px wide for six methods: sharp on a slide or a printed page
TILE_WIDTH_INCHES = 2.2  # 440 px at PNG_DPI: every input size is drawn this wide
SCALE_NOTE = "each map scaled to its own maximum (0 = lowest, 1 = highest value of that map)"


@dataclass
class FigureRow:
    """One row of the figure: its label, the input as the model saw it, and each column's map (or why it has none)."""

    label: str
    image: np.ndarray  # (H, W, 3) uint8
    maps: dict[str, np.ndarray | None] = field(default_factory=dict)  # column title -> (h, w) map in [0, 1], or None
    missing: dict[str, str] = field(default_factory=dict)  # column title -> why it has no map


def figure_bytes(
    rows: Sequence[FigureRow],
    *,
    title: str,
    colormap: str = "jet",
    opacity: float = 0.5,
    scale_note: str = SCALE_NOTE,
    file_format: str = "png",
) -> bytes:
    """The figure as PNG (:data:`PNG_DPI` dpi), SVG (text kept as text) or PDF bytes."""
    if file_format not in FORMATS:
        raise ValueError(f"file_format must be one of {FORMATS}")
    from matplotlib import rc_context

    figure = draw_figure(rows, title=title, colormap=colormap, opacity=opacity, scale_note=scale_note)
    buffer = io.BytesIO()
    with rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):  # text stays text, so it can be found and edited
        figure.savefig(buffer, format=file_format, dpi=PNG_DPI if file_format == "png" else 100,
                       metadata={"Software": None} if file_format == "png" else None)
    return buffer.getvalue()


def draw_figure(
    rows: Sequence[FigureRow], *, title: str, colormap: str = "jet", opacity: float = 0.5, scale_note: str = SCALE_NOTE
):
    """The matplotlib ``Figure`` that :func:`figure_bytes` saves.

    Each tile is :data:`TILE_WIDTH_INCHES` wide whatever the model's input size, so the pictures of a
    model trained on 32 × 32 inputs are drawn as large as a 224 × 224 model's, with room for the titles.
    """
    if not rows:
        raise ValueError("a figure needs at least one row")
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize
    from matplotlib.figure import Figure

    columns = list(dict.fromkeys(name for row in rows for name in row.maps))
    height, width = rows[0].image.shape[:2]
    tile_height = TILE_WIDTH_INCHES * height / width
    figure = Figure(figsize=(TILE_WIDTH_INCHES * (len(columns) + 1) + 1.0, tile_height * len(rows) + 0.9),
                    layout="constrained")
    axes = figure.subplots(len(rows), len(columns) + 1, squeeze=False)
    _draw_tiles(axes, rows, columns, colormap=colormap, opacity=opacity)
    table = ListedColormap(colorize(np.linspace(0.0, 1.0, 256, dtype=np.float32)[None], colormap)[0] / 255.0)
    bar = figure.colorbar(ScalarMappable(Normalize(0.0, 1.0), table), ax=axes, location="right", shrink=0.9, aspect=25)
    bar.set_label("map value", fontsize=7)
    bar.ax.tick_params(labelsize=7)
    figure.suptitle(f"{title}\nColours: {scale_note}", fontsize=9)
    return figure


def _draw_tiles(axes, rows: Sequence[FigureRow], columns: list[str], *, colormap: str, opacity: float) -> None:
    """Each row's input, then its overlay (or why it has none) in each column; titles on the first row."""
    for row_index, row in enumerate(rows):
        cells = axes[row_index]
        cells[0].imshow(row.image)
        cells[0].set_ylabel(row.label, fontsize=8)
        if row_index == 0:
            cells[0].set_title("Input", fontsize=9)
        for column_index, name in enumerate(columns, start=1):
            saliency = row.maps.get(name)
            shown = (overlay(row.image, saliency, opacity=opacity, colormap=colormap) if saliency is not None
                     else message_tile(row.missing.get(name, "no map"), row.image.shape[:2]))
            cells[column_index].imshow(shown)
            if row_index == 0:
                cells[column_index].set_title(name, fontsize=9)
    for cell in axes.flat:
        cell.set_xticks([])
        cell.set_yticks([])
