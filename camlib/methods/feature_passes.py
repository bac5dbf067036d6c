"""Passes that replace the target layer's output: Ablation-CAM's channels removed, Recipro-CAM's positions kept.

:class:`FeaturePasses` is :class:`~camlib.methods.masked_passes.MaskedPasses` (its batches, its batch size,
progress and out-of-memory handling) where each item changes the target layer's output instead of masking
the input. The image is run once up to the layer and the layer returns the whole batch of changed
features, so only the layers after it run once per item, as in the Recipro-CAM authors' hook. A model
that cannot take a larger batch after the layer than before it (one that concatenates an earlier tensor
with a later one) falls back to running the whole model once per item.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch
from torch import Tensor, nn

from camlib.errors import MethodNotApplicableError
from camlib.methods.base import ProgressCallback, check_logits
from camlib.methods.masked_passes import MaskedPasses, MaskedPassOptions

FEATURE_BATCH_SIZE = 64
"""Items per pass when ``batch_size`` is left to camlib. These passes run only the layers after the target
layer, cheap per item, so they do not time batch sizes as Score-CAM's passes do, nor take or leave the size
that Score-CAM's passes remember for the model (:mod:`~camlib.methods.batch_sizing`); on CUDA the size halves
after an out-of-memory error as there."""

FeatureBuilder = Callable[[Tensor], Tensor]
"""Items (b, ...) -> the features (b, K, h, w) that replace the target layer's output."""
ScoreReader = Callable[[Tensor, Tensor], Tensor]
"""(logits (b, classes), targets (b,)) -> the item's score (b,)."""


def in_layer_layout(features: Tensor, output) -> Tensor | None:
    """``features`` (b, K, h, w) in the layout of the layer's ``output``: as they are for a channels-first map,
    permuted back for a channels-last one (Swin's stages); ``None`` for anything else (a ViT's tokens)."""
    if not isinstance(output, Tensor) or output.ndim != 4:
        return None
    channels, height, width = features.shape[1:]
    if output.shape[1:] == (channels, height, width):
        return features
    if output.shape[1:] == (height, width, channels):
        return features.permute(0, 2, 3, 1)
    return None


class FeaturePasses(MaskedPasses):
    """Scores items by the model's output when the target layer's output is replaced by ``build(items)``.

    Called like :meth:`MaskedPasses.score` with the items in place of the activations (N, P, a, b) and
    ``score="probability"`` (no baseline pass; ``read`` computes the score). An item that is constant over
    its last two dimensions is skipped and scores 0.
    """

    def __init__(
        self,
        model: nn.Module,
        layer: nn.Module,
        build: FeatureBuilder,
        read: ScoreReader,
        options: MaskedPassOptions | None = None,
        *,
        notify: Callable[[str], None] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        options = options or MaskedPassOptions()
        if options.batch_size is None:
            options = MaskedPassOptions(FEATURE_BATCH_SIZE, options.perturbation_size, options.mixed_precision)
        super().__init__(model, options, notify=notify, progress=progress)
        self.layer = layer
        self.build = build
        self.read = read
        self.shared_prefix = True

    def _score_batch(self, image: Tensor, chosen: Tensor, target: Tensor, padded_size: int, score) -> Tensor:
        features = self.build(chosen)
        count = len(features)
        if padded_size > count:
            features = torch.cat([features, features.new_zeros(padded_size - count, *features.shape[1:])])
        logits = self._logits_with(image, features)
        return self.read(logits, target.repeat(len(features))).float()[:count]

    def _logits_with(self, image: Tensor, features: Tensor) -> Tensor:
        if self.shared_prefix:
            try:
                logits = self._run(image[None], features)
                if logits.shape[0] == len(features):
                    return logits
            except torch.cuda.OutOfMemoryError:
                raise
            except RuntimeError:
                pass
            self.shared_prefix = False
        return self._run(image[None].expand(len(features), *image.shape).contiguous(), features)

    def _run(self, inputs: Tensor, features: Tensor) -> Tensor:
        owner_thread = threading.get_ident()

        def replace(_module: nn.Module, _inputs: tuple, output: Tensor):
            if threading.get_ident() != owner_thread:
                return None
            replacement = in_layer_layout(features, output)
            if replacement is None:
                shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
                raise MethodNotApplicableError(
                    f"This method replaces the target layer's output with changed feature maps {tuple(features.shape[1:])}, "
                    f"but the layer gives {shape} (a token sequence or another layout it cannot write back); "
                    "choose a convolutional layer, or Grad-CAM or Score-CAM on a transformer."
                )
            return replacement.to(output.dtype)

        handle = self.layer.register_forward_hook(replace)
        try:
            with torch.inference_mode(), self._autocast(inputs):
                return check_logits(self.model(inputs)).float()
        finally:
            handle.remove()
