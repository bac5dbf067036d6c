"""How maps are drawn and taken away: the opacity and colormap controls, the colour bar, the figure downloads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from camlib.app.plots_and_downloads import COMMON_SCALE_NOTE, OWN_SCALE_NOTE, colorbar_strip
from camlib.publication_figures import SCALE_NOTE, FigureRow, figure_bytes

LAYOUT_LABELS = {"strip": "Strip (one row per image, as in the paper)", "slide": "Slide (a 16 : 9 grid that fills a slide)"}
from camlib.overlays import COLORMAPS


@dataclass(frozen=True)
class Display:
    opacity: float
    colormap: str


def sidebar_display() -> Display:
    st.sidebar.header("Display")
    opacity = st.sidebar.slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="camlib_opacity", persist_state="session")
    colormap = st.sidebar.selectbox("Colormap", list(COLORMAPS), key="camlib_colormap", persist_state="session")
    return Display(opacity, colormap)


def colour_scale(display: Display, *, common: bool = False) -> None:
    """One colour bar for the grid above it, and what its values mean."""
    left, right = st.columns([1, 2])
    left.image(colorbar_strip(display.colormap), width="stretch")
    left.caption("0 ← map value → 1")
    right.caption(COMMON_SCALE_NOTE if common else OWN_SCALE_NOTE)


def figure_downloads(rows: Callable[[], list[FigureRow]], *, title: str, stem: str, key: str, display: Display,
                     scale_note: str = SCALE_NOTE) -> None:
    """A layout choice (strip or 16 : 9 slide) and download buttons for the figure (PNG at 200 dpi and SVG), drawn
    only when clicked."""
    layout = st.radio("Figure layout", list(LAYOUT_LABELS), format_func=LAYOUT_LABELS.get, horizontal=True,
                      key=f"{key}_layout", persist_state="session")
    first, second = st.columns(2)
    for column, file_format, mime in ((first, "png", "image/png"), (second, "svg", "image/svg+xml")):
        column.download_button(
            f"Download the figure ({file_format.upper()}{', 200 dpi' if file_format == 'png' else ', vector'})",
            lambda file_format=file_format: figure_bytes(rows(), title=title, colormap=display.colormap, opacity=display.opacity,
                                                         scale_note=scale_note, file_format=file_format, layout=layout),
            file_name=f"camlib_figure_{stem}{'_slide' if layout == 'slide' else ''}.{file_format}", mime=mime, on_click="ignore", key=f"{key}_{file_format}",
        )
