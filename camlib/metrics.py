r"""Faithfulness and complexity metrics for explanation maps.

Average Drop and Average Increase (the Grad-CAM++ paper's, used in the Grad++ScoreCAM paper's Table 1),
insertion / deletion AUC (RISE), Average Drop at a fixed area, Complexity, Coherency and ADCC (Poppi et
al.) and the Gini sparseness (Chalasani et al., as in Quantus). Per-image functions take a map in
[0, 1] at input resolution; the ``evaluate`` module batches the forward passes they need.

For image :math:`i` and class :math:`c`, :math:`Y_i` is the softmax score of :math:`c` on the image and
:math:`O_i` the score of :math:`c` on the image multiplied by its explanation map :math:`M_i` (at input
resolution, values in [0, 1]):

.. math::
    \text{Average Drop} = \frac{100}{N} \sum_i \frac{\max(0, Y_i - O_i)}{Y_i}, \qquad
    \text{Average Increase} = \frac{100}{N} \sum_i [O_i > Y_i + \epsilon]

with :math:`\epsilon` = :data:`INCREASE_TOLERANCE` (1e-5 on a softmax score): a map of all ones leaves
the input unchanged, yet its score can differ from the image's in the sixth decimal (a batched and a
single forward pass round differently; the results CSVs store six decimals), and the paper's strict
:math:`O_i > Y_i` then counted such images as increases (5.6 % of the report half at ``bn2``, 7.2 %
at ``conv_head``, differing by device). In camlib's report tables those rises were at most 1e-6 (the
CSVs' last digit) and the smallest rise of any other row was 6.6e-4, so 1e-5 separates the two.

As in the Grad-CAM++ paper (:math:`E = I \circ M`), the map multiplies the model's input tensor, i.e. the
*normalised* image: where the map is 0 the pixel becomes the dataset mean, which is also what
Score-CAM's masks and torchcam's ``ClassificationMetric`` do.

The module holds the Average Drop family; :mod:`camlib.insertion_deletion` (insertion, deletion, pixel
ranks, fixed-area masks) and :mod:`camlib.map_quality` (Complexity, Coherency, ADCC, sparseness) hold the
others, and every public name of the three is importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from camlib.errors import InvalidParameterError
from camlib.insertion_deletion import (
    CURVE_BATCH,
    FIXED_AREAS,
    MAX_STEPS,
    PIXEL_ORDER,
    class_scores,
    deletion_insertion_auc,
    deletion_insertion_curves,
    gaussian_blur,
    pixel_ranks,
    top_area_masks,
)
from camlib.map_quality import adcc, coherency, complexity, image_drop, map_quality_scores, sparseness

__all__ = [
    "CURVE_BATCH", "FIXED_AREAS", "INCREASE_TOLERANCE", "MAX_STEPS", "PIXEL_ORDER", "ConfidencePair", "adcc",
    "average_drop", "average_increase", "class_scores", "coherency", "complexity", "confidence_pair",
    "deletion_insertion_auc", "deletion_insertion_curves", "gaussian_blur", "image_drop", "map_quality_scores",
    "pixel_ranks", "sparseness", "top_area_masks",
]


@dataclass(frozen=True)
class ConfidencePair:
    """The class score on the image (``base``) and on the image times its map (``masked``), per image."""

    base: np.ndarray  # (N,)
    masked: np.ndarray  # (N,)

    @property
    def average_drop(self) -> float:
        return average_drop(self.base, self.masked)

    @property
    def average_increase(self) -> float:
        return average_increase(self.base, self.masked)


def average_drop(base: Sequence[float] | np.ndarray, masked: Sequence[float] | np.ndarray) -> float:
    """Average Drop in percent: 100/N · Σ max(0, Y − O) / Y."""
    base, masked = _as_pair(base, masked)
    if np.any(base <= 0):
        raise InvalidParameterError("Average Drop needs positive base scores Y.")
    return float(100.0 * np.mean(np.maximum(0.0, base - masked) / base))


INCREASE_TOLERANCE = 1e-5


def average_increase(base: Sequence[float] | np.ndarray, masked: Sequence[float] | np.ndarray) -> float:
    """Average Increase in percent: 100/N · Σ [O > Y + INCREASE_TOLERANCE] (see the module's docstring)."""
    base, masked = _as_pair(base, masked)
    return float(100.0 * np.mean(masked > base + INCREASE_TOLERANCE))


def _as_pair(base, masked) -> tuple[np.ndarray, np.ndarray]:
    base = np.asarray(base, dtype=np.float64).reshape(-1)
    masked = np.asarray(masked, dtype=np.float64).reshape(-1)
    if base.shape != masked.shape or base.size == 0:
        raise InvalidParameterError("Base and masked scores must be non-empty and of equal length.")
    return base, masked


def confidence_pair(
    model: nn.Module,
    inputs: Tensor,
    maps: Tensor | np.ndarray,
    targets: Sequence[int] | Tensor,
) -> ConfidencePair:
    """Softmax scores of each target on ``inputs`` (N, 3, H, W) and on ``inputs * maps`` (maps (N, H, W))."""
    device = next(model.parameters()).device
    inputs = inputs.to(device)
    maps = torch.as_tensor(np.asarray(maps) if not isinstance(maps, Tensor) else maps, dtype=inputs.dtype, device=device)
    if maps.shape != (inputs.shape[0], *inputs.shape[-2:]):
        raise InvalidParameterError(f"Maps of shape {tuple(maps.shape)} do not match inputs {tuple(inputs.shape)}.")
    targets = torch.as_tensor(list(targets) if not isinstance(targets, Tensor) else targets, device=device).long()
    with torch.inference_mode():
        base = model(inputs).float().softmax(dim=1).gather(1, targets[:, None])[:, 0]
        masked = model(inputs * maps[:, None]).float().softmax(dim=1).gather(1, targets[:, None])[:, 0]
    return ConfidencePair(base.cpu().numpy(), masked.cpu().numpy())
