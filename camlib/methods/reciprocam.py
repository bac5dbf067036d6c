"""Recipro-CAM: the class probability when the layer's output keeps one position only (Byun and Lee, 2022)."""

from __future__ import annotations

from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from camlib.methods.base import LayerCapture, ProgressCallback
from camlib.methods.feature_passes import FeaturePasses
from camlib.methods.masked_passes import MaskedPassOptions
from camlib.methods.params import check_params
from camlib.methods.position_weights import ScoreMapCAM
from camlib.methods.tokens import SpatialReshape

Kernel = Literal["point", "gaussian"]
GAUSSIAN_3X3 = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16


def position_kernels(height: int, width: int, kernel: Kernel, device: torch.device) -> Tensor:
    """(h·w, h, w): for each position, in row-major order, where its feature vector is placed."""
    points = torch.eye(height * width, device=device).reshape(height * width, 1, height, width)
    if kernel == "gaussian":
        points = F.conv2d(points, GAUSSIAN_3X3.to(device)[None, None], padding=1)
    return points[:, 0]


def _spread_vectors(features: Tensor, kernels: Tensor) -> Tensor:
    """Features (b, K, h, w): each kernel's centre (its largest value) carries that position's vector,
    spread by the kernel."""
    centres = kernels.flatten(1).argmax(dim=1)
    vectors = features.flatten(1)[:, centres].T  # (b, K)
    return vectors[:, :, None, None] * kernels[:, None]


def _class_probability(logits: Tensor, targets: Tensor) -> Tensor:
    return logits.softmax(dim=1).gather(1, targets[:, None])[:, 0]


class ReciproCAM(ScoreMapCAM, key="reciprocam"):
    r"""Recipro-CAM, from `Recipro-CAM: Fast gradient-free visual explanations for convolutional neural
    networks <https://arxiv.org/abs/2209.14074>`_ (Byun and Lee, arXiv 2209.14074, 2022; CVPR Workshops 2024).

    For each position :math:`(i, j)` of the target layer's output :math:`F`, the layers after it see a
    feature map that keeps only that position's vector, :math:`F^{(i,j)} = F_{:,i,j} \otimes G^{(i,j)}`, and
    the map at :math:`(i, j)` is the class probability they give:

    .. math:: L^c(i, j) = \mathrm{softmax}\big(g(F^{(i,j)})\big)_c

    where :math:`g` is the part of the model after the target layer. No channel weights.

    Cost: one forward pass, and h·w passes of the layers after the target layer (49 on a 7 × 7 layer); no
    gradient. The image runs once up to the layer (:class:`~camlib.methods.feature_passes.FeaturePasses`).

    Left open, and camlib's choices (from the authors' released code; no peer library has the method):

    - ``kernel="point"`` (default; the authors' current code): :math:`G^{(i,j)}` is 1 at :math:`(i,j)` and 0
      elsewhere. ``"gaussian"`` (their first release): the vector is spread over the 3 × 3 neighbourhood with
      the weights [[1, 2, 1], [2, 4, 2], [1, 2, 1]] / 16, cut at the borders.
    - The score is the softmax probability (the authors offer a sigmoid for multi-label models).

    Args:
        kernel: ``"point"`` or ``"gaussian"``.
        batch_size: positions per pass (``None``: 64; see :data:`~camlib.methods.feature_passes.FEATURE_BATCH_SIZE`).
        mixed_precision: run the passes in float16 autocast on CUDA.
        progress: called as ``progress(positions_done, positions_total)``.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        kernel: Kernel = "point",
        batch_size: int | None = None,
        mixed_precision: bool = False,
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
    ) -> None:
        check_params(type(self), {"kernel": kernel, "batch_size": batch_size, "mixed_precision": mixed_precision})
        super().__init__(model, target_layer, progress=progress, reshape=reshape)
        self.kernel = kernel
        self.options = MaskedPassOptions(batch_size, None, mixed_precision)

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        activations = capture.activations
        batch, _channels, height, width = activations.shape
        kernels = position_kernels(height, width, self.kernel, activations.device)
        positions = torch.arange(height * width, device=activations.device)[None]
        maps = torch.zeros(batch, height * width, device=activations.device)
        for image in range(batch):
            one = slice(image, image + 1)
            passes = FeaturePasses(
                self.model, self.target_layer, partial(_spread_vectors, activations[image]), _class_probability,
                self.options, notify=self.notify,
                progress=lambda done, _total, start=image * positions.shape[1]: self.report_progress(start + done, maps.numel()),
            )  # fmt: skip
            maps[image] = passes.score(inputs[one], kernels[None], targets[one], positions, "probability")[0]
        return maps.reshape(batch, height, width)
