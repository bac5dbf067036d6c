"""Ablation-CAM: each channel weighted by the drop of the class score when it is removed (Desai and Ramaswamy, 2020)."""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor, nn

from camlib.methods.base import BaseCAM, LayerCapture, ProgressCallback
from camlib.methods.feature_passes import FeaturePasses
from camlib.methods.masked_passes import MaskedPassOptions
from camlib.methods.params import check_params
from camlib.methods.tokens import SpatialReshape


def _kept_channels(features: Tensor) -> Tensor:
    """Items (K, K, 1): row k keeps every channel but k. A channel that is zero everywhere gets a
    constant row, which the passes skip: removing it changes nothing."""
    channels = features.shape[0]
    rows = 1 - torch.eye(channels, device=features.device)
    silent = features.flatten(1).abs().amax(dim=1) == 0
    rows[silent] = 1
    return rows[:, :, None]


def _without_channels(features: Tensor, kept: Tensor) -> Tensor:
    return features[None] * kept[..., None]


def _score_drop(original: Tensor, logits: Tensor, targets: Tensor) -> Tensor:
    return original - logits.gather(1, targets[:, None])[:, 0]


class AblationCAM(BaseCAM, key="ablationcam"):
    r"""Ablation-CAM, from `Ablation-CAM: Visual Explanations for Deep Convolutional Network via
    Gradient-free Localization <https://doi.org/10.1109/WACV45572.2020.9093360>`_ (Desai and Ramaswamy,
    WACV 2020).

    Channel :math:`k` is set to zero at the target layer and the class score :math:`y^c_k` of the model
    that follows is read; its weight is the relative drop:

    .. math:: w_k = \frac{y^c - y^c_k}{|y^c|}, \qquad L^c = \mathrm{ReLU}\Big(\sum_k w_k A_k\Big)

    Cost: one forward pass, and one pass of the layers *after* the target layer per channel that is not
    zero everywhere (the image runs once up to the layer; see
    :class:`~camlib.methods.feature_passes.FeaturePasses`), ``batch_size`` channels at a time. No gradient.

    Left open, and camlib's choices:

    - *The divisor*: the paper divides by :math:`y^c`, as pytorch-grad-cam does. For a positive score that
      is the same; for a negative one it turns every weight's sign, and the map would show what the class
      does *not* use. camlib divides by :math:`|y^c|`.
    - *The ablated value*: the paper sets the channel to 0, and so does camlib. pytorch-grad-cam sets it
      to 0 only when the layer's smallest value is 0, and otherwise to that value minus 10⁷.
    - pytorch-grad-cam runs the whole model once per channel and swaps the target layer out of the user's
      model meanwhile; camlib changes the layer's output with a hook that is removed in ``finally``.

    Args:
        batch_size: channels per pass (``None``: 64; see :data:`~camlib.methods.feature_passes.FEATURE_BATCH_SIZE`).
        mixed_precision: run the passes in float16 autocast on CUDA.
        progress: called as ``progress(channels_done, channels_total)``.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        batch_size: int | None = None,
        mixed_precision: bool = False,
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
    ) -> None:
        check_params(type(self), {"batch_size": batch_size, "mixed_precision": mixed_precision})
        super().__init__(model, target_layer, progress=progress, reshape=reshape)
        self.options = MaskedPassOptions(batch_size, None, mixed_precision)

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        activations = capture.activations
        batch, channels = activations.shape[:2]
        original = capture.logits.gather(1, targets[:, None])[:, 0].float()
        weights = torch.zeros(batch, channels, device=activations.device)
        every = torch.arange(channels, device=activations.device)[None]
        for image in range(batch):
            one = slice(image, image + 1)
            passes = FeaturePasses(
                self.model, self.target_layer, partial(_without_channels, activations[image]),
                partial(_score_drop, original[image]), self.options, notify=self.notify,
                progress=lambda done, _total, offset=image * channels: self.report_progress(offset + done, batch * channels),
            )  # fmt: skip
            drops = passes.score(inputs[one], _kept_channels(activations[image])[None], targets[one], every, "probability")[0]
            scale = original[image].abs()
            weights[image] = drops / torch.where(scale > 0, scale, torch.ones_like(scale))
        return weights
