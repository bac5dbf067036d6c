"""The masked passes of the score-weighted methods: each channel's mask applied to the input and scored.

:class:`MaskedPasses` runs them in batches of bounded size (at most ``batch_size`` masked images exist
at once), halves the batch after a CUDA out-of-memory error, and reports progress and notices through
callbacks. :class:`MaskedPassOptions` holds the three settings that every such method takes, and
:class:`MaskedPassCAM` is the base of those methods.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from camlib.errors import InvalidParameterError
from camlib.methods.base import BaseCAM, ProgressCallback
from camlib.methods.capture import check_logits
from camlib.methods.tokens import SpatialReshape
from camlib.methods.batch_sizing import BatchSizer, remember_batch_size, remembered_batch_size
from camlib.methods.map_ops import normalize_maps, varying_channels
from camlib.methods.params import check_params

ScoreKind = Literal["logit", "probability"]


def perturbation_shape(height: int, width: int, perturbation_size: int) -> tuple[int, int]:
    """(height, width) of the masked passes: the shorter side at ``perturbation_size``, the aspect ratio kept
    (a square input gives the square ``perturbation_size`` × ``perturbation_size``)."""
    scale = perturbation_size / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


@dataclass(frozen=True)
class MaskedPassOptions:
    """How the masked passes run; the values are checked where they come in (:func:`~camlib.methods.params.check_params`).

    Args:
        batch_size: masked images per forward pass; bounds the working memory (``None``: camlib
            chooses, at most 64 on the CPU and 128 on CUDA; see :class:`BatchSizer`).
        perturbation_size: run the masked passes with this shorter side, aspect ratio kept (``None``: the input's size).
        mixed_precision: run the masked passes in float16 autocast on CUDA (no effect on the CPU).
    """

    batch_size: int | None = None
    perturbation_size: int | None = None
    mixed_precision: bool = False


def prefers_channels_last(model: nn.Module) -> bool:
    """Whether the model's first 4-D weight is stored channels-last (camlib's backbones are)."""
    for parameter in model.parameters():
        if parameter.ndim == 4:
            return parameter.is_contiguous(memory_format=torch.channels_last) and not parameter.is_contiguous()
    return False


class MaskedPasses:
    """Scores channels by running the model on the input masked with each channel's smooth mask.

    Args:
        model: the classifier.
        options: batch size, resolution and precision of the passes.
        notify: called with a message the user should read (a batch halved after an out-of-memory error).
        progress: called as ``progress(done, total)`` after each batch.
    """

    def __init__(
        self,
        model: nn.Module,
        options: MaskedPassOptions | None = None,
        *,
        notify: Callable[[str], None] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.model = model
        self.options = options or MaskedPassOptions()
        self.notify = notify or (lambda _message: None)
        self.progress = progress or (lambda _done, _total: None)

    def score(
        self,
        inputs: Tensor,
        activations: Tensor,
        targets: Tensor,
        channels: Tensor,
        score: ScoreKind = "logit",
        progress_range: tuple[int, int] | None = None,
    ) -> Tensor:
        """Score the channels ``channels`` (N, k) of ``activations`` (N, K, h, w) on their masked inputs.

        Channel k's mask is its activation map upsampled to the input's resolution and min-max normalised
        to [0, 1]; the masked input is ``inputs * mask``. Returns (N, k):

        - ``score="logit"``: the target logit of the masked input minus that of the baseline (an all-zero
          input, which is what a mask of zeros leaves);
        - ``score="probability"``: the target's softmax probability on the masked input.

        A channel whose activation is constant has an all-zero mask, so its masked input is the baseline:
        it scores 0 without a forward pass. Progress is reported as channels done out of channels to
        score; ``progress_range=(offset, total)`` reports it as part of a larger count instead.
        """
        inputs = self._at_perturbation_size(inputs)
        scores = torch.zeros(*channels.shape, device=inputs.device)
        tuning_key = (str(inputs.device), tuple(inputs.shape[1:]))
        sizer = BatchSizer(self.options.batch_size, inputs.device, remembered_batch_size(self.model, tuning_key))
        try:
            with torch.inference_mode():
                self._score_into(scores, inputs, activations, targets, channels, score, progress_range, sizer)
        except RuntimeError as error:
            # A map too small for the model's pooling fails inside the first pass; OOM is handled per batch.
            size = self.options.perturbation_size
            if size is None or isinstance(error, torch.cuda.OutOfMemoryError):
                raise
            raise InvalidParameterError(
                f"perturbation_size={size} is too small for this model ({str(error).splitlines()[0]}); use a larger size."
            ) from None
        if sizer.tuned:
            remember_batch_size(self.model, tuning_key, sizer.size)
        return scores

    def _score_into(
        self,
        scores: Tensor,
        inputs: Tensor,
        activations: Tensor,
        targets: Tensor,
        channels: Tensor,
        score: ScoreKind,
        progress_range: tuple[int, int] | None,
        sizer: BatchSizer,
    ) -> None:
        baseline = None
        if score == "logit":
            with self._autocast(inputs):
                baseline = self._target_scores(torch.zeros_like(inputs), targets, score).float()
        varies = varying_channels(activations)
        to_score = [torch.nonzero(varies[image, channels[image]]).flatten().tolist() for image in range(len(channels))]
        offset, overall = progress_range or (0, sum(len(positions) for positions in to_score))
        done = 0
        for image, positions in enumerate(to_score):
            batches = self._image_batches(
                inputs[image], activations[image], channels[image], targets[image], positions, score, sizer
            )
            for chunk, values in batches:
                scores[image, chunk] = values - baseline[image] if baseline is not None else values
                done += len(chunk)
                self.progress(offset + done, overall)

    def _image_batches(
        self,
        image: Tensor,
        activations: Tensor,
        channels: Tensor,
        target: Tensor,
        positions: list[int],
        score: ScoreKind,
        sizer: BatchSizer,
    ) -> Iterator[tuple[list[int], Tensor]]:
        """Yield ``(chunk, scores)`` for one image, a batch at a time, ``chunk`` being positions in ``channels``."""
        start = 0
        while start < len(positions):
            full = sizer.next_size()
            chunk = positions[start : start + full]
            # On CUDA every new batch shape costs the convolution library a new plan, so the last,
            # smaller batch of a long run is padded with empty masks (baseline inputs) to full size.
            padded_size = full if image.is_cuda and len(positions) > full else len(chunk)
            began = time.perf_counter()
            try:
                values = self._score_batch(image, activations[channels[chunk]], target, padded_size, score)
            except torch.cuda.OutOfMemoryError:
                self._halve_after_out_of_memory(sizer)
                continue
            sizer.record(len(chunk), time.perf_counter() - began)
            yield chunk, values
            start += len(chunk)

    def _score_batch(self, image: Tensor, chosen: Tensor, target: Tensor, padded_size: int, score: ScoreKind) -> Tensor:
        """Scores (k,) of ``image`` (C, H, W) masked by each chosen activation map (k, h, w)."""
        masks = self.masks(chosen, image.shape[-2:])
        count = len(masks)
        if padded_size > count:
            masks = torch.cat([masks, masks.new_zeros(padded_size - count, *masks.shape[1:])])
        memory_format = torch.channels_last if prefers_channels_last(self.model) else torch.contiguous_format
        masked = self.masked_inputs(image, masks).contiguous(memory_format=memory_format)
        with self._autocast(image):
            return self._target_scores(masked, target.repeat(len(masks)), score).float()[:count]

    def masks(self, chosen: Tensor, size: tuple[int, int]) -> Tensor:
        """Masks (k, 1, H, W) of maps (k, h, w): upsampled, min-max normalised (SS-CAM adds noise)."""
        return normalize_maps(F.interpolate(chosen[:, None].float(), size=size, mode="bilinear", align_corners=False))

    def masked_inputs(self, image: Tensor, masks: Tensor) -> Tensor:
        """The masked images (k, C, H, W): ``image * mask`` (Group-CAM blends in a blurred image)."""
        return image[None] * masks

    def _halve_after_out_of_memory(self, sizer: BatchSizer) -> None:
        if sizer.next_size() == 1:
            raise InvalidParameterError("The GPU ran out of memory even at batch size 1.") from None
        torch.cuda.empty_cache()
        self.notify(f"GPU out of memory: batch size halved to {sizer.halve()} and the batch retried.")

    def _target_scores(self, inputs: Tensor, targets: Tensor, kind: ScoreKind) -> Tensor:
        """Forward pass without hooks: each row's target logit, or its softmax probability, (N,)."""
        with torch.inference_mode():
            logits = check_logits(self.model(inputs))
            if kind == "probability":
                logits = logits.softmax(dim=1)
            return logits.gather(1, targets[:, None])[:, 0]

    def _at_perturbation_size(self, inputs: Tensor) -> Tensor:
        size = self.options.perturbation_size
        if size is None:
            return inputs
        return F.interpolate(inputs, size=perturbation_shape(*inputs.shape[-2:], size), mode="bilinear", align_corners=False)

    def _autocast(self, inputs: Tensor):
        if self.options.mixed_precision and inputs.is_cuda:
            return torch.autocast("cuda", dtype=torch.float16)
        return nullcontext()


