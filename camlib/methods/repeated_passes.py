"""Score-CAM's masked passes repeated with changed masks, averaged: the engine of SS-CAM and IS-CAM."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from camlib.methods.masked_passes import MaskedPassCAM, MaskedPasses
from camlib.methods.sampled_scores import sampled_channel_scores

MaskChange = Callable[[Tensor], Tensor]
"""Masks (k, 1, H, W) -> the masks the passes use (noise added, scaled, ...)."""


class ChangedMaskPasses(MaskedPasses):
    """:class:`MaskedPasses` whose smooth masks go through ``change`` before they multiply the input."""

    def __init__(self, model, change: MaskChange, options, *, notify=None, progress=None) -> None:
        super().__init__(model, options, notify=notify, progress=progress)
        self.change = change

    def masks(self, chosen: Tensor, size: tuple[int, int]) -> Tensor:
        return self.change(super().masks(chosen, size))


def averaged_channel_scores(
    method: MaskedPassCAM,
    inputs: Tensor,
    activations: Tensor,
    targets: Tensor,
    change_for: Callable[[int, int], MaskChange],
    repeats: int,
) -> Tensor:
    """Each channel's logit increase (N, K), averaged over ``repeats`` rounds of masked passes; round ``r``
    of image ``n`` changes the masks with ``change_for(r, n)``.

    Each round runs like Score-CAM's passes (its batching, batch size and progress), and with
    ``method.sampled_channels`` measures that many channels and predicts the others
    (:func:`~camlib.methods.sampled_scores.sampled_channel_scores`).
    """
    batch, channels = activations.shape[:2]
    every = torch.arange(channels, device=activations.device)
    totals = torch.zeros(batch, channels, device=activations.device)
    for image in range(batch):
        one = slice(image, image + 1)
        for round_ in range(repeats):
            step = image * repeats + round_

            def progress(done: int, total: int, step: int = step) -> None:
                method.report_progress(step * total + done, batch * repeats * total)

            passes = ChangedMaskPasses(
                method.model, change_for(round_, image), method.masked_passes.options, notify=method.notify, progress=progress
            )
            if method.sampled_channels is None or method.sampled_channels >= channels:
                scores = passes.score(inputs[one], activations[one], targets[one], every[None], "logit")[0]
            else:
                scores = sampled_channel_scores(
                    passes, inputs[one], activations[one], targets[one], 0, every, method.sampled_channels, method.seed
                )
            totals[image] += scores
    return totals / repeats
