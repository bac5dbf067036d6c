"""Grad++ScoreCAM: Grad-CAM++ weights combined with the masked-input scores of the top channels (IEEE Access, 2024)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from camlib.errors import InvalidParameterError
from camlib.methods.base import LayerCapture, ProgressCallback
from camlib.methods.masked_passes import MaskedPassCAM
from camlib.methods.params import check_params
from camlib.methods.sampled_scores import channel_scores
from camlib.methods.score_steps import ScoreSteps
from camlib.methods.tokens import SpatialReshape
from camlib.methods.gradpp_weights import gradcampp_weights

Combination = Literal["softmax_w", "softmax", "relu_w", "linear"]
COMBINATIONS: tuple[str, ...] = ("softmax_w", "softmax", "relu_w", "linear")


def _scaled_to_largest(values: Tensor, largest: Tensor) -> Tensor:
    """ReLU(values) / ReLU(largest), row by row; rows whose largest value is not positive become 0."""
    largest = F.relu(largest)
    return F.relu(values) / torch.where(largest > 0, largest, torch.ones_like(largest))


def combine_scores(
    scores: Tensor, chosen_weights: Tensor, largest_weight: Tensor, combination: Combination, linear_weight: float = 0.5
) -> Tensor:
    """Grad++ScoreCAM's alpha_k from the scores C_k (N, k) and Grad-CAM++ weights w_k of the chosen channels."""
    normalised_scores = score_terms(scores, combination)
    if combination == "linear":
        normalised_weights = _scaled_to_largest(chosen_weights, largest_weight)
        return linear_weight * normalised_scores + (1 - linear_weight) * normalised_weights
    alpha = normalised_scores
    if combination != "softmax":
        alpha = alpha * chosen_weights / torch.where(largest_weight > 0, largest_weight, torch.ones_like(largest_weight))
    return alpha


def score_terms(scores: Tensor, combination: Combination) -> Tensor:
    """The scores C_k (N, k) as ``combination`` normalises them before the gradient weights join in: a softmax
    over the chosen channels (``softmax_w``, ``softmax``), ReLU (``relu_w``), or ReLU over the largest (``linear``)."""
    if combination == "linear":
        return _scaled_to_largest(scores, scores.amax(dim=1, keepdim=True))
    return F.relu(scores) if combination == "relu_w" else scores.softmax(dim=1)


