"""SmoothGrad-CAM++: Grad-CAM++ with gradient powers averaged over noisy inputs (Omeiza et al., 2019)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from camlib.methods.base import BaseCAM, LayerCapture, ProgressCallback
from camlib.methods.params import check_params
from camlib.methods.tokens import SpatialReshape
from camlib.methods.gradpp_weights import gradcampp_weights


class SmoothGradCAMpp(BaseCAM, key="smoothgradcampp"):  # no uses_gradients: the clean pass needs none, the noisy passes take their own
    r"""SmoothGrad-CAM++, from `Smooth Grad-CAM++: An Enhanced Inference Level Visualization Technique
    for Deep Convolutional Neural Network Models <https://arxiv.org/abs/1908.01224>`_ (Omeiza et al., 2019).

    Grad-CAM++ whose gradient powers are averaged over ``n_samples`` noisy copies of the input,
    :math:`x + \mathcal{N}(0, \sigma^2)` with :math:`\sigma` = ``noise_level`` × (max(x) − min(x)):

    .. math::
        \bar g^{(p)} = \frac{1}{n} \sum_{s=1}^{n} \Big(\frac{\partial y^c(x_s)}{\partial A_k}\Big)^p,\quad
        \alpha_k = \frac{\bar g^{(2)}}{2 \bar g^{(2)} + \sum_{a,b} A_k(a,b)\, \bar g^{(3)}},\quad
        w_k^c = \sum_{i,j} \alpha_k\, \mathrm{ReLU}(\bar g^{(1)})

    The map combines the activations :math:`A_k` of the clean input. Defaults: ``n_samples=8`` and
    ``noise_level=0.15`` (SmoothGrad recommends 10–20 % of the input range), with a fixed ``seed`` so
    the same call always gives the same map. Cost: one forward pass plus ``n_samples`` forward and
    backward passes.

    Called as ``SmoothGradCAMpp(model, "layer4", n_samples=2)(images, targets)`` (examples: :class:`BaseCAM`).

    Args:
        n_samples: number of noisy copies.
        noise_level: noise standard deviation as a fraction of each image's value range.
        seed: seed of the noise generator.
        progress: called as ``progress(done, n_samples)`` after each noisy pass.
        reshape: see :class:`~camlib.methods.base.BaseCAM`.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        n_samples: int = 8,
        noise_level: float = 0.15,
        seed: int = 0,
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
    ) -> None:
        check_params(type(self), {"n_samples": n_samples, "noise_level": noise_level, "seed": seed})
        super().__init__(model, target_layer, progress=progress, reshape=reshape)
        self.n_samples = n_samples
        self.noise_level = noise_level
        self.seed = seed

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        value_range = (inputs.amax(dim=(1, 2, 3)) - inputs.amin(dim=(1, 2, 3)))[:, None, None, None]
        sigma = self.noise_level * value_range
        grad_sum = grad_2_sum = grad_3_sum = None
        for sample in range(self.n_samples):
            noise = torch.randn(inputs.shape, generator=generator).to(inputs.device)
            noisy = self.capture(inputs + sigma * noise, targets, with_gradients=True)
            grad = noisy.gradients
            if grad_sum is None:
                grad_sum, grad_2_sum, grad_3_sum = grad.clone(), grad.pow(2), grad.pow(3)
            else:
                grad_sum += grad
                grad_2_sum += grad.pow(2)
                grad_3_sum += grad.pow(3)
            self.report_progress(sample + 1, self.n_samples)
        count = float(self.n_samples)
        return gradcampp_weights(capture.activations, grad_sum / count, grad_2_sum / count, grad_3_sum / count)