class MaskedPassCAM(BaseCAM):
    """Base of the Score-CAM family (Score-CAM, Grad++ScoreCAM): methods that score channels on masked inputs.

    A subclass overrides :meth:`BaseCAM.channel_weights` and scores channels with
    :func:`~camlib.methods.sampled_scores.channel_scores`. Its constructor declares only its own keywords
    and ``progress``, checks its parameters with :func:`~camlib.methods.params.check_params` and passes
    ``**options`` on to this one; :meth:`__init_subclass__` adds this constructor's keywords to the
    subclass constructor's signature, where :func:`~camlib.methods.params.method_parameters` and the
    app's settings read them.

    Args (every method of the family takes these; a method's docstring lists only its own):
        sampled_channels: measure this many of the channels to score and predict the others' scores
            (:func:`~camlib.methods.sampled_scores.sampled_channel_scores`; ``None``: measure all; exact).
        seed: seed of the draw of the sampled channels.
        batch_size, perturbation_size, mixed_precision: how the masked passes run (:class:`MaskedPassOptions`).
        progress: called as ``progress(channels_done, channels_total)`` after each batch of passes.
        reshape: see :class:`BaseCAM`; the masks come from the reshaped activations.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        sampled_channels: int | None = None,
        seed: int = 0,
        batch_size: int | None = None,
        perturbation_size: int | None = None,
        mixed_precision: bool = False,
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
    ) -> None:
        options = MaskedPassOptions(batch_size, perturbation_size, mixed_precision)
        super().__init__(model, target_layer, progress=progress, reshape=reshape)
        self.sampled_channels = sampled_channels
        self.seed = seed
        self.masked_passes = MaskedPasses(model, options, notify=self.notify, progress=self.report_progress)

    def __init_subclass__(cls, **kwargs) -> None:
        """Give a subclass constructor that takes ``**options`` the signature it really has: its own
        keywords, then this class's (so that ``inspect.signature`` shows ``batch_size`` and its default)."""
        super().__init_subclass__(**kwargs)
        init = vars(cls).get("__init__")
        if init is None:
            return
        own = inspect.signature(init, eval_str=True)
        kept = [parameter for parameter in own.parameters.values() if parameter.kind is not inspect.Parameter.VAR_KEYWORD]
        inherited = inspect.signature(MaskedPassCAM.__init__, eval_str=True).parameters.values()
        added = [p for p in inherited if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in own.parameters]
        init.__signature__ = own.replace(parameters=kept + added)


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
    """:meth:`MaskedPasses.score` on ``method``'s model, reporting to ``method`` (for callers outside a
    :class:`MaskedPassCAM`, such as ``bench/study_gradpp_scorecam.py``, and the docs that name it)."""
    settings = {"batch_size": batch_size, "perturbation_size": perturbation_size, "mixed_precision": mixed_precision}
    options = MaskedPassOptions(**check_params(MaskedPassCAM, settings, key="masked_input_scores"))
    passes = MaskedPasses(method.model, options, notify=method.notify, progress=method.report_progress)
    return passes.score(inputs, activations, targets, channels, score, progress_range)
