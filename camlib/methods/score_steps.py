"""What the score-weighted methods compute on the way to their channel weights, for people who want to see it."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class ScoreSteps:
    """The intermediate quantities of Score-CAM's and Grad++ScoreCAM's channel weights, batch first.

    ``weights`` is exactly what the method's :meth:`~camlib.methods.base.BaseCAM.channel_weights` returns:
    the method computes it through the same function that fills the other fields.
    """

    chosen: Tensor  # (N, k) the channels scored on masked inputs, in the method's order
    scores: Tensor  # (N, k) C_k: the class score of each masked input (minus the baseline's for logits)
    score_terms: Tensor  # (N, k) the scores as the method normalises them (softmax over the chosen channels)
    weights: Tensor  # (N, K) alpha_k, the final channel weights (0 for channels not chosen)
    gradient_weights: Tensor | None = None  # (N, K) the Grad-CAM++ weights w_k (Grad++ScoreCAM only)
