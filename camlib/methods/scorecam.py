"""Score-CAM: channels weighted by the softmax of their masked inputs' scores (Wang et al., 2020)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from camlib.methods.base import LayerCapture, ProgressCallback
from camlib.methods.masked_passes import MaskedPassCAM, ScoreKind
from camlib.methods.params import check_params
from camlib.methods.sampled_scores import channel_scores
from camlib.methods.score_steps import ScoreSteps
from camlib.methods.tokens import SpatialReshape


class ScoreCAM(MaskedPassCAM, key="scorecam"):
    r"""Score-CAM, from `Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural Networks
    <https://arxiv.org/abs/1910.01279>`_ (Wang et al., CVPR Workshops 2020).

    Each channel :math:`A_k` gives a smooth mask :math:`H_k = s(\mathrm{Up}(A_k))` (upsampled, min-max
    normalised). Its score is the increase of the class logit when the input is masked, relative to the
    baseline :math:`X_b` (all zeros):

    .. math::
        C_k = f^c(X \circ H_k) - f^c(X_b), \qquad
        \alpha_k = \mathrm{softmax}_k(C_k), \qquad
        L^c = \mathrm{ReLU}\Big(\sum_k \alpha_k A_k\Big)

    This is the paper's Algorithm 1 with the softmax over channels, and the form pytorch-grad-cam
    computes (the baseline term cancels inside the softmax). ``score="probability"`` follows the
    authors' released code instead: :math:`\alpha_k = \mathrm{softmax}(f(X \circ H_k))_c`, the class
    probability of each masked input, with no softmax across channels. A softmax across channels is
    never applied to probabilities: it flattens the weights to almost uniform.

    Cost: one forward pass, plus one for each non-constant channel, run ``batch_size`` at a time.

    ``sampled_channels=m`` (the ``fast`` setting) measures only ``m`` channels and predicts the others'
    scores :math:`C_k` with a ridge regression of the measured scores on each channel's normalised map
    pooled to at most 7 × 7 (:func:`~camlib.methods.sampled_scores.sampled_channel_scores`). Three quarters of the
    ``m`` are drawn at random among the non-constant channels; the last quarter are the channels that a
    first fit predicts to score highest. The score is a smooth function of the mask, so the fit is
    good where the softmax over channels is flat and every channel counts a little (EfficientNet-Lite0's
    ``conv_head``), and the measured top channels carry it where a few channels dominate (``bn2``).
    How close the maps come to exact Score-CAM, and at what saving, is measured by ``bench/fast_vs_exact.py``
    and stated once, in the README's Performance section.

    Called as ``ScoreCAM(model, "layer4", batch_size=64)(images, targets)`` (examples: :class:`BaseCAM`).

    Args:
        score: ``"logit"`` (softmax over channels of the logit increase) or ``"probability"``.
        sampled_channels, seed, batch_size, perturbation_size, mixed_precision, progress, reshape: see
            :class:`~camlib.methods.masked_passes.MaskedPassCAM`.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        score: ScoreKind = "logit",
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
        **options,
    ) -> None:
        check_params(type(self), {"score": score, **options})
        super().__init__(model, target_layer, progress=progress, reshape=reshape, **options)
        self.score = score

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        return self.weight_steps(inputs, targets, capture).weights

    def weight_steps(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> ScoreSteps:
        """Every channel's score and its weight (:class:`ScoreSteps`); :meth:`channel_weights` returns its ``weights``."""
        batch, channel_count = capture.activations.shape[:2]
        every_channel = torch.arange(channel_count, device=inputs.device).expand(batch, channel_count)
        scores = channel_scores(self, inputs, capture.activations, targets, every_channel, self.score)
        weights = scores.softmax(dim=1) if self.score == "logit" else scores
        return ScoreSteps(every_channel, scores, weights, weights)
