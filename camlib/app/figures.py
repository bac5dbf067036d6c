"""What the pages draw and offer for download: overlays, plotly figures, the grid PNG and the raw maps."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from PIL import Image

from camlib.explain import Explanation, MethodResult
from camlib.render import overlay


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
    figure.update_layout(height=220, margin={"l": 0, "r": 0, "t": 24, "b": 0}, title="Top-5 predictions",
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
