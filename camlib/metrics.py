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


def gaussian_blur(inputs: Tensor, kernel_size: int = 11, sigma: float = 5.0) -> Tensor:
    coordinates = torch.arange(kernel_size, dtype=inputs.dtype, device=inputs.device) - kernel_size // 2
    kernel = torch.exp(-(coordinates**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = inputs.shape[1]
    padded = torch.nn.functional.pad(inputs, (kernel_size // 2,) * 4, mode="replicate")
    horizontal = torch.nn.functional.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    return torch.nn.functional.conv2d(horizontal, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


def deletion_insertion_auc(
    model: nn.Module,
    inputs: Tensor,
    saliency: Tensor | np.ndarray,
    target: int,
    *,
    steps: int = 16,
) -> tuple[float, float]:
    """Insertion and deletion AUCs of Petsiuk et al. (RISE, BMVC 2018) for one image (1, 3, H, W).

    Pixels are ranked by saliency, most salient first, and moved in ``steps`` equal steps of
    H·W/steps pixels. **Deletion** starts from the image and replaces pixels with the all-zero
    normalised input (the dataset mean colour); **insertion** starts from a Gaussian blur of the
    image (kernel 11, sigma 5, as in RISE) and puts the original pixels back. Each curve is the
    target's softmax probability after 0, 1, …, ``steps`` steps; its AUC is the trapezoidal area
    over the fraction of pixels moved, in [0, 1]. Returns ``(insertion, deletion)``.
    """
    if steps < 1:
        raise InvalidParameterError("steps must be at least 1.")
    if isinstance(target, bool) or not isinstance(target, int | np.integer) or target < 0:
        raise InvalidParameterError(f"target must be a class index, an integer from 0; got {target!r}.")
    device = next(model.parameters()).device
    image = inputs[:1].to(device)
    height, width = image.shape[-2:]
    saliency = torch.as_tensor(np.asarray(saliency) if not isinstance(saliency, Tensor) else saliency, device=device)
    order = saliency.reshape(-1).float().argsort(descending=True)
    pixel_count = height * width
    rank = torch.empty(pixel_count, dtype=torch.long, device=device)
    rank[order] = torch.arange(pixel_count, device=device)
    rank = rank.view(1, 1, height, width)
    thresholds = torch.linspace(0, pixel_count, steps + 1, device=device).round().long()
    moved = (rank[None] < thresholds.view(-1, 1, 1, 1, 1)).to(image.dtype)[:, 0]  # (steps+1, 1, H, W)

    blurred = gaussian_blur(image)
    deletion_inputs = image * (1 - moved)
    insertion_inputs = blurred * (1 - moved) + image * moved
    curves = []
    with torch.inference_mode():
        for batch in (insertion_inputs, deletion_inputs):
            probabilities = model(batch).float().softmax(dim=1)[:, target]
            curves.append(probabilities.cpu().numpy())
    fractions = np.linspace(0.0, 1.0, steps + 1)
    insertion, deletion = (float(np.trapezoid(curve, fractions)) for curve in curves)
    return insertion, deletion
