"""The ``fast`` idea shared by Score-CAM and Grad++ScoreCAM: measure some channels, predict the rest."""

from __future__ import annotations

import torch
from torch import Tensor

from camlib.methods.map_ops import varying_channels
from camlib.methods.masked_passes import MaskedPassCAM, MaskedPasses, ScoreKind
from camlib.methods.surrogate import mask_features, surrogate_scores


def channel_scores(
    method: MaskedPassCAM, inputs: Tensor, activations: Tensor, targets: Tensor, channels: Tensor, score: ScoreKind = "logit"
) -> Tensor:
    """Scores (N, k) of the channels ``channels`` (N, k) of ``activations`` on their masked inputs, by the
    passes of ``method``: all measured, or, when ``method.sampled_channels`` is below k, that many measured
    per image and the others predicted (:func:`sampled_channel_scores`)."""
    budget = method.sampled_channels
    if budget is None or budget >= channels.shape[1]:
        return method.masked_passes.score(inputs, activations, targets, channels, score)
    return torch.stack(
        [
            sampled_channel_scores(method.masked_passes, inputs, activations, targets, image, channels[image], budget, method.seed, score)
            for image in range(len(channels))
        ]
    )


def sampled_channel_scores(
    passes: MaskedPasses,
    inputs: Tensor,
    activations: Tensor,
    targets: Tensor,
    image: int,
    channels: Tensor,
    budget: int,
    seed: int,
    score: ScoreKind = "logit",
) -> Tensor:
    """(k,) scores of the channels ``channels`` (k,) of image ``image``: ``budget`` measured by ``passes``
    (anything with :meth:`~camlib.methods.masked_passes.MaskedPasses.score`), the others predicted.

    Three quarters of the measured channels are drawn at random among the non-constant ones of
    ``channels``; a ridge fit of the measured scores on the channels' pooled masks (:func:`mask_features`,
    :func:`surrogate_scores`) predicts the rest, and the last quarter measures the channels the fit
    predicts to score highest, whose softmax weights matter most where a few channels dominate (layers
    such as EfficientNet-Lite0's ``bn2``). Constant channels score 0, as in the exact method (their mask
    is all zero).
    """
    one = slice(image, image + 1)
    candidates = activations[image, channels]
    varies = varying_channels(candidates)
    varying = torch.nonzero(varies).flatten()  # positions in ``channels``
    generator = torch.Generator(device="cpu").manual_seed(seed)
    order = varying[torch.randperm(len(varying), generator=generator).to(varying.device)]
    budget = min(budget, len(varying))
    drawn = order[: budget - budget // 4]
    refined_count = budget - len(drawn)

    def measure(positions: Tensor, offset: int) -> Tensor:
        return passes.score(
            inputs[one], activations[one], targets[one], channels[positions][None], score, progress_range=(offset, budget)
        )[0]

    measured = measure(drawn, 0)
    if len(drawn) == len(varying):
        scores = torch.zeros(len(channels), device=measured.device).index_copy(0, drawn, measured)
    else:
        features = mask_features(candidates[None])[0]
        first_fit = surrogate_scores(features, drawn, measured)
        scores = first_fit
        if refined_count:
            unmeasured = order[len(drawn) :]
            refined = unmeasured[first_fit[unmeasured].topk(refined_count).indices]
            known = torch.cat([drawn, refined])
            scores = surrogate_scores(features, known, torch.cat([measured, measure(refined, len(drawn))]))
    return torch.where(varies, scores, torch.zeros_like(scores))