class GradPPScoreCAM(MaskedPassCAM, key="gradpp_scorecam", uses_gradients=True):
    r"""Grad++ScoreCAM, from *Grad++ScoreCAM: Enhancing Visual Explanations of Deep Convolutional Networks
    Using Incremented Gradient and Score-Weighted Methods* (IEEE Access, 2024), Algorithm 1.

    How each step of Algorithm 1 maps to this class:

    1. **Forward and backward pass** (eqs. 12–13): :meth:`BaseCAM.capture` records the activations
       :math:`A_k` and the gradients of the class logit at the target layer.
    2. **Grad-CAM++ weights** :math:`w_k` (eq. 14): :func:`gradcampp_weights`, the same closed form as
       :class:`GradCAMpp`.
    3. **Channel selection**: the paper scores every channel; ``top_k`` keeps only the ``top_k``
       channels with the highest :math:`w_k` (``None`` scores all of them). The other channels get
       :math:`\alpha_k = 0`.
    4. **Smooth masks and scores** (eq. 15): :math:`H_k = s(\mathrm{Up}(A_k))`, min-max normalised, and
       :math:`C_k = f^c(X \circ H_k) - f^c(X_b)` with an all-zero baseline, by
       :func:`masked_input_scores`. The paper "reduces the input image to the resolution of the
       activation maps" without fixing the size; here that is ``perturbation_size`` (``None`` keeps
       the input's resolution).
    5. **Combination** (eq. 16): the paper combines the score :math:`C_k` with the gradient weight
       :math:`w_k` but leaves the normalisation open. ``combination`` picks one:

       - ``"softmax_w"`` (default): :math:`\alpha_k = \mathrm{softmax}_k(C_k) \cdot w_k / \max_j w_j`;
       - ``"softmax"``: :math:`\alpha_k = \mathrm{softmax}_k(C_k)` (Score-CAM on the chosen channels);
       - ``"relu_w"``: :math:`\alpha_k = \mathrm{ReLU}(C_k) \cdot w_k / \max_j w_j`;
       - ``"linear"``: the paper's Fig. 1 ("a linear combination of class scores and gradient weights"),
         :math:`\alpha_k = \lambda \hat C_k + (1 - \lambda) \hat w_k` with :math:`\lambda` =
         ``linear_weight``, :math:`\hat C_k = \mathrm{ReLU}(C_k) / \max_{j \in T} \mathrm{ReLU}(C_j)` and
         :math:`\hat w_k = \mathrm{ReLU}(w_k) / \max_j \mathrm{ReLU}(w_j)`, both in [0, 1] (a channel
         that lowers the class score gets no score term; an all-zero maximum gives all zeros).

    6. **Map**: :math:`L^c = \mathrm{ReLU}(\sum_k \alpha_k A_k)`, upsampled and normalised by the base.

    With the default combination, over the set :math:`T` of the ``top_k`` channels:

    .. math::
        w_k = \sum_{i,j} \frac{g^2}{2 g^2 + \sum_{a,b} A_k(a,b)\, g^3}\, \mathrm{ReLU}(g), \qquad
        C_k = f^c(X \circ H_k) - f^c(X_b), \qquad
        \alpha_k = \frac{e^{C_k}}{\sum_{j \in T} e^{C_j}} \cdot \frac{w_k}{\max_j w_j}, \qquad
        L^c = \mathrm{ReLU}\Big(\sum_{k \in T} \alpha_k A_k\Big)

    Cost: one forward and one backward pass, plus ``top_k`` masked forward passes.

    ``sampled_channels=m`` applies Score-CAM's ``fast`` idea
    (:func:`~camlib.methods.sampled_scores.sampled_channel_scores`): of the channels chosen in step 3,
    only ``m`` are measured, and the others' :math:`C_k` are predicted by a ridge fit on their pooled
    masks. Cost: ``m`` masked passes instead of ``top_k``.

    Called as ``GradPPScoreCAM(model, "layer4", top_k=16)(images, targets)`` (examples: :class:`BaseCAM`).

    Args:
        top_k: number of channels to score, ranked by Grad-CAM++ weight; ``None`` for all.
        combination: how :math:`C_k` and :math:`w_k` combine into :math:`\alpha_k` (see above).
        linear_weight: :math:`\lambda` of ``combination="linear"``, in [0, 1] (1: scores only, 0: gradient
            weights only); ignored by the other combinations.
        sampled_channels, seed, batch_size, perturbation_size, mixed_precision, progress, reshape: see
            :class:`~camlib.methods.masked_passes.MaskedPassCAM` (``sampled_channels`` counts among the
            chosen channels).
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        top_k: int | None = 32,
        combination: Combination = "softmax_w",
        linear_weight: float = 0.5,
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
        **options,
    ) -> None:
        check_params(type(self), {"top_k": top_k, "combination": combination, "linear_weight": linear_weight, **options})
        super().__init__(model, target_layer, progress=progress, reshape=reshape, **options)
        self.top_k = top_k
        self.combination = combination
        self.linear_weight = linear_weight

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        return self.weight_steps(inputs, targets, capture).weights

    def weight_steps(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> ScoreSteps:
        """Steps 2 to 5 of Algorithm 1, with what each produced (:class:`ScoreSteps`); :meth:`channel_weights`
        returns its ``weights``."""
        grad = capture.gradients
        gradient_weights = gradcampp_weights(capture.activations, grad, grad.pow(2), grad.pow(3))
        channel_count = gradient_weights.shape[1]
        if self.top_k is not None and self.top_k > channel_count:
            raise InvalidParameterError(f"top_k={self.top_k} is larger than the layer's {channel_count} channels.")
        keep = channel_count if self.top_k is None else self.top_k
        chosen_weights, chosen = gradient_weights.topk(keep, dim=1)
        scores = channel_scores(self, inputs, capture.activations, targets, chosen)
        largest_weight = gradient_weights.amax(dim=1, keepdim=True)
        alpha = combine_scores(scores, chosen_weights, largest_weight, self.combination, self.linear_weight)
        weights = torch.zeros_like(gradient_weights).scatter(1, chosen, alpha)
        return ScoreSteps(chosen, scores, score_terms(scores, self.combination), weights, gradient_weights)
