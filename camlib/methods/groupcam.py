"""Group-CAM: grouped Grad-CAM masks scored on the image blended with a blurred copy (Zhang et al., 2021)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from camlib.methods.base import LayerCapture, ProgressCallback, check_logits
from camlib.methods.map_ops import normalize_maps
from camlib.methods.masked_passes import MaskedPasses, MaskedPassOptions
from camlib.methods.params import check_params
from camlib.methods.position_weights import ScoreMapCAM
from camlib.methods.tokens import SpatialReshape

BLUR_KERNEL = 51
BLUR_SIGMA = 50.0


def gaussian_blur(images: Tensor, kernel_size: int = BLUR_KERNEL, sigma: float = BLUR_SIGMA) -> Tensor:
    """Separable Gaussian blur of (N, C, H, W) with reflected borders; the kernel is cut to fit images
    smaller than it (a reflection needs the image to be longer than half the kernel)."""
    half = min(kernel_size // 2, min(images.shape[-2:]) - 1)
    offsets = torch.arange(-half, half + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    blurred = F.pad(images, (half, half, half, half), mode="reflect")
    blurred = F.conv2d(blurred, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(blurred, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


class BlendedPasses(MaskedPasses):
    """Masked passes whose masked input is :math:`X \\circ M + \\mathrm{blur}(X) \\circ (1 - M)`."""

    def masked_inputs(self, image: Tensor, masks: Tensor) -> Tensor:
        blurred = gaussian_blur(image[None])
        return blurred + (image[None] - blurred) * masks


def group_masks(activations: Tensor, gradients: Tensor, groups: int, percentile: float) -> Tensor:
    """(N, G, h, w): ReLU of the Grad-CAM-weighted sum of each group of consecutive channels (split as
    ``torch.chunk`` splits, so G may be smaller than ``groups``), values at or below the group's
    ``percentile`` set to 0."""
    weighted = gradients.mean(dim=(2, 3))[:, :, None, None] * activations
    maps = F.relu(torch.stack([part.sum(dim=1) for part in weighted.chunk(groups, dim=1)], dim=1))
    threshold = torch.quantile(maps.flatten(2), percentile / 100, dim=2)[..., None, None]
    return torch.where(maps > threshold, maps, torch.zeros_like(maps))


class GroupCAM(ScoreMapCAM, key="groupcam", uses_gradients=True):
    r"""Group-CAM, from `Group-CAM: Group Score-Weighted Visual Explanations for Deep Convolutional Networks
    <https://arxiv.org/abs/2103.13859>`_ (Zhang, Rao and Yang, arXiv 2103.13859, 2021).

    The channels, weighted by Grad-CAM's mean gradient :math:`w_k`, are split into ``groups`` groups of
    consecutive channels. Each group gives a mask :math:`M_g = s(\mathrm{Up}(\mathrm{ReLU}(\sum_{k \in g}
    w_k A_k)))` (values at or below its ``percentile`` set to 0 first, then upsampled and min-max
    normalised), which keeps the image where it is 1 and shows a blurred copy where it is 0:

    .. math::
        \alpha_g = p^c\big(X \circ M_g + \tilde X \circ (1 - M_g)\big) - p^c(\tilde X), \qquad
        L^c = \mathrm{ReLU}\Big(\sum_g \alpha_g M_g\Big)

    with :math:`p^c` the class probability and :math:`\tilde X` the image blurred by a Gaussian (kernel
    51, :math:`\sigma = 50`). The map is made at the input's resolution.

    Cost: one forward and one backward pass, one pass on the blurred image and one masked pass per group
    whose mask is not constant (at most 32), on Score-CAM's batches
    (:class:`~camlib.methods.masked_passes.MaskedPasses`).

    Left open, and camlib's choices (from the authors' released code; no peer library has the method):
    ``groups=32`` and ``percentile=70`` as the authors; their blur (kornia's, reflected borders) is cut
    to fit images smaller than the kernel. A group whose mask is constant is skipped, as in their code.

    Args:
        groups: number of channel groups.
        percentile: values of a group's map at or below this percentile are set to 0 (0 keeps them all).
        batch_size: masked images per pass (``None``: camlib chooses).
        mixed_precision: run the passes in float16 autocast on CUDA.
        progress: called as ``progress(groups_done, groups_total)``.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        groups: int = 32,
        percentile: float = 70.0,
        batch_size: int | None = None,
        mixed_precision: bool = False,
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
    ) -> None:
        params = {"groups": groups, "percentile": percentile, "batch_size": batch_size, "mixed_precision": mixed_precision}
        check_params(type(self), params)
        super().__init__(model, target_layer, progress=progress, reshape=reshape)
        self.groups = groups
        self.percentile = percentile
        self.options = MaskedPassOptions(batch_size, None, mixed_precision)

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        maps = group_masks(capture.activations, capture.gradients, self.groups, self.percentile)
        passes = BlendedPasses(self.model, self.options, notify=self.notify, progress=self.report_progress)
        every = torch.arange(maps.shape[1], device=maps.device).expand(len(maps), -1)
        probabilities = passes.score(inputs, maps, targets, every, "probability")
        with torch.inference_mode():
            baseline = check_logits(self.model(gaussian_blur(inputs))).softmax(dim=1).gather(1, targets[:, None])
            masks = normalize_maps(F.interpolate(maps, size=inputs.shape[-2:], mode="bilinear", align_corners=False))
            return torch.einsum("ng,nghw->nhw", probabilities - baseline, masks)
