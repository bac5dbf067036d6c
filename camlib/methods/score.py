"""Score-weighted methods: Score-CAM and the paper's Grad++ScoreCAM.

Both score channels by masking the input with each channel's smooth mask and running the model on the
masked image. :func:`masked_input_scores` does those passes in batches of bounded size, so at most
``batch_size`` masked images are in memory at once.
"""

from __future__ import annotations

import threading
import time
import weakref
from contextlib import nullcontext
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from camlib.errors import InvalidParameterError
from camlib.methods.base import BaseCAM, LayerCapture, ProgressCallback, gradcampp_weights, normalize_channels

ScoreKind = Literal["logit", "probability"]


CPU_BATCH_CANDIDATES = (2, 4, 8, 16)
"""Batch sizes tried on the CPU when ``batch_size`` is left to camlib."""
CPU_BATCH_LIMIT = 64
"""The largest batch camlib tries on the CPU, only while each doubling beyond 16 proves faster."""
CUDA_BATCH_SIZE = 128
"""The masked passes' batch size on CUDA when ``batch_size`` is left to camlib (halved on out-of-memory)."""


_tuned_sizes: weakref.WeakKeyDictionary[nn.Module, dict[tuple, int]] = weakref.WeakKeyDictionary()
_tuned_sizes_lock = threading.Lock()


def remembered_batch_size(model: nn.Module, key: tuple) -> int | None:
    """The batch size an earlier call tuned for this model and input shape, if any."""
    with _tuned_sizes_lock:
        return _tuned_sizes.get(model, {}).get(key)


def remember_batch_size(model: nn.Module, key: tuple, size: int) -> None:
    with _tuned_sizes_lock:
        _tuned_sizes.setdefault(model, {})[key] = size


