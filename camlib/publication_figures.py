"""Figures for slides and papers: overlays in the paper's layout (one row per image or backbone, one column
per method) with labels and one shared colour bar, as a high-resolution PNG and a vector SVG or PDF.

Drawn with matplotlib's object API (no pyplot, so it is safe from several threads). The colour bar uses the
same colour table as :func:`camlib.overlays.colorize`, so it matches the overlays exactly.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from camlib.overlays import colorize, message_tile, overlay

FORMATS = ("png", "svg", "pdf")
LAYOUTS = ("strip", "slide")
"""strip: one row per image, one column per method (the paper's layout); slide: every tile in a grid near 16 : 9."""
SLIDE_ASPECT = 16 / 9
SLIDE_TITLE_INCHES = 0.25  # room for the title over each tile of a slide
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
    layout: str = "strip",
) -> bytes:
    """The figure as PNG (:data:`PNG_DPI` dpi), SVG (text kept as text) or PDF bytes, in a ``layout`` of :data:`LAYOUTS`.

    In SVG and PDF each picture is embedded at its own pixel size (the size its map was computed at), not
    resampled to the page: the vector file is at least as sharp as the PNG.
    """
    if file_format not in FORMATS:
        raise ValueError(f"file_format must be one of {FORMATS}")
    from matplotlib import rc_context

    figure = draw_figure(rows, title=title, colormap=colormap, opacity=opacity, scale_note=scale_note, layout=layout,
                         native_pixels=file_format != "png")
    buffer = io.BytesIO()
    with rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):  # text stays text, so it can be found and edited
        figure.savefig(buffer, format=file_format, dpi=PNG_DPI if file_format == "png" else 100,
                       metadata={"Software": None} if file_format == "png" else None)
    return buffer.getvalue()


def draw_figure(
    rows: Sequence[FigureRow], *, title: str, colormap: str = "jet", opacity: float = 0.5, scale_note: str = SCALE_NOTE,
    layout: str = "strip", native_pixels: bool = False,
):
    """The matplotlib ``Figure`` that :func:`figure_bytes` saves.

    Each tile is :data:`TILE_WIDTH_INCHES` wide whatever the model's input size, so the pictures of a
    model trained on 32 × 32 inputs are drawn as large as a 224 × 224 model's, with room for the titles.
    With ``native_pixels``, pictures are drawn without interpolation, so a vector file embeds them at their own size.
    """
    if not rows:
        raise ValueError("a figure needs at least one row")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    from matplotlib.figure import Figure

    tiles = [[_tile(row, name, colormap=colormap, opacity=opacity) for name in _columns(rows)] for row in rows]
    height, width = rows[0].image.shape[:2]
    tile_height = TILE_WIDTH_INCHES * height / width
    if layout == "slide":
        grid_rows, grid_columns = slide_grid(sum(len(row) for row in tiles), width / height)
        size = slide_size(*figure_size(grid_rows, grid_columns, tile_height, row_pad=SLIDE_TITLE_INCHES))
    else:
        grid_rows, grid_columns = len(rows), len(tiles[0])
        size = figure_size(grid_rows, grid_columns, tile_height)
    figure = Figure(figsize=size, layout="constrained")
    axes = figure.subplots(grid_rows, grid_columns, squeeze=False)
    if layout == "slide":
        _draw_slide(axes, rows, tiles, interpolation="none" if native_pixels else None)
    else:
        _draw_tiles(axes, rows, tiles, interpolation="none" if native_pixels else None)
    _colour_bar(figure, axes, colormap)
    figure.suptitle(f"{title}\nColours: {scale_note}", fontsize=9)
    return figure


def figure_size(grid_rows: int, grid_columns: int, tile_height: float, row_pad: float = 0.0) -> tuple[float, float]:
    """(width, height) in inches of a grid of tiles :data:`TILE_WIDTH_INCHES` wide, with room for the colour bar and
    the title (and ``row_pad`` for each row's tile titles)."""
    return TILE_WIDTH_INCHES * grid_columns + 1.0, (tile_height + row_pad) * grid_rows + 0.9


def slide_size(width: float, height: float) -> tuple[float, float]:
    """The smallest 16 : 9 page that holds a (width, height) figure: the grid is centred on a whole slide."""
    width = max(width, height * SLIDE_ASPECT)
    return width, width / SLIDE_ASPECT


def slide_grid(tile_count: int, tile_aspect: float = 1.0) -> tuple[int, int]:
    """(rows, columns) for ``tile_count`` tiles of ``tile_aspect`` (width / height) whose figure is nearest 16 : 9."""
    tile_height = TILE_WIDTH_INCHES / tile_aspect

    def distance(columns: int) -> float:
        width, height = figure_size(-(-tile_count // columns), columns, tile_height, row_pad=SLIDE_TITLE_INCHES)
        return abs(np.log(width / height / SLIDE_ASPECT))

    columns = min(range(1, max(1, tile_count) + 1), key=distance)
    return -(-tile_count // columns), columns


def _columns(rows: Sequence[FigureRow]) -> list[str]:
    return ["Input", *dict.fromkeys(name for row in rows for name in row.maps)]


def _tile(row: FigureRow, name: str, *, colormap: str, opacity: float) -> tuple[str, np.ndarray]:
    """A tile's title and picture: the input, a method's overlay, or why the method has no map."""
    if name == "Input":
        return name, row.image
    saliency = row.maps.get(name)
    if saliency is None:
        return name, message_tile(row.missing.get(name, "no map"), row.image.shape[:2])
    return name, overlay(row.image, saliency, opacity=opacity, colormap=colormap)


def _colour_bar(figure, axes, colormap: str) -> None:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize

    table = ListedColormap(colorize(np.linspace(0.0, 1.0, 256, dtype=np.float32)[None], colormap)[0] / 255.0)
    bar = figure.colorbar(ScalarMappable(Normalize(0.0, 1.0), table), ax=axes, location="right", shrink=0.9, aspect=25)
    bar.set_label("map value", fontsize=7)
    bar.ax.tick_params(labelsize=7)


def _draw_tiles(axes, rows: Sequence[FigureRow], tiles: list[list[tuple[str, np.ndarray]]], *, interpolation) -> None:
    """The strip: each row's input, then its overlay (or why it has none) in each column; titles on the first row."""
    for row_index, (row, row_tiles) in enumerate(zip(rows, tiles)):
        axes[row_index][0].set_ylabel(row.label, fontsize=8)
        for column_index, (name, picture) in enumerate(row_tiles):
            axes[row_index][column_index].imshow(picture, interpolation=interpolation)
            if row_index == 0:
                axes[row_index][column_index].set_title(name, fontsize=9)
    _bare(axes)


def _draw_slide(axes, rows: Sequence[FigureRow], tiles: list[list[tuple[str, np.ndarray]]], *, interpolation) -> None:
    """The slide: every tile in reading order, each titled (with its row's label where there are several rows)."""
    cells = list(axes.flat)
    flat = [(name if len(rows) == 1 else f"{row.label} · {name}", picture)
            for row, row_tiles in zip(rows, tiles) for name, picture in row_tiles]
    for cell, (name, picture) in zip(cells, flat):
        cell.imshow(picture, interpolation=interpolation)
        cell.set_title(name, fontsize=9)
    if len(rows) == 1:
        cells[0].set_xlabel(f"maps for {rows[0].label}", fontsize=8)  # what the maps explain, not what the photo shows
    for cell in cells[len(flat):]:
        cell.set_axis_off()
    _bare(axes)


def _bare(axes) -> None:
    for cell in axes.flat:
        cell.set_xticks([])
        cell.set_yticks([])
