"""Metrics that move pixels in the order of a map: insertion and deletion (RISE) and the fixed-area masks.

Part of :mod:`camlib.metrics`, which re-exports every public name here. Every function ranks pixels
with :func:`pixel_ranks` (ties in raster order), so the results are the same on every device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from camlib.errors import InvalidParameterError
from camlib.map_quality import map_array

MAX_STEPS = 1024
"""The most steps :func:`deletion_insertion_auc` takes (RISE moved 224 pixels a step at 224 × 224, 224
steps). There are never more steps than pixels (each step moves at least one); the work grows with the
number of steps (2 · (steps + 1) images through the model), its memory does not (:data:`CURVE_BATCH`)."""

CURVE_BATCH = 32
"""Images per forward pass along the insertion and deletion curves; the default 16 steps take one pass each."""

FIXED_AREAS: tuple[int, ...] = (10, 25, 50)
"""Percentages of the image kept by the fixed-area Average Drop."""

PIXEL_ORDER = "stable, ties in raster order"
"""How :func:`pixel_ranks` orders pixels, recorded in every results CSV: rows ranked another way
(camlib before 2026-11-26 sorted unstably on the map's device) are not mixed with these."""


def gaussian_blur(inputs: Tensor, kernel_size: int = 11, sigma: float = 5.0) -> Tensor:
    coordinates = torch.arange(kernel_size, dtype=inputs.dtype, device=inputs.device) - kernel_size // 2
    kernel = torch.exp(-(coordinates**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = inputs.shape[1]
    padded = torch.nn.functional.pad(inputs, (kernel_size // 2,) * 4, mode="replicate")
    horizontal = torch.nn.functional.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    return torch.nn.functional.conv2d(horizontal, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


def check_steps(steps, pixel_count: int = MAX_STEPS, *, name: str = "steps") -> int:
    """``steps`` if it is a whole number from 1 to min(:data:`MAX_STEPS`, ``pixel_count``); else one clear
    error that calls it ``name``."""
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer):
        raise InvalidParameterError(f"{name} must be a whole number, got {steps!r}.")
    most = min(MAX_STEPS, pixel_count)
    if not 1 <= steps <= most:
        reason = f"the image has {pixel_count} pixels" if pixel_count < MAX_STEPS else f"at most {MAX_STEPS} steps are taken"
        raise InvalidParameterError(f"{name} must be from 1 to {most} ({reason}), got {steps}.")
    return int(steps)


def check_target(target) -> int:
    if isinstance(target, bool) or not isinstance(target, int | np.integer) or target < 0:
        raise InvalidParameterError(f"target must be a class index, an integer from 0; got {target!r}.")
    return int(target)


def deletion_insertion_curves(
    model: nn.Module,
    inputs: Tensor,
    saliency: Tensor | np.ndarray,
    target: int,
    *,
    steps: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """The insertion and deletion curves of :func:`deletion_insertion_auc`: the target's softmax
    probability after 0, 1, …, ``steps`` steps, as two arrays of ``steps + 1`` values.

    Raises InvalidParameterError for ``steps`` outside 1 to min(:data:`MAX_STEPS`, H·W), before any
    work, and for a ``target`` the model has no class for, after its first forward pass.
    """
    target = check_target(target)
    device = next(model.parameters()).device
    image = inputs[:1].to(device)
    height, width = image.shape[-2:]
    steps = check_steps(steps, height * width)
    rank = pixel_ranks(saliency)
    if tuple(rank.shape) != (height, width):
        raise InvalidParameterError(f"The map is {tuple(rank.shape)}; the image is {(height, width)}.")
    rank = rank.to(device).view(1, 1, height, width)
    thresholds = torch.linspace(0, height * width, steps + 1, device=device).round().long()
    blurred = gaussian_blur(image)
    insertion, deletion = [], []
    for chunk in thresholds.split(CURVE_BATCH):
        moved = (rank < chunk.view(-1, 1, 1, 1)).to(image.dtype)  # (chunk, 1, H, W): 1 where a pixel has moved
        insertion.append(class_scores(model, blurred * (1 - moved) + image * moved, target))
        deletion.append(class_scores(model, image * (1 - moved), target))
    return np.concatenate(insertion), np.concatenate(deletion)


def deletion_insertion_auc(
    model: nn.Module, inputs: Tensor, saliency: Tensor | np.ndarray, target: int, *, steps: int = 16
) -> tuple[float, float]:
    """Insertion and deletion AUCs of Petsiuk et al. (RISE, BMVC 2018) for one image (1, 3, H, W).

    Pixels are ranked by saliency, most salient first (ties in raster order, :func:`pixel_ranks`, the
    same on every device), and moved in ``steps`` equal steps of
    H·W/steps pixels. **Deletion** starts from the image and replaces pixels with the all-zero
    normalised input (the dataset mean colour); **insertion** starts from a Gaussian blur of the
    image (kernel 11, sigma 5, as in RISE) and puts the original pixels back. Each curve is the
    target's softmax probability after 0, 1, …, ``steps`` steps; its AUC is the trapezoidal area
    over the fraction of pixels moved, in [0, 1]. Returns ``(insertion, deletion)``.
    Higher insertion and lower deletion are better; the evaluation reports insertion − deletion too.
    ``steps`` is from 1 to min(:data:`MAX_STEPS`, H·W); ``target`` a class of the model.

    The deletion curve is Quantus' ``PixelFlipping`` with ``perturb_baseline=0.0`` and
    ``features_in_step = H·W/steps`` on a one-channel input (tests/test_quantus.py), except that
    Quantus leaves out the untouched image (step 0) and integrates over step numbers, not fractions.
    """
    curves = deletion_insertion_curves(model, inputs, saliency, target, steps=steps)
    fractions = np.linspace(0.0, 1.0, len(curves[0]))
    insertion, deletion = (float(np.trapezoid(curve, fractions)) for curve in curves)
    return insertion, deletion


def class_scores(model: nn.Module, batch: Tensor, target: int) -> np.ndarray:
    """The softmax probability of class ``target`` for every input of ``batch``, in one forward pass.

    Raises InvalidParameterError, naming the valid range, when the model has no class ``target``.
    """
    target = check_target(target)
    with torch.inference_mode():
        probabilities = model(batch).float().softmax(dim=1)
    classes = probabilities.shape[1]
    if target >= classes:
        raise InvalidParameterError(f"target {target} is not a class of this model: its classes are 0 to {classes - 1}.")
    return probabilities[:, target].cpu().numpy()


def pixel_ranks(saliency: Tensor | np.ndarray) -> Tensor:
    """The rank of every pixel of a 2-D map, 0 for the most salient, as a (H, W) tensor on the CPU.

    Ties are broken by raster order (row by row, the earlier pixel first), with a stable sort on the
    CPU, so the order, and every metric built on it (insertion, deletion, the fixed-area drops), is the
    same on every device. An unstable sort does not: torch's default CPU sort scrambles tied pixels (a
    uniform map, the zeros of a ReLU'd map) where a GPU's kept them in raster order, and a uniform map's
    insertion AUC on one image came out 0.247 against 0.065.
    """
    values = torch.as_tensor(map_array(saliency), dtype=torch.float32)
    height, width = values.shape
    order = torch.sort(values.reshape(-1), descending=True, stable=True).indices
    rank = torch.empty(height * width, dtype=torch.long)
    rank[order] = torch.arange(height * width)
    return rank.view(height, width)


def top_area_masks(saliency: Tensor | np.ndarray, percents: Sequence[int] = FIXED_AREAS) -> Tensor:
    r"""Binary masks (len(percents), H, W) that keep the top ``p`` % of pixels by the map, for the
    **Average Drop at a fixed area**: the image times such a mask (kept pixels unchanged, the others 0
    in normalised space: the dataset mean colour, as in Average Drop and deletion), scored like
    Average Drop. Every map is judged on the same area, so a broad map cannot win by being broad
    (cf. the fixed-budget evaluation of Fong & Vedaldi, "Interpretable explanations of black boxes by
    meaningful perturbation", ICCV 2017).

    Exactly k = ⌊p/100 · H·W + ½⌋ pixels are kept (at least 1), ranked by :func:`pixel_ranks`: ties go
    by raster order, so a uniform map keeps the top rows of the image, not the whole image.
    """
    rank = pixel_ranks(saliency)
    height, width = rank.shape
    pixel_count = height * width
    rank = rank.reshape(-1)
    masks = []
    for percent in percents:
        if not 0 < percent <= 100:
            raise InvalidParameterError(f"A fixed area is a percentage in (0, 100], got {percent}.")
        keep = max(1, math.floor(percent / 100.0 * pixel_count + 0.5))
        masks.append((rank < keep).view(height, width))
    return torch.stack(masks).float()
