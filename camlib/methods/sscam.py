"""SS-CAM: Score-CAM with each channel's score averaged over noisy masks (Wang et al., 2020)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from camlib.methods.base import LayerCapture, ProgressCallback
from camlib.methods.masked_passes import MaskedPassCAM, perturbation_shape
from camlib.methods.params import check_params
from camlib.methods.repeated_passes import averaged_channel_scores
from camlib.methods.tokens import SpatialReshape


class SSCAM(MaskedPassCAM, key="sscam"):
    r"""SS-CAM, from `SS-CAM: Smoothed Score-CAM for Sharper Visual Feature Localization
    <https://arxiv.org/abs/2006.14255>`_ (Wang, Naidu, Mardziel and Hu, arXiv 2006.14255, 2020).

    Score-CAM's score of channel :math:`k` averaged over ``n_samples`` masks with Gaussian noise added:

    .. math::
        C_k = \frac{1}{n} \sum_{s=1}^{n} f^c\big(X \circ (H_k + \delta_s)\big) - f^c(X_b), \qquad
        \delta_s \sim \mathcal{N}(0, \sigma^2), \qquad
        L^c = \mathrm{ReLU}\Big(\sum_k \mathrm{softmax}_k(C_k) A_k\Big)

    with :math:`H_k` Score-CAM's smooth mask (upsampled, min-max normalised) and :math:`\sigma` = ``noise_std``.

    Cost: one forward pass plus ``n_samples`` masked passes per non-constant channel (``n_samples`` times
    Score-CAM's), on Score-CAM's batches (:class:`~camlib.methods.masked_passes.MaskedPasses`).

    Left open, and camlib's choices:

    - *Where the noise goes*: the paper smooths either the mask or the input; camlib, like torchcam's
      ``SSCAM``, adds it to the mask at the input's resolution, with torchcam's :math:`\sigma = 2`.
    - *The noise across channels*: torchcam draws it independently for each channel; camlib draws one noise
      image per sample, image and call, and uses it for every channel (common random numbers: each
      channel's score has the same expectation, and the differences between channels, which the softmax
      reads, carry less noise). Seeded by ``seed``: the same call gives the same map.
    - *Samples*: torchcam takes 35; camlib 10 by default, to bound the cost (``n_samples=35`` for torchcam's).
    - A constant channel scores 0 without passes, as in Score-CAM.

    Args:
        n_samples: noisy masks per channel.
        noise_std: standard deviation of the noise added to the masks (which lie in [0, 1]).
        sampled_channels, seed, batch_size, perturbation_size, mixed_precision, progress: see
            :class:`~camlib.methods.masked_passes.MaskedPassCAM` (``seed`` also seeds the noise).
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        n_samples: int = 10,
        noise_std: float = 2.0,
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
        **options,
    ) -> None:
        check_params(type(self), {"n_samples": n_samples, "noise_std": noise_std, **options})
        super().__init__(model, target_layer, progress=progress, reshape=reshape, **options)
        self.n_samples = n_samples
        self.noise_std = noise_std

    def noise(self, batch: int, height: int, width: int) -> Tensor:
        """The noise images (n_samples, batch, h, w) at the passes' resolution, drawn in that order from ``seed``."""
        size = self.masked_passes.options.perturbation_size
        if size is not None:
            height, width = perturbation_shape(height, width, size)
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        return self.noise_std * torch.randn(self.n_samples, batch, height, width, generator=generator)

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        noise = self.noise(len(inputs), *inputs.shape[-2:]).to(inputs.device)

        def change_for(sample: int, image: int):
            return lambda masks: masks + noise[sample, image]

        scores = averaged_channel_scores(self, inputs, capture.activations, targets, change_for, self.n_samples)
        return scores.softmax(dim=1)
