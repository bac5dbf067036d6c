"""Operations on stacks of maps shared by the base, the masked passes and the surrogate."""

from __future__ import annotations

import torch
from torch import Tensor

_EPS = 1e-7


def normalize_maps(maps: Tensor) -> Tensor:
    """Min-max normalise each (H, W) map of a stack (..., H, W) to [0, 1]; a constant map becomes all zeros.

    The base normalises the final maps (N, H, W); the score-weighted methods turn activations
    (N, K, H, W) into masks channel by channel.
    """
    flat = maps.flatten(-2)
    low = flat.min(dim=-1).values[..., None, None]
    span = flat.max(dim=-1).values[..., None, None] - low
    safe_span = torch.where(span > _EPS, span, torch.ones_like(span))
    return torch.where(span > _EPS, (maps - low) / safe_span, torch.zeros_like(maps))


def varying_channels(activations: Tensor) -> Tensor:
    """Whether each (h, w) map of a stack (..., K, h, w) is not constant, (..., K).

    A constant channel's mask is all zero, so its masked input is the baseline: it scores 0 without a pass.
    """
    return (activations.amax(dim=(-2, -1)) - activations.amin(dim=(-2, -1))) > 0
