"""Score-weighted methods: Score-CAM and the paper's Grad++ScoreCAM.

Both score channels by masking the input with each channel's smooth mask and running the model on the
masked image. :func:`masked_input_scores` does those passes in batches of bounded size, so at most
``batch_size`` masked images are in memory at once.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from camlib.errors import InvalidParameterError
from camlib.methods.base import BaseCAM, LayerCapture, ProgressCallback, gradcampp_weights, normalize_channels

ScoreKind = Literal["logit", "probability"]


def masked_input_scores(
    method: BaseCAM,
    inputs: Tensor,
    activations: Tensor,
    targets: Tensor,
    channels: Tensor,
    *,
    batch_size: int,
    score: ScoreKind = "logit",
    perturbation_size: int | None = None,
    mixed_precision: bool = False,
) -> Tensor:
    """Score the channels ``channels`` (N, k) of ``activations`` (N, K, h, w) on their masked inputs.

    Channel k's mask is its activation map upsampled to the input's resolution and min-max normalised
    to [0, 1]; the masked input is ``inputs * mask``. Returns (N, k):

    - ``score="logit"``: the target logit of the masked input minus that of the baseline (an all-zero
      input, which is what a mask of zeros leaves);
    - ``score="probability"``: the target's softmax probability on the masked input.

    A channel whose activation is constant has an all-zero mask, so its masked input is the baseline:
    it scores 0 without a forward pass. ``perturbation_size`` runs the passes on the input resized to
    that square resolution instead of the full one; ``mixed_precision`` runs them under float16
    autocast on CUDA (it has no effect on the CPU). At most ``batch_size`` masked inputs exist at once;
    on CUDA an out-of-memory error halves the batch and retries, and says so in ``method.notices``.
    Progress is reported as channels done out of channels to score.
    """
    if batch_size < 1:
        raise InvalidParameterError("batch_size must be at least 1.")
    if perturbation_size is not None:
        if perturbation_size < 8:
            raise InvalidParameterError("perturbation_size must be at least 8 pixels.")
        inputs = F.interpolate(inputs, size=(perturbation_size, perturbation_size), mode="bilinear", align_corners=False)
    height, width = inputs.shape[-2:]
    batch, count = channels.shape
    scores = torch.zeros(batch, count, device=inputs.device)
    autocast = torch.autocast("cuda", dtype=torch.float16) if mixed_precision and inputs.is_cuda else nullcontext()
    memory_format = torch.channels_last if prefers_channels_last(method.model) else torch.contiguous_format

    def score_chunk(image: int, positions: list[int]) -> Tensor:
        chosen = activations[image, channels[image, positions]][:, None].float()
        masks = normalize_channels(F.interpolate(chosen, size=(height, width), mode="bilinear", align_corners=False))
        masked = (inputs[image][None] * masks).contiguous(memory_format=memory_format)
        with autocast:
            return method.target_scores(masked, targets[image].repeat(len(positions)), score).float()

    try:
        with torch.inference_mode():
            baseline = None
            if score == "logit":
                with autocast:
                    baseline = method.target_scores(torch.zeros_like(inputs), targets).float()
            varies = (activations.amax(dim=(2, 3)) - activations.amin(dim=(2, 3))) > 0
            to_score = [torch.nonzero(varies[image, channels[image]]).flatten().tolist() for image in range(batch)]
            total, done = sum(len(positions) for positions in to_score), 0
            for image, positions in enumerate(to_score):
                start = 0
                while start < len(positions):
                    chunk = positions[start : start + batch_size]
                    try:
                        values = score_chunk(image, chunk)
                    except torch.cuda.OutOfMemoryError:
                        if batch_size == 1:
                            raise InvalidParameterError("The GPU ran out of memory even at batch size 1.") from None
                        batch_size //= 2
                        torch.cuda.empty_cache()
                        method.notify(f"GPU out of memory: batch size halved to {batch_size} and the batch retried.")
                        continue
                    scores[image, chunk] = values - baseline[image] if baseline is not None else values
                    start += len(chunk)
                    done += len(chunk)
                    method.report_progress(done, total)
    except RuntimeError as error:
        # A map too small for the model's pooling fails inside the first pass; OOM is handled above.
        if perturbation_size is None or isinstance(error, torch.cuda.OutOfMemoryError):
            raise
        raise InvalidParameterError(
            f"perturbation_size={perturbation_size} is too small for this model ({str(error).splitlines()[0]}); use a larger size."
        ) from None
    return scores


def prefers_channels_last(model: nn.Module) -> bool:
    """Whether the model's first 4-D weight is stored channels-last (camlib's backbones are)."""
    for parameter in model.parameters():
        if parameter.ndim == 4:
            return parameter.is_contiguous(memory_format=torch.channels_last) and not parameter.is_contiguous()
    return False


class MaskedPassCAM(BaseCAM):
    """Base of the methods that score channels on masked inputs; owns the masked passes' settings.

    Args:
        batch_size: masked images per forward pass; bounds the working memory.
        perturbation_size: run the masked passes at this square resolution (``None``: the input's).
        mixed_precision: run the masked passes in float16 autocast on CUDA (no effect on the CPU).
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        batch_size: int = 32,
        perturbation_size: int | None = None,
        mixed_precision: bool = False,
        progress: ProgressCallback | None = None,
    ) -> None:
        super().__init__(model, target_layer, progress=progress)
        if batch_size < 1:
            raise InvalidParameterError("batch_size must be at least 1.")
        self.batch_size = batch_size
        self.perturbation_size = perturbation_size
        self.mixed_precision = mixed_precision

    def score_channels(
        self, inputs: Tensor, activations: Tensor, targets: Tensor, channels: Tensor, score: ScoreKind = "logit"
    ) -> Tensor:
        """:func:`masked_input_scores` with this method's settings."""
        return masked_input_scores(
            self,
            inputs,
            activations,
            targets,
            channels,
            batch_size=self.batch_size,
            score=score,
            perturbation_size=self.perturbation_size,
            mixed_precision=self.mixed_precision,
        )


