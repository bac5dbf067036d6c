"""Combinations for the methods whose map is not one weight per channel times the activations.

The base combines ``ReLU(sum_k w_k A_k)`` with one weight per channel. HiResCAM and LayerCAM weight each
channel *at each position*; Recipro-CAM and Group-CAM compute the map itself from their passes. Their
:meth:`~camlib.methods.base.BaseCAM.channel_weights` returns these weights or that map, and the classes
here say how :meth:`~camlib.methods.base.BaseCAM.combine` reads them.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from camlib.methods.base import BaseCAM


class PositionWeightedCAM(BaseCAM):
    """Weights per channel and position (N, K, h, w): :math:`L = \\mathrm{ReLU}(\\sum_k W_k \\odot A_k)`."""

    def combine(self, weights: Tensor, activations: Tensor) -> Tensor:
        return F.relu((weights * activations).sum(dim=1))


class ScoreMapCAM(BaseCAM):
    """``channel_weights`` returns the map itself (N, h', w'), at the layer's or the input's resolution;
    the combination is its ReLU (the base then upsamples and normalises it)."""

    def combine(self, weights: Tensor, activations: Tensor) -> Tensor:
        return F.relu(weights)
