"""One row of the evaluation CSV: a method or baseline ready to make maps (:class:`MapSource`), its map of
one image, and every score of that map (see :mod:`camlib.evaluate`)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from camlib.backbones import Backbone
from camlib.baselines import baseline_map, is_baseline
from camlib.errors import CamlibError
from camlib.explain import build_method
from camlib.methods import BaseCAM
from camlib.metrics import FIXED_AREAS, class_scores, deletion_insertion_auc, map_quality_scores, top_area_masks
from camlib.sanity import SANITY_FIELDS, RandomisationCheck
from camlib.summary import kind_of

METRIC_SETS = ("basic", "all")
"""``basic``: the metrics of camlib 0.x (Average Drop / Increase, insertion / deletion); ``all``: every metric."""

AREA_COLUMNS = [f"masked_score_{percent}" for percent in FIXED_AREAS]
CSV_FIELDS = [
    "file", "target", "method", "base_score", "masked_score", "insertion_auc", "deletion_auc", "seconds", "error",
    "kind", "complexity", "coherency", "adcc", "sparseness", *AREA_COLUMNS, *SANITY_FIELDS,
]  # fmt: skip


@dataclass
class MapSource:
    """One method or baseline, ready to make maps; ``error`` says why a method could not be built."""

    key: str
    method: BaseCAM | None = None
    error: str | None = None
    layer: str | None = None
    params: dict | None = None

    def __call__(self, inputs: torch.Tensor, class_index: int) -> np.ndarray:
        if is_baseline(self.key):
            return baseline_map(self.key, *inputs.shape[-2:])
        if self.method is None:
            raise CamlibError(self.error or f"{self.key} could not be built.")
        return np.asarray(self.method(inputs, [class_index])[0], dtype=np.float32)  # on the CPU, from any device


def prepare_sources(
    backbone: Backbone,
    keys: Sequence[str],
    *,
    layer: str | None = None,
    method_params: dict[str, dict] | None = None,
    strict: bool = True,
) -> dict[str, MapSource]:
    """Build each method once. With ``strict`` a method that cannot be built raises; otherwise its
    rows carry the reason as their error."""
    sources = {}
    for key in keys:
        if is_baseline(key):
            sources[key] = MapSource(key)
            continue
        try:
            params = dict((method_params or {}).get(key, {}))
            sources[key] = MapSource(key, build_method(key, backbone, layer=layer, **params), layer=layer, params=params)
        except CamlibError as error:
            if strict:
                raise
            sources[key] = MapSource(key, error=str(error))
    return sources


def map_row(
    backbone: Backbone,
    source: MapSource,
    key: str,
    name: str,
    inputs: torch.Tensor,
    class_index: int,
    base_score: float,
    metrics: str,
    insertion_steps: int,
    sanity: RandomisationCheck | None = None,
) -> dict:
    """One row: the map of ``source`` for this image and its scores (see :data:`CSV_FIELDS`)."""
    row = {"file": name, "target": class_index, "method": key, "kind": kind_of(key)}
    start = time.perf_counter()
    try:
        saliency = source(inputs, class_index)
        seconds = time.perf_counter() - start
        scores = _score_map(backbone, source, inputs, saliency, class_index, base_score, metrics, insertion_steps)
        if sanity is not None:
            checked = sanity.scores(key, saliency, inputs, class_index, layer=source.layer, params=source.params)
            scores.update({column: _cell(value) for column, value in checked.items()})
        return {**row, **scores, "seconds": f"{seconds:.4f}", "error": ""}
    except CamlibError as error:
        return {**row, "error": str(error)}


def _score_map(backbone, source, inputs, saliency, class_index, base_score, metrics, insertion_steps) -> dict:
    """All the scores of one map. The masked inputs (image × map, then the fixed areas) go through the
    model in one batch; the base score Y was computed once for the image."""
    model = backbone.model
    device = inputs.device
    mapped = torch.as_tensor(saliency, dtype=inputs.dtype, device=device)
    masks = [mapped[None]]
    if metrics == "all":
        masks.append(top_area_masks(saliency).to(device=device, dtype=inputs.dtype))
    masked_inputs = inputs * torch.cat(masks)[:, None]
    scores = class_scores(model, masked_inputs, class_index)
    insertion, deletion = deletion_insertion_auc(model, inputs, saliency, class_index, steps=insertion_steps)
    values = {
        "base_score": f"{base_score:.6f}",
        "masked_score": f"{scores[0]:.6f}",
        "insertion_auc": f"{insertion:.6f}",
        "deletion_auc": f"{deletion:.6f}",
    }
    if metrics == "all":
        values.update({column: f"{score:.6f}" for column, score in zip(AREA_COLUMNS, scores[1:])})
        on_masked = source(masked_inputs[:1], class_index)
        quality = map_quality_scores(saliency, on_masked, base_score, float(scores[0]))
        values.update({column: _cell(value) for column, value in quality.items()})
    return values


def _cell(value: float) -> str:
    return f"{value:.6f}" if math.isfinite(value) else ""
