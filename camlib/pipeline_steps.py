"""One method's computation on one image, step by step: the channels, their weights, the masked inputs and their
scores, and the map they make (the "How the methods work" page draws these).

Every number comes from the method object itself: its :meth:`~camlib.methods.base.BaseCAM.capture` pass, its
``weight_steps`` (the Score-CAM family, :class:`~camlib.methods.score_steps.ScoreSteps`) or
:meth:`~camlib.methods.base.BaseCAM.channel_weights`, and its
:meth:`~camlib.methods.base.BaseCAM.maps_from_weights`, the code a call of the method runs. So
``method_steps(method, x, c).saliency`` is ``method(x, [c])[0]``, which the tests check.

>>> import torch, torchvision
>>> from camlib.methods import GradPPScoreCAM
>>> model = torchvision.models.resnet18(num_classes=10).eval()
>>> steps = method_steps(GradPPScoreCAM(model, "layer4", top_k=4), torch.rand(1, 3, 64, 64), 3)
>>> steps.activations.shape, steps.chosen.shape, steps.saliency.shape
((512, 2, 2), (4,), (64, 64))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from camlib.errors import InvalidParameterError
from camlib.methods.base import BaseCAM
from camlib.methods.capture import eval_mode
from camlib.methods.masked_passes import MaskedPassCAM


@dataclass(frozen=True)
class MethodSteps:
    """What one method computed for one image and one class, each as a NumPy array."""

    method_key: str
    target_class: int
    activations: np.ndarray  # (K, h, w): the target layer's channels A_k
    weights: np.ndarray  # (K,): each channel's final weight alpha_k (Grad-CAM: the mean gradient)
    low_resolution_map: np.ndarray  # (h, w): ReLU(sum_k alpha_k A_k), before upsampling
    saliency: np.ndarray  # (H, W): the method's map, upsampled and scaled to [0, 1]
    raw_range: tuple[float, float]  # the upsampled map's (min, max) before scaling
    gradient_weights: np.ndarray | None = None  # (K,): the Grad-CAM++ weights w_k (Grad++ScoreCAM)
    chosen: np.ndarray | None = None  # (k,): the channels scored on masked inputs, in the method's order
    scores: np.ndarray | None = None  # (k,): C_k of the chosen channels
    score_terms: np.ndarray | None = None  # (k,): C_k as the method normalises them (a softmax over the chosen)

    @property
    def channel_count(self) -> int:
        return int(self.activations.shape[0])

    @property
    def contributions(self) -> np.ndarray:
        """(K,): each channel's part of the weighted sum, alpha_k times the sum of its grid."""
        return self.weights * self.activations.reshape(self.channel_count, -1).sum(axis=1)

    def strongest_channels(self, count: int) -> list[int]:
        """The ``count`` channels that add the most to the weighted sum (:attr:`contributions`), largest first."""
        return [int(channel) for channel in np.argsort(-self.contributions, kind="stable")[:count]]

    def empty_chosen(self) -> int:
        """How many of the chosen channels are zero everywhere on this image (their masks are blank)."""
        if self.chosen is None:
            return 0
        return int((np.abs(self.activations[self.chosen]).reshape(len(self.chosen), -1).max(axis=1) == 0).sum())

    def channel_score(self, channel: int) -> tuple[float, float] | None:
        """(C_k, its normalised term) of a scored channel; ``None`` for a channel the method did not score."""
        if self.chosen is None:
            return None
        positions = np.flatnonzero(self.chosen == channel)
        if not len(positions):
            return None
        return float(self.scores[positions[0]]), float(self.score_terms[positions[0]])


def method_steps(method: BaseCAM, inputs: Tensor, target_class: int | None = None) -> MethodSteps:
    """Run ``method`` on one image ``inputs`` (1, C, H, W) for ``target_class`` (``None``: the top-1 class) and
    return every intermediate quantity (:class:`MethodSteps`); the map is the one the method's call returns."""
    inputs = method.check_inputs(inputs)
    if inputs.shape[0] != 1:
        raise InvalidParameterError(f"method_steps explains one image at a time, got a batch of {inputs.shape[0]}.")
    targets = None if target_class is None else [int(target_class)]
    with eval_mode(method.model):
        capture = method.capture(inputs, targets, with_gradients=method.uses_gradients)
        target_tensor = method.resolve_targets(targets, capture.logits)
        breakdown = method.weight_steps(inputs, target_tensor, capture) if hasattr(method, "weight_steps") else None
        weights = breakdown.weights if breakdown is not None else method.channel_weights(inputs, target_tensor, capture)
        weights = weights.detach().float()
        saliency = method.maps_from_weights(weights, capture.activations, inputs.shape[-2:])
        with torch.inference_mode():
            low_resolution = method.combine(weights, capture.activations.float())
    first = _first_image(breakdown)
    return MethodSteps(
        method.key, int(target_class if target_class is not None else target_tensor[0]),
        _array(capture.activations[0]), _array(weights[0]), _array(low_resolution[0]), _array(saliency[0]),
        method.raw_ranges[0], **first,
    )


def _first_image(breakdown) -> dict[str, np.ndarray | None]:
    if breakdown is None:
        return {}
    gradient_weights = breakdown.gradient_weights
    return {
        "gradient_weights": None if gradient_weights is None else _array(gradient_weights[0]),
        "chosen": _array(breakdown.chosen[0]).astype(np.int64),
        "scores": _array(breakdown.scores[0]),
        "score_terms": _array(breakdown.score_terms[0]),
    }


def _array(tensor: Tensor) -> np.ndarray:
    array = tensor.detach().cpu().numpy()
    return array if array.dtype.kind in "iu" else array.astype(np.float32)


def masked_inputs(method: MaskedPassCAM, inputs: Tensor, steps: MethodSteps, channels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The smooth masks H_k (k, H, W) of ``channels`` and the masked inputs X ∘ H_k (k, C, H, W) the method scores,
    at the input's resolution, by the method's own mask code (the passes themselves may run smaller)."""
    if not isinstance(method, MaskedPassCAM):
        raise InvalidParameterError(f"{type(method).__name__} scores no masked inputs.")
    image = method.check_inputs(inputs)[0]
    chosen = torch.from_numpy(steps.activations[list(channels)]).to(image.device)
    with torch.inference_mode():
        masks = method.masked_passes.masks(chosen, image.shape[-2:])
        masked = method.masked_passes.masked_inputs(image, masks)
    return _array(masks[:, 0]), _array(masked)


def input_pixels(normalised: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """A normalised input (C, H, W) back to the (H, W, 3) uint8 pixels it stands for (``x · std + mean``), so a
    masked input is seen as the model sees it: masked-out parts at the mean colour, the baseline."""
    channels_first = np.asarray(normalised, dtype=np.float32) * np.asarray(std, np.float32)[:, None, None]
    channels_first += np.asarray(mean, np.float32)[:, None, None]
    return (np.clip(channels_first.transpose(1, 2, 0), 0, 1) * 255 + 0.5).astype(np.uint8)