class BatchSizer:
    """The batch size of the masked passes: the one given, or one chosen by timing the first batches.

    On the CPU the fastest batch size depends on the model and the processor's caches (on the 2-core
    machines camlib is measured on, 4 masked images per pass beat 32 by up to 1.7× on EfficientNet-Lite0,
    while AlexNet prefers 32 or more). So when no size is given, one warm-up batch and then one batch of
    each of :data:`CPU_BATCH_CANDIDATES` run timed, and the rest run at the size that was fastest per
    image. If the largest size tried was the fastest, its double is tried too, up to
    :data:`CPU_BATCH_LIMIT`. These batches are real work: nothing is computed twice. The size chosen is
    remembered for the model and input shape (weakly: it goes when the model goes), and a later call
    passes it as ``remembered`` and skips the trials. On CUDA larger batches are faster until memory
    runs out: :data:`CUDA_BATCH_SIZE`, halved on out-of-memory.
    """

    def __init__(self, batch_size: int | None, device: torch.device, remembered: int | None = None) -> None:
        self.trials: list[int] = []
        self.seconds_per_item: dict[int, float] = {}
        if batch_size is not None:
            self.size = batch_size
        elif remembered is not None:
            self.size = remembered
        elif device.type == "cuda":
            self.size = CUDA_BATCH_SIZE
        else:
            self.size = CPU_BATCH_CANDIDATES[1]
            self.trials = [self.size, *CPU_BATCH_CANDIDATES]  # the first one warms up and is not timed
        self._warm = False
        self._attempted: set[int] = set()

    def next_size(self) -> int:
        return self.trials[0] if self.trials else self.size

    def record(self, count: int, seconds: float) -> None:
        """Record that a batch of ``count`` masked images took ``seconds``."""
        if not self.trials:
            return
        size = self.trials.pop(0)
        if self._warm and count == size:  # a short last batch says nothing about its size
            self.seconds_per_item[size] = seconds / count
        self._warm = True
        self._attempted.add(size)
        if not self.trials and self.seconds_per_item:
            self.size = min(self.seconds_per_item, key=self.seconds_per_item.__getitem__)
            larger = 2 * max(self.seconds_per_item)
            if self.size == larger // 2 and larger <= CPU_BATCH_LIMIT and larger not in self._attempted:
                self.trials = [larger]

    @property
    def tuned(self) -> bool:
        """Whether this sizer chose its size by timing, and has finished doing so."""
        return bool(self.seconds_per_item) and not self.trials

    def halve(self) -> int:
        """Halve the next batch (after an out-of-memory error) and keep that size from then on."""
        self.size = max(1, self.next_size() // 2)
        self.trials = []
        return self.size


def perturbation_shape(height: int, width: int, perturbation_size: int) -> tuple[int, int]:
    """(height, width) of the masked passes: the shorter side at ``perturbation_size``, the aspect ratio kept
    (a square input gives the square ``perturbation_size`` × ``perturbation_size``)."""
    scale = perturbation_size / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def masked_input_scores(
    method: BaseCAM,
    inputs: Tensor,
    activations: Tensor,
    targets: Tensor,
    channels: Tensor,
    *,
    batch_size: int | None = None,
    score: ScoreKind = "logit",
    perturbation_size: int | None = None,
    mixed_precision: bool = False,
    progress_range: tuple[int, int] | None = None,
) -> Tensor:
    """Score the channels ``channels`` (N, k) of ``activations`` (N, K, h, w) on their masked inputs.

    Channel k's mask is its activation map upsampled to the input's resolution and min-max normalised
    to [0, 1]; the masked input is ``inputs * mask``. Returns (N, k):

    - ``score="logit"``: the target logit of the masked input minus that of the baseline (an all-zero
      input, which is what a mask of zeros leaves);
    - ``score="probability"``: the target's softmax probability on the masked input.

    A channel whose activation is constant has an all-zero mask, so its masked input is the baseline:
    it scores 0 without a forward pass. ``perturbation_size`` runs the passes on the input resized to
    that shorter side (aspect ratio kept) instead of the full size; ``mixed_precision`` runs them under float16
    autocast on CUDA (it has no effect on the CPU). At most ``batch_size`` masked inputs exist at once
    (``None``: chosen by :class:`BatchSizer`, at most 64 on the CPU and 128 on CUDA); on CUDA an
    out-of-memory error halves the batch and retries, and says so in ``method.notices``. Progress is
    reported as channels done out of channels to score; ``progress_range=(offset, total)`` reports it as
    part of a larger count instead.
    """
    if batch_size is not None and batch_size < 1:
        raise InvalidParameterError("batch_size must be at least 1.")
    if perturbation_size is not None:
        if perturbation_size < 8:
            raise InvalidParameterError("perturbation_size must be at least 8 pixels.")
        inputs = F.interpolate(inputs, size=perturbation_shape(*inputs.shape[-2:], perturbation_size), mode="bilinear", align_corners=False)
    height, width = inputs.shape[-2:]
    batch, count = channels.shape
    scores = torch.zeros(batch, count, device=inputs.device)
    autocast = torch.autocast("cuda", dtype=torch.float16) if mixed_precision and inputs.is_cuda else nullcontext()
    memory_format = torch.channels_last if prefers_channels_last(method.model) else torch.contiguous_format
    tuning_key = (str(inputs.device), tuple(inputs.shape[1:]))
    sizer = BatchSizer(batch_size, inputs.device, remembered_batch_size(method.model, tuning_key))

    def score_chunk(image: int, positions: list[int], padded_size: int) -> Tensor:
        chosen = activations[image, channels[image, positions]][:, None].float()
        masks = normalize_channels(F.interpolate(chosen, size=(height, width), mode="bilinear", align_corners=False))
        if padded_size > len(positions):
            masks = torch.cat([masks, masks.new_zeros(padded_size - len(positions), *masks.shape[1:])])
        masked = (inputs[image][None] * masks).contiguous(memory_format=memory_format)
        with autocast:
            return method.target_scores(masked, targets[image].repeat(len(masks)), score).float()[: len(positions)]

    try:
        with torch.inference_mode():
            baseline = None
            if score == "logit":
                with autocast:
                    baseline = method.target_scores(torch.zeros_like(inputs), targets).float()
            varies = (activations.amax(dim=(2, 3)) - activations.amin(dim=(2, 3))) > 0
            to_score = [torch.nonzero(varies[image, channels[image]]).flatten().tolist() for image in range(batch)]
            total, done = sum(len(positions) for positions in to_score), 0
            offset, overall = progress_range or (0, total)
            for image, positions in enumerate(to_score):
                start = 0
                while start < len(positions):
                    full = sizer.next_size()
                    chunk = positions[start : start + full]
                    # On CUDA every new batch shape costs the convolution library a new plan, so the last,
                    # smaller batch of a long run is padded with empty masks (baseline inputs) to full size.
                    padded_size = full if inputs.is_cuda and len(positions) > full else len(chunk)
                    began = time.perf_counter()
                    try:
                        values = score_chunk(image, chunk, padded_size)
                    except torch.cuda.OutOfMemoryError:
                        if sizer.next_size() == 1:
                            raise InvalidParameterError("The GPU ran out of memory even at batch size 1.") from None
                        torch.cuda.empty_cache()
                        method.notify(f"GPU out of memory: batch size halved to {sizer.halve()} and the batch retried.")
                        continue
                    scores[image, chunk] = values - baseline[image] if baseline is not None else values
                    sizer.record(len(chunk), time.perf_counter() - began)
                    start += len(chunk)
                    done += len(chunk)
                    method.report_progress(offset + done, overall)
    except RuntimeError as error:
        # A map too small for the model's pooling fails inside the first pass; OOM is handled above.
        if perturbation_size is None or isinstance(error, torch.cuda.OutOfMemoryError):
            raise
        raise InvalidParameterError(
            f"perturbation_size={perturbation_size} is too small for this model ({str(error).splitlines()[0]}); use a larger size."
        ) from None
    if sizer.tuned:
        remember_batch_size(method.model, tuning_key, sizer.size)
    return scores


def prefers_channels_last(model: nn.Module) -> bool:
    """Whether the model's first 4-D weight is stored channels-last (camlib's backbones are)."""
    for parameter in model.parameters():
        if parameter.ndim == 4:
            return parameter.is_contiguous(memory_format=torch.channels_last) and not parameter.is_contiguous()
    return False


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
    pooled = F.adaptive_avg_pool2d(normalize_channels(activations.float()), grid).flatten(2)
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


class MaskedPassCAM(BaseCAM):
    """Base of the methods that score channels on masked inputs; owns the masked passes' settings.

    Args:
        batch_size: masked images per forward pass; bounds the working memory (``None``: camlib
            chooses, at most 64 on the CPU and 128 on CUDA; see :class:`BatchSizer`).
        perturbation_size: run the masked passes with this shorter side, aspect ratio kept (``None``: the input's size).
        mixed_precision: run the masked passes in float16 autocast on CUDA (no effect on the CPU).
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        batch_size: int | None = None,
        perturbation_size: int | None = None,
        mixed_precision: bool = False,
        progress: ProgressCallback | None = None,
    ) -> None:
        super().__init__(model, target_layer, progress=progress)
        if batch_size is not None and batch_size < 1:
            raise InvalidParameterError("batch_size must be at least 1.")
        self.batch_size = batch_size
        self.perturbation_size = perturbation_size
        self.mixed_precision = mixed_precision

    def score_channels(
        self,
        inputs: Tensor,
        activations: Tensor,
        targets: Tensor,
        channels: Tensor,
        score: ScoreKind = "logit",
        progress_range: tuple[int, int] | None = None,
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
            progress_range=progress_range,
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

    ``sampled_channels=m`` (the ``fast`` setting) measures only ``m`` channels and predicts the others'
    scores :math:`C_k` with a ridge regression of the measured scores on each channel's normalised map
    pooled to at most 7 × 7 (:func:`mask_features`, :func:`surrogate_scores`). Three quarters of the
    ``m`` are drawn at random among the non-constant channels; the last quarter are the channels that a
    first fit predicts to score highest. The score is a smooth function of the mask, so the fit is
    good where the softmax over channels is flat and every channel counts a little (EfficientNet-Lite0's
    ``conv_head``), and the measured top channels carry it where a few channels dominate (``bn2``).
    With ``m = 128`` of 1280 channels the maps correlate 0.987 (``conv_head``) and 0.995 (``bn2``) on
    average with exact Score-CAM over 20 ImageNet samples, at 7.4× and 3.7× less time (README, Performance).

    >>> import torch, torchvision
    >>> from camlib.methods import ScoreCAM
    >>> model = torchvision.models.resnet18(num_classes=10).eval()
    >>> ScoreCAM(model, "layer4", batch_size=64)(torch.rand(1, 3, 32, 32), targets=[3]).shape
    (1, 32, 32)

    Args:
        model: any classifier returning logits.
        target_layer: a layer with a spatial output (N, K, h, w), or its dotted name.
        score: ``"logit"`` (softmax over channels of the logit increase) or ``"probability"``.
        sampled_channels: score this many channels and predict the rest (``None``: score all; exact).
        seed: seed of the draw of the sampled channels.
        batch_size: masked images per forward pass; bounds the working memory (``None``: camlib
            chooses, at most 64 on the CPU and 128 on CUDA; see :class:`BatchSizer`).
        perturbation_size: run the masked passes with this shorter side, aspect ratio kept (``None``: the input's size).
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
        sampled_channels: int | None = None,
        seed: int = 0,
        batch_size: int | None = None,
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
        if sampled_channels is not None and sampled_channels < 2:
            raise InvalidParameterError("sampled_channels must be at least 2, or None to score every channel.")
        self.score = score
        self.sampled_channels = sampled_channels
        self.seed = seed

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        activations = capture.activations
        batch, channel_count = activations.shape[:2]
        if self.sampled_channels is None or self.sampled_channels >= channel_count:
            every_channel = torch.arange(channel_count, device=inputs.device).expand(batch, channel_count)
            scores = self.score_channels(inputs, activations, targets, every_channel, self.score)
        else:
            scores = torch.cat([self._sampled_scores(inputs, activations, targets, image) for image in range(batch)])
        return scores.softmax(dim=1) if self.score == "logit" else scores

    def _sampled_scores(self, inputs: Tensor, activations: Tensor, targets: Tensor, image: int) -> Tensor:
        """(1, K) scores of one image: ``sampled_channels`` measured, the others predicted.

        Three quarters of the measured channels are drawn at random; a first fit predicts the rest, and
        the last quarter measures the channels the fit predicts to score highest, whose softmax weights
        matter most where a few channels dominate (layers such as EfficientNet-Lite0's ``bn2``). Constant
        channels score 0, as in the exact method (their mask is all zero).
        """
        one = slice(image, image + 1)
        varies = (activations[image].amax(dim=(1, 2)) - activations[image].amin(dim=(1, 2))) > 0
        varying = torch.nonzero(varies).flatten()
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        order = varying[torch.randperm(len(varying), generator=generator).to(varying.device)]
        budget = min(self.sampled_channels, len(varying))
        drawn = order[: budget - budget // 4]
        refined_count = budget - len(drawn)

        def measure(channels: Tensor, offset: int) -> Tensor:
            return self.score_channels(
                inputs[one], activations[one], targets[one], channels[None], self.score, progress_range=(offset, budget)
            )[0]

        measured = measure(drawn, 0)
        if len(drawn) == len(varying):
            scores = torch.zeros(activations.shape[1], device=measured.device).index_copy(0, drawn, measured)
        else:
            features = mask_features(activations[one])[0]
            first_fit = surrogate_scores(features, drawn, measured)
            scores = first_fit
            if refined_count:
                unmeasured = order[len(drawn) :]
                refined = unmeasured[first_fit[unmeasured].topk(refined_count).indices]
                known = torch.cat([drawn, refined])
                scores = surrogate_scores(features, known, torch.cat([measured, measure(refined, len(drawn))]))
        return torch.where(varies, scores, torch.zeros_like(scores))[None]


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
        batch_size: masked images per forward pass; bounds the working memory (``None``: camlib
            chooses, at most 64 on the CPU and 128 on CUDA; see :class:`BatchSizer`).
        perturbation_size: run the masked passes with this shorter side, aspect ratio kept (``None``: the input's size).
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
        batch_size: int | None = None,
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
