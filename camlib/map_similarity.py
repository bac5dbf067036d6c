"""How alike two saliency maps are: Spearman rank correlation and SSIM, as scipy and scikit-image compute
them (see :mod:`camlib.sanity`, which compares each map with the map of a randomised model)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from camlib.errors import InvalidParameterError

SSIM_WINDOW = 7
SSIM_K1 = 0.01
SSIM_K2 = 0.03
MAX_PIXELS = 8192 * 8192


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.size == 0:
        raise InvalidParameterError(f"Two maps of the same (H, W) shape are needed, got {a.shape} and {b.shape}.")
    if a.size > MAX_PIXELS:
        raise InvalidParameterError(f"Maps of {a.size} pixels are too large (at most {MAX_PIXELS}).")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidParameterError("A map holds NaN or infinite values.")
    return a, b


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a flat array, ties given their average rank (``scipy.stats.rankdata``)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse.ravel()]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps over all pixels (ties get average ranks).

    A constant map has no ranking, so the correlation is undefined (scipy returns NaN). camlib gives 1
    when both maps are equal (nothing changed) and 0 otherwise (no ordering is shared): a map that
    turns constant after randomisation has changed.
    """
    a, b = _check_pair(a, b)
    if np.array_equal(a, b):
        return 1.0
    rank_a, rank_b = _average_ranks(a.ravel()), _average_ranks(b.ravel())
    rank_a -= rank_a.mean()
    rank_b -= rank_b.mean()
    denominator = math.sqrt(float(rank_a @ rank_a) * float(rank_b @ rank_b))
    if denominator == 0:
        return 0.0
    return float(np.clip(rank_a @ rank_b / denominator, -1.0, 1.0))


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float = 1.0) -> float:
    """Mean structural similarity of two (H, W) maps, as ``skimage.metrics.structural_similarity``
    with its defaults (7 x 7 uniform window, sample covariance, K1 = 0.01, K2 = 0.03), averaged over
    the pixels where the whole window fits. Both sides must be at least 7 pixels."""
    a, b = _check_pair(a, b)
    if min(a.shape) < SSIM_WINDOW:
        raise InvalidParameterError(f"SSIM needs maps of at least {SSIM_WINDOW}×{SSIM_WINDOW} pixels, got {a.shape}.")
    x = torch.from_numpy(a)[None, None]
    y = torch.from_numpy(b)[None, None]

    def local_mean(image: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(image, SSIM_WINDOW, stride=1)

    count = SSIM_WINDOW * SSIM_WINDOW
    sample = count / (count - 1.0)
    mean_x, mean_y = local_mean(x), local_mean(y)
    var_x = sample * (local_mean(x * x) - mean_x * mean_x)
    var_y = sample * (local_mean(y * y) - mean_y * mean_y)
    cov_xy = sample * (local_mean(x * y) - mean_x * mean_y)
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    index = ((2 * mean_x * mean_y + c1) * (2 * cov_xy + c2)) / ((mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2))
    return float(index.mean())
