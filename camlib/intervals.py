"""Uncertainty of a mean over images, and the one rule that turns it into a verdict.

Every mean that camlib compares (a method against the centre blob, the leader against the runner-up,
Grad++ScoreCAM against Score-CAM, a randomisation Spearman against 0.5) carries a 95 % percentile
bootstrap interval over images, seeded so that a table prints the same digits on every machine:

- :func:`bootstrap_mean`: the mean of per-image values with its interval (``groups`` resamples whole
  groups instead, e.g. the four cells of one pointing-game grid, whose shares compete for one map);
- :func:`paired_difference`: the mean of per-image differences ``a − b`` over the images both scored;
- :func:`verdict`: ``ABOVE`` or ``BELOW`` a threshold only where the interval excludes it, otherwise
  ``INDISTINGUISHABLE``. Tables, docs, the README's figures and the app's notes all call this one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from camlib import cache_limits
from camlib.lru import BoundedCache

SEED = 0
RESAMPLES = 10_000
LEVEL = 0.95
ABOVE, BELOW, INDISTINGUISHABLE = "above", "below", "indistinguishable"


@dataclass(frozen=True)
class Interval:
    """A mean (or a mean difference) over ``n`` images and its bootstrap interval [low, high]."""

    mean: float
    low: float
    high: float
    n: int

    def text(self, digits: int = 3, *, signed: bool = False) -> str:
        """``0.227 [0.205, 0.249]``; ``signed`` writes a leading + on positive values (differences)."""
        sign = "+" if signed else ""
        if not math.isfinite(self.mean):
            return "—"
        mean = _nonzero_text(self.mean, digits, sign)
        return f"{mean} [{_nonzero_text(self.low, digits)}, {_nonzero_text(self.high, digits)}]".replace("-", "−")

    def excludes(self, threshold: float) -> bool:
        return verdict(self, threshold) != INDISTINGUISHABLE


NOTHING = Interval(math.nan, math.nan, math.nan, 0)
EXTRA_BOUND_DIGITS = 3


def _nonzero_text(value: float, digits: int, sign: str = "") -> str:
    """A mean or bound that is not 0 never reads as 0 (``[0.000, 0.016]`` beside "more faithful" would contradict
    the verdict): up to :data:`EXTRA_BOUND_DIGITS` more digits until it does not round to 0."""
    for shown in range(digits, digits + EXTRA_BOUND_DIGITS + 1):
        if value == 0 or round(value, shown) != 0:
            return f"{value:{sign}.{shown}f}"
    return f"{value:{sign}.{digits}f}"


_DRAWS: BoundedCache[np.ndarray] = BoundedCache(cache_limits.BOOTSTRAP_DRAWS, cache_limits.BOOTSTRAP_DRAWS_BYTES)


def _draws(count: int, seed: int, resamples: int) -> np.ndarray:
    """Resample indices (resamples × count); the same for every metric of a table, so paired columns agree."""
    return _DRAWS.get((count, seed, resamples), lambda: np.random.default_rng(seed).integers(0, count, size=(resamples, count)))


def bootstrap_mean(
    values: Sequence[float] | np.ndarray,
    *,
    groups: Sequence[Hashable] | None = None,
    seed: int = SEED,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
) -> Interval:
    """The mean of the finite ``values`` and its percentile bootstrap interval over them (or over the
    ``groups`` they belong to, one label per value, each drawn group bringing all its values)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    keep = np.isfinite(values)
    if groups is not None:
        order: dict[Hashable, int] = {}
        labels = np.asarray([order.setdefault(group, len(order)) for group in groups], dtype=np.int64)[keep]
    values = values[keep]
    if values.size == 0:
        return NOTHING
    if groups is None:
        sums, counts = values, np.ones_like(values)
    else:
        _, index = np.unique(labels, return_inverse=True)  # numbered by first appearance: the same on every run
        sums = np.bincount(index, weights=values)
        counts = np.bincount(index).astype(np.float64)
    draws = _draws(sums.size, seed, resamples)
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return Interval(float(values.mean()), float(low), float(high), int(values.size))


def paired_difference(
    a: Mapping[Hashable, float],
    b: Mapping[Hashable, float],
    *,
    group: Callable[[Hashable], Hashable] | None = None,
    seed: int = SEED,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
) -> Interval:
    """Mean of ``a[image] − b[image]`` over the images with a finite value in both, with its interval
    (resampling images, so both sides of a pair are always drawn together; or the groups ``group(image)``)."""
    common = sorted((key for key in a if key in b and math.isfinite(a[key]) and math.isfinite(b[key])), key=str)
    groups = [group(key) for key in common] if group is not None else None
    return bootstrap_mean([a[key] - b[key] for key in common], groups=groups, seed=seed, resamples=resamples, level=level)


def mean_of(values: Mapping[Hashable, float], *, group: Callable[[Hashable], Hashable] | None = None) -> Interval:
    """:func:`bootstrap_mean` of per-image values keyed by image (in a fixed order, so the draws are reproducible)."""
    keys = sorted(values, key=str)
    return bootstrap_mean([values[key] for key in keys], groups=[group(key) for key in keys] if group else None)


def verdict(interval: Interval, threshold: float = 0.0) -> str:
    """``ABOVE`` when the whole interval lies above ``threshold``, ``BELOW`` when below, else
    ``INDISTINGUISHABLE`` (also when nothing was measured)."""
    if not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return INDISTINGUISHABLE
    if interval.low > threshold:
        return ABOVE
    if interval.high < threshold:
        return BELOW
    return INDISTINGUISHABLE


def better_or_worse(difference: Interval, higher_is_better: bool) -> str:
    """``"better"``, ``"worse"`` or ``INDISTINGUISHABLE`` for a paired difference (this − other) by :func:`verdict`."""
    side = verdict(difference, 0.0)
    if side == INDISTINGUISHABLE:
        return side
    return "better" if (side == ABOVE) == higher_is_better else "worse"
