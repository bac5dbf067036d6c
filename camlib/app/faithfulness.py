"""Average Drop and Average Increase per method, in the form of the paper's Table 1, from :mod:`camlib.metrics`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from camlib import metrics
from camlib.app.inputs import ImageInput
from camlib.app.maps import MAX_CACHED_MAPS, MapRequest, compute_map_safely, map_request, ordered_methods
from camlib.app.models import shared_model, top_predictions
from camlib.app.settings import Params
from camlib.methods import method_info

AVERAGE_DROP = "Average Drop (%) ↓"
AVERAGE_INCREASE = "Average Increase (%) ↑"
SECONDS = "Seconds per image"


@dataclass(frozen=True)
class FaithfulnessRow:
    image: str
    method_key: str
    target_class: int
    base: float | None  # Y: the class score on the image
    masked: float | None  # O: the class score on the image times its map
    seconds: float
    error: str | None = None


def evaluate_faithfulness(
    images: Sequence[ImageInput],
    backbone_key: str,
    weights_path: str | None,
    layer: str,
    methods: Sequence[str],
    params_for: Callable[[str], Params],
    progress: Callable[[float, str], None] | None = None,
) -> list[FaithfulnessRow]:
    """Each method's map for each image's top-1 class, and the class score with and without the map.

    The score pair feeds :func:`camlib.metrics.average_drop` and :func:`camlib.metrics.average_increase`.
    """
    rows: list[FaithfulnessRow] = []
    methods = ordered_methods(methods)
    steps = max(1, len(images) * len(methods))
    for image_number, image in enumerate(images):
        target = top_predictions(image.digest, backbone_key, weights_path, image.image)[0][0]
        for method_number, method_key in enumerate(methods):
            step = image_number * len(methods) + method_number
            if progress is not None:
                progress(step / steps, f"{image.name}: {method_info(method_key).display_name} ({step + 1} of {steps})")
            request = map_request(image, backbone_key, weights_path, layer, target, method_key, params_for(method_key))
            result = compute_map_safely(request, image)
            if result.saliency is None:
                rows.append(FaithfulnessRow(image.name, method_key, target, None, None, result.seconds, result.error))
                continue
            base, masked = _confidence(request, image.image, result.saliency)
            rows.append(FaithfulnessRow(image.name, method_key, target, base, masked, result.seconds))
    if progress is not None:
        progress(1.0, f"Done: {len(images)} image(s), {len(methods)} method(s)")
    return rows


@st.cache_data(max_entries=MAX_CACHED_MAPS, show_spinner=False)
def _confidence(request: MapRequest, _image: Image.Image, _saliency: np.ndarray) -> tuple[float, float]:
    """Y and O for one map (the map is determined by the request, so it is not hashed)."""
    model = shared_model(request.backbone_key, request.weights_path)
    with model.lock:
        inputs = model.backbone.preprocess(_image)
        pair = metrics.confidence_pair(model.backbone.model, inputs, _saliency[None], [request.target_class])
    return float(pair.base[0]), float(pair.masked[0])


def table_1(rows: Sequence[FaithfulnessRow], methods: Sequence[str]) -> pd.DataFrame:
    """The paper's Table 1 layout: metrics as rows, methods as columns (NaN where a method can't run)."""
    columns = {}
    for method_key in ordered_methods(methods):
        scored = [row for row in rows if row.method_key == method_key and row.base is not None]
        timed = [row.seconds for row in rows if row.method_key == method_key]
        if scored:
            base = [row.base for row in scored]
            masked = [row.masked for row in scored]
            values = [metrics.average_drop(base, masked), metrics.average_increase(base, masked), float(np.mean(timed))]
        else:
            values = [np.nan, np.nan, float(np.mean(timed)) if timed else np.nan]
        columns[method_info(method_key).display_name] = values
    return pd.DataFrame(columns, index=[AVERAGE_DROP, AVERAGE_INCREASE, SECONDS])


def per_image_table(rows: Sequence[FaithfulnessRow], class_names: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "image": row.image,
                "method": method_info(row.method_key).display_name,
                "class": f"{class_names[row.target_class]} ({row.target_class})",
                "Y (score on image)": row.base,
                "O (score on image × map)": row.masked,
                "drop (%)": None if row.base is None else 100.0 * max(0.0, row.base - row.masked) / row.base,
                "seconds": row.seconds,
                "note": row.error or "",
            }
            for row in rows
        ]
    )


def faithfulness_figure(table: pd.DataFrame) -> go.Figure:
    long = table.loc[[AVERAGE_DROP, AVERAGE_INCREASE]].reset_index(names="metric").melt(id_vars="metric", var_name="method", value_name="percent")
    figure = px.bar(long, x="method", y="percent", color="metric", barmode="group", text_auto=".1f",
                    color_discrete_map={AVERAGE_DROP: "#d9480f", AVERAGE_INCREASE: "#1c7ed6"})
    figure.update_layout(yaxis={"title": "%", "range": [0, 100]}, margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=360, legend_title_text="")
    return figure
