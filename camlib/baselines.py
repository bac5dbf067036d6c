"""Maps that know nothing of the model: the floor every faithfulness table is read against.

A method whose maps do not beat these on a metric is not explaining anything by that metric.

- ``center``: a centred isotropic Gaussian, sigma a quarter of the shorter side (ImageNet objects sit
  near the middle, so this is the strongest model-free guess).
- ``uniform``: all ones (the whole image is "important").
- ``random``: white noise from a fixed seed, smoothed by a Gaussian of sigma 1/16 of the shorter side,
  scaled to [0, 1]. The same seed gives the same map for every image of one size.
"""

from __future__ import annotations

import numpy as np

from camlib.errors import InvalidParameterError

BASELINES: dict[str, str] = {
    "center": "Centre blob (no model)",
    "uniform": "Uniform (no model)",
    "random": "Random (no model)",
}
RANDOM_SEED = 0
MAX_SIDE = 8192


def is_baseline(key: str) -> bool:
    return key in BASELINES


def baseline_map(key: str, height: int, width: int, *, seed: int = RANDOM_SEED) -> np.ndarray:
    """The ``key`` baseline as a float32 (height, width) map in [0, 1]."""
    if key not in BASELINES:
        raise InvalidParameterError(f"Unknown baseline '{key}'. Choose from: {', '.join(BASELINES)}.")
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise InvalidParameterError(f"A baseline map needs 1..{MAX_SIDE} pixels a side, got {height}×{width}.")
    if key == "uniform":
        return np.ones((height, width), dtype=np.float32)
    if key == "center":
        return _centre_gaussian(height, width)
    return _smoothed_noise(height, width, seed)


def _centre_gaussian(height: int, width: int) -> np.ndarray:
    sigma = min(height, width) / 4.0
    rows = (np.arange(height) - (height - 1) / 2.0)[:, None]
    cols = (np.arange(width) - (width - 1) / 2.0)[None, :]
    blob = np.exp(-(rows**2 + cols**2) / (2.0 * sigma**2))
    return (blob / blob.max()).astype(np.float32)


def _smoothed_noise(height: int, width: int, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).random((height, width))
    sigma = max(min(height, width) / 16.0, 0.5)
    smooth = _blur_axis(_blur_axis(noise, sigma, axis=0), sigma, axis=1)
    low, high = smooth.min(), smooth.max()
    if high - low <= 0:
        return np.zeros((height, width), dtype=np.float32)
    return ((smooth - low) / (high - low)).astype(np.float32)


def _blur_axis(values: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    radius = max(int(3 * sigma), 1)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-(offsets**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    padded = np.pad(values, [(radius, radius) if a == axis else (0, 0) for a in range(values.ndim)], mode="reflect")
    return np.apply_along_axis(lambda line: np.convolve(line, kernel, mode="valid"), axis, padded)
