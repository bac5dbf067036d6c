"""XGrad-CAM: gradients weighted by the activations, normalised per channel (Fu et al., 2020)."""

from __future__ import annotations

import torch
from torch import Tensor

from camlib.methods.base import BaseCAM, LayerCapture


class XGradCAM(BaseCAM, key="xgradcam", uses_gradients=True):
    r"""XGrad-CAM, from `Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation of CNNs
    <https://arxiv.org/abs/2008.02312>`_ (Fu, Hu, Dong, Liu, Liu and Zhang, BMVC 2020).

    The weight that satisfies the paper's two axioms (sensitivity, conservation) for a linear model:

    .. math::
        w_k^c = \sum_{i,j} \frac{A_k(i, j)}{\sum_{a,b} A_k(a, b)} \frac{\partial y^c}{\partial A_k(i, j)},
        \qquad L^c = \mathrm{ReLU}\Big(\sum_k w_k^c A_k\Big)

    Cost: one forward and one backward pass. Left open: the paper assumes non-negative activations (after a
    ReLU); on a layer before one, a channel whose activations sum to a negative number gets a weight of the
    opposite sign (camlib, like both peers, keeps the formula: choose a layer after a ReLU). A channel whose
    activations sum to 0 gets weight 0 here; pytorch-grad-cam adds 1e-7 to the
    sum and torchcam 1e-8 (the same weights for any channel whose sum is not almost 0).
    """

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        activations = capture.activations
        sums = activations.sum(dim=(2, 3))
        weighted = (capture.gradients * activations).sum(dim=(2, 3))
        return torch.where(sums != 0, weighted / torch.where(sums != 0, sums, torch.ones_like(sums)), torch.zeros_like(sums))
