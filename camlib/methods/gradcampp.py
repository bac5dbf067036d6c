"""Grad-CAM++: channels weighted by positive gradients with pixel-wise alphas (Chattopadhay et al., 2018)."""

from __future__ import annotations

from torch import Tensor

from camlib.methods.base import BaseCAM, LayerCapture
from camlib.methods.gradpp_weights import gradcampp_weights


class GradCAMpp(BaseCAM, key="gradcampp", uses_gradients=True):
    r"""Grad-CAM++, from `Grad-CAM++: Improved Visual Explanations for Deep Convolutional Networks
    <https://arxiv.org/abs/1710.11063>`_ (Chattopadhay et al., WACV 2018).

    With :math:`g = \partial y^c / \partial A_k(i, j)` and the closed form for an exponential output,

    .. math::
        \alpha_k(i, j) = \frac{g^2}{2 g^2 + \sum_{a,b} A_k(a, b)\, g^3}, \qquad
        w_k^c = \sum_{i,j} \alpha_k(i, j)\, \mathrm{ReLU}(g), \qquad
        L^c = \mathrm{ReLU}\Big(\sum_k w_k^c A_k\Big)

    One forward and one backward pass (examples: :class:`BaseCAM`).
    """

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        grad = capture.gradients
        return gradcampp_weights(capture.activations, grad, grad.pow(2), grad.pow(3))
