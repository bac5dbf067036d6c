"""Grad-CAM: channels weighted by the mean gradient of the class logit (Selvaraju et al., 2017)."""

from __future__ import annotations

from torch import Tensor

from camlib.methods.base import BaseCAM, LayerCapture


class GradCAM(BaseCAM, key="gradcam", uses_gradients=True):
    r"""Grad-CAM, from `Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization
    <https://arxiv.org/abs/1610.02391>`_ (Selvaraju et al., ICCV 2017).

    Each channel is weighted by the spatial mean of the gradient of the class logit :math:`y^c`:

    .. math::
        w_k^c = \frac{1}{Z} \sum_{i,j} \frac{\partial y^c}{\partial A_k(i, j)}, \qquad
        L^c = \mathrm{ReLU}\Big(\sum_k w_k^c A_k\Big)

    One forward and one backward pass (examples: :class:`BaseCAM`).
    """

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        return capture.gradients.mean(dim=(2, 3))
