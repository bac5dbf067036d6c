"""The ``fast`` Score-CAM's surrogate: predict unmeasured channels' scores from their pooled masks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from camlib.methods.map_ops import normalize_maps

SURROGATE_GRID = 7
"""Masks are pooled to at most this many cells a side before the surrogate regression."""
SURROGATE_RIDGE = 0.5


def mask_features(activations: Tensor) -> Tensor:
    """(N, K, F + 1): each channel's min-max normalised map, average-pooled to at most 7 × 7, then a 1.

    A channel's mask is its map upsampled and normalised, so these few numbers determine the mask, and
    the score of the masked input is a smooth function of them.
    """
    height, width = activations.shape[-2:]
    grid = (min(SURROGATE_GRID, height), min(SURROGATE_GRID, width))
    pooled = F.adaptive_avg_pool2d(normalize_maps(activations.float()), grid).flatten(2)
    return torch.cat([torch.ones_like(pooled[..., :1]), pooled], dim=2)


def surrogate_scores(features: Tensor, known: Tensor, known_scores: Tensor, ridge: float = SURROGATE_RIDGE) -> Tensor:
    """Scores of every channel from a ridge regression on the channels whose score is known.

    ``features`` (K, F) describe the channels, ``known`` (m,) indexes those with a measured score
    ``known_scores`` (m,). Returns (K,): the measured scores where known, the fit's prediction elsewhere.
    """
    # A small system, solved on the CPU in float64 whatever the device: the same answer everywhere.
    all_features = features.detach().cpu().double()
    design = all_features[known.cpu()]
    gram = design.T @ design + ridge * torch.eye(design.shape[1], dtype=design.dtype)
    coefficients = torch.linalg.solve(gram, design.T @ known_scores.detach().cpu().double())
    predicted = (all_features @ coefficients).to(device=known_scores.device, dtype=known_scores.dtype)
    return predicted.index_copy(0, known, known_scores)
