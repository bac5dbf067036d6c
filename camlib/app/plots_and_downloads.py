"""What the pages draw and offer for download: overlays, plotly figures, the grid PNG and the raw maps."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from PIL import Image

from camlib.explain import Explanation, MethodResult
from camlib.publication_figures import SCALE_NOTE, FigureRow
from camlib.overlays import colorize, overlay

OWN_SCALE_NOTE = (
    "Each map is scaled to its own range: 0 is that map's lowest value and 1 its highest, so colours compare "
    "places within one map, not strengths between maps."
)
COMMON_SCALE_NOTE = (
    "Common scale: within each method, every row's map is divided by the largest raw value that method reached "
    "in any row, so a weaker class looks weaker. Raw values of different methods are in different units, so "
    "columns still have their own scale."
)
COMMON_SCALE_FIGURE_NOTE = "within each method, all rows on one scale (1 = that method's largest raw value)"


def overlay_tile(display_image: np.ndarray, result: MethodResult, *, opacity: float, colormap: str) -> np.ndarray:
    return overlay(display_image, result.saliency, opacity=opacity, colormap=colormap)


def tile_caption(result: MethodResult) -> str:
    return f"{result.display_name} · {result.seconds:.2f} s"


def predictions_figure(top: list[tuple[int, str, float]], selected: int | None = None) -> go.Figure:
    names = [f"{name} ({index})" for index, name, _ in top][::-1]
    probabilities = [probability for _, _, probability in top][::-1]
    colors = ["#d9480f" if index == selected else "#adb5bd" for index, _, _ in top][::-1]
    figure = go.Figure(go.Bar(x=probabilities, y=names, orientation="h", marker_color=colors,
                              text=[f"{p:.1%}" for p in probabilities], textposition="auto",
                              hovertemplate="%{y}: %{x:.2%}<extra></extra>"))
    figure.update_layout(height=220, margin={"l": 0, "r": 0, "t": 24, "b": 0}, title=f"Top-{len(top)} predictions",
                         xaxis={"range": [0, 1], "tickformat": ".0%"}, yaxis={"automargin": True})
    return figure


def heatmap_figure(saliency: np.ndarray, *, colormap: str, title: str) -> go.Figure:
    """An interactive heatmap of a map; hovering shows the pixel and its value."""
    figure = px.imshow(np.round(saliency.astype(np.float32), 3), zmin=0.0, zmax=1.0, color_continuous_scale=colormap, aspect="equal")
    figure.update_traces(hovertemplate="x=%{x}, y=%{y}<br>value=%{z:.3f}<extra></extra>")
    figure.update_layout(title=title, margin={"l": 0, "r": 0, "t": 32, "b": 0}, height=380, coloraxis_colorbar={"title": "value"})
    return figure


def explanation_of(display_image: np.ndarray, target_class: int, class_names: Sequence[str], top: list, layer: str, results: dict[str, MethodResult]) -> Explanation:
    return Explanation(
        image=display_image,
        target_class=target_class,
        target_name=class_names[target_class],
        top_predictions=top,
        layer=layer,
        results=dict(results),
    )


def grid_png(explanation: Explanation, *, opacity: float, colormap: str, columns: int | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(explanation.grid(opacity=opacity, colormap=colormap, columns=columns)).save(buffer, format="PNG")
    return buffer.getvalue()


def maps_npz(explanation: Explanation, *, backbone_key: str) -> bytes:
    """The raw maps, one (H, W) float32 array per method key, plus the input and what was explained."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        **explanation.maps(),
        input=explanation.image,
        target_class=np.int64(explanation.target_class),
        target_name=np.str_(explanation.target_name),
        backbone=np.str_(backbone_key),
        layer=np.str_(explanation.layer),
    )
    return buffer.getvalue()


def colorbar_strip(colormap: str, *, width: int = 256, height: int = 14) -> np.ndarray:
    """A horizontal colour bar, 0 on the left to 1 on the right, in the overlays' own colours."""
    return np.repeat(colorize(np.linspace(0.0, 1.0, width, dtype=np.float32)[None], colormap), height, axis=0)


def common_maxima(rows: Sequence[dict[str, MethodResult]]) -> dict[str, float]:
    """Per method, the largest raw map value (before normalisation) over the rows compared."""
    maxima: dict[str, float] = {}
    for results in rows:
        for key, result in results.items():
            if result.raw_range is not None:
                maxima[key] = max(maxima.get(key, 0.0), result.raw_range[1])
    return maxima


def on_common_scale(result: MethodResult, maximum: float | None) -> MethodResult:
    """The result with its map in raw units divided by ``maximum`` (a common scale), clipped to [0, 1].

    The stored map is min-max normalised, so the raw map is ``low + map × (high − low)`` with the
    ``raw_range`` the method recorded. Without a raw range or a positive maximum, the result is unchanged.
    """
    if result.saliency is None or result.raw_range is None or not maximum or maximum <= 0:
        return result
    low, high = result.raw_range
    raw = low + result.saliency.astype(np.float32) * (high - low)
    return dataclasses.replace(result, saliency=np.clip(raw / maximum, 0.0, 1.0).astype(np.float32))


def figure_row(label: str, display_image: np.ndarray, results: dict[str, MethodResult]) -> FigureRow:
    """One row of an exported figure: the maps by method name, and why a method has none."""
    return FigureRow(
        label,
        display_image,
        {result.display_name: result.saliency for result in results.values()},
        {result.display_name: result.error or "" for result in results.values() if result.saliency is None},
    )


def class_label(class_names: Sequence[str], target_class: int, probability: float | None) -> str:
    """"tabby (281): 62.1 %", the class with the model's probability for it."""
    text = f"{class_names[target_class]} ({target_class})"
    return f"{text}: {probability:.1%}" if probability is not None else text


def figure_scale_note(common: bool) -> str:
    """The exported figure's line on its scale: the common scale's, else each map's own."""
    return COMMON_SCALE_FIGURE_NOTE if common else SCALE_NOTE


def rendered_methods(results: dict[str, MethodResult]) -> list[str]:
    """The methods that produced a map, in the grid's order."""
    return [key for key, result in results.items() if result.saliency is not None]


def inspected_first(rendered: Sequence[str], preferred: str = "gradpp_scorecam") -> int:
    """The index of the map the inspector opens on: Grad++ScoreCAM's when it rendered, else the first."""
    return list(rendered).index(preferred) if preferred in rendered else 0
