r"""Faithfulness metrics: Average Drop and Average Increase (the Grad-CAM++ paper's, used in the
Grad++ScoreCAM paper's Table 1).

For image :math:`i` and class :math:`c`, :math:`Y_i` is the softmax score of :math:`c` on the image and
:math:`O_i` the score of :math:`c` on the image multiplied by its explanation map :math:`M_i` (at input
resolution, values in [0, 1]):

.. math::
    \text{Average Drop} = \frac{100}{N} \sum_i \frac{\max(0, Y_i - O_i)}{Y_i}, \qquad
    \text{Average Increase} = \frac{100}{N} \sum_i [O_i > Y_i]

As in the Grad-CAM++ paper (:math:`E = I \circ M`), the map multiplies the model's input tensor, i.e. the
*normalised* image: where the map is 0 the pixel becomes the dataset mean, which is also what
Score-CAM's masks and torchcam's ``ClassificationMetric`` do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from camlib.errors import InvalidParameterError


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


def average_increase(base: Sequence[float] | np.ndarray, masked: Sequence[float] | np.ndarray) -> float:
    """Average Increase in percent: 100/N · Σ [O > Y]."""
    base, masked = _as_pair(base, masked)
    return float(100.0 * np.mean(masked > base))


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