class ScoreCAM(MaskedPassCAM):
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

    >>> import torch, torchvision
    >>> from camlib.methods import ScoreCAM
    >>> model = torchvision.models.resnet18(num_classes=10).eval()
    >>> ScoreCAM(model, "layer4", batch_size=64)(torch.rand(1, 3, 32, 32), targets=[3]).shape
    (1, 32, 32)

    Args:
        model: any classifier returning logits.
        target_layer: a layer with a spatial output (N, K, h, w), or its dotted name.
        score: ``"logit"`` (softmax over channels of the logit increase) or ``"probability"``.
        batch_size: masked images per forward pass; bounds the working memory.
        perturbation_size: run the masked passes at this square resolution (``None``: the input's).
        mixed_precision: run the masked passes in float16 autocast on CUDA (no effect on the CPU).
        progress: called as ``progress(channels_done, channels_total)`` after each batch of masked passes.
    """

    key = "scorecam"
    uses_gradients = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        score: ScoreKind = "logit",
        batch_size: int = 32,
        perturbation_size: int | None = None,
        mixed_precision: bool = False,
        progress: ProgressCallback | None = None,
    ) -> None:
        super().__init__(
            model,
            target_layer,
            batch_size=batch_size,
            perturbation_size=perturbation_size,
            mixed_precision=mixed_precision,
            progress=progress,
        )
        if score not in ("logit", "probability"):
            raise InvalidParameterError(f"score must be 'logit' or 'probability', got {score!r}.")
        self.score = score

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        batch, channel_count = capture.activations.shape[:2]
        every_channel = torch.arange(channel_count, device=inputs.device).expand(batch, channel_count)
        scores = self.score_channels(inputs, capture.activations, targets, every_channel, self.score)
        return scores.softmax(dim=1) if self.score == "logit" else scores


Combination = Literal["softmax_w", "softmax", "relu_w"]


def combine_scores(scores: Tensor, chosen_weights: Tensor, largest_weight: Tensor, combination: Combination) -> Tensor:
    """Grad++ScoreCAM's alpha_k from the scores C_k (N, k) and Grad-CAM++ weights w_k of the chosen channels."""
    alpha = F.relu(scores) if combination == "relu_w" else scores.softmax(dim=1)
    if combination != "softmax":
        alpha = alpha * chosen_weights / torch.where(largest_weight > 0, largest_weight, torch.ones_like(largest_weight))
    return alpha


class GradPPScoreCAM(MaskedPassCAM):
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
       - ``"relu_w"``: :math:`\alpha_k = \mathrm{ReLU}(C_k) \cdot w_k / \max_j w_j`.

    6. **Map**: :math:`L^c = \mathrm{ReLU}(\sum_k \alpha_k A_k)`, upsampled and normalised by the base.

    With the default combination, over the set :math:`T` of the ``top_k`` channels:

    .. math::
        w_k = \sum_{i,j} \frac{g^2}{2 g^2 + \sum_{a,b} A_k(a,b)\, g^3}\, \mathrm{ReLU}(g), \qquad
        C_k = f^c(X \circ H_k) - f^c(X_b), \qquad
        \alpha_k = \frac{e^{C_k}}{\sum_{j \in T} e^{C_j}} \cdot \frac{w_k}{\max_j w_j}, \qquad
        L^c = \mathrm{ReLU}\Big(\sum_{k \in T} \alpha_k A_k\Big)

    Cost: one forward and one backward pass, plus ``top_k`` masked forward passes.

    >>> import torch, torchvision
    >>> from camlib.methods import GradPPScoreCAM
    >>> model = torchvision.models.resnet18(num_classes=10).eval()
    >>> GradPPScoreCAM(model, "layer4", top_k=16)(torch.rand(1, 3, 64, 64), targets=[3]).shape
    (1, 64, 64)

    Args:
        model: any classifier returning logits.
        target_layer: a layer with a spatial output (N, K, h, w), or its dotted name.
        top_k: number of channels to score, ranked by Grad-CAM++ weight; ``None`` for all.
        combination: how :math:`C_k` and :math:`w_k` combine into :math:`\alpha_k` (see above).
        batch_size: masked images per forward pass; bounds the working memory.
        perturbation_size: run the masked passes at this square resolution (``None``: the input's).
        mixed_precision: run the masked passes in float16 autocast on CUDA (no effect on the CPU).
        progress: called as ``progress(channels_done, channels_total)`` after each batch of masked passes.
    """

    key = "gradpp_scorecam"
    uses_gradients = True

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        top_k: int | None = 16,
        combination: Combination = "softmax_w",
        batch_size: int = 32,
        perturbation_size: int | None = None,
        mixed_precision: bool = False,
        progress: ProgressCallback | None = None,
    ) -> None:
        super().__init__(
            model,
            target_layer,
            batch_size=batch_size,
            perturbation_size=perturbation_size,
            mixed_precision=mixed_precision,
            progress=progress,
        )
        if top_k is not None and top_k < 1:
            raise InvalidParameterError("top_k must be at least 1, or None for all channels.")
        if combination not in ("softmax_w", "softmax", "relu_w"):
            raise InvalidParameterError(f"combination must be 'softmax_w', 'softmax' or 'relu_w', got {combination!r}.")
        self.top_k = top_k
        self.combination = combination

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        grad = capture.gradients
        gradient_weights = gradcampp_weights(capture.activations, grad, grad.pow(2), grad.pow(3))
        channel_count = gradient_weights.shape[1]
        if self.top_k is not None and self.top_k > channel_count:
            raise InvalidParameterError(f"top_k={self.top_k} is larger than the layer's {channel_count} channels.")
        keep = channel_count if self.top_k is None else self.top_k
        chosen_weights, chosen = gradient_weights.topk(keep, dim=1)
        scores = self.score_channels(inputs, capture.activations, targets, chosen)
        alpha = combine_scores(scores, chosen_weights, gradient_weights.amax(dim=1, keepdim=True), self.combination)
        weights = torch.zeros_like(gradient_weights)
        return weights.scatter(1, chosen, alpha)
