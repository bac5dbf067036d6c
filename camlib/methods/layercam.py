"""LayerCAM: the positive gradient at each position times the activation (Jiang et al., 2021)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from camlib.methods.base import LayerCapture
from camlib.methods.position_weights import PositionWeightedCAM


class LayerCAM(PositionWeightedCAM, key="layercam", uses_gradients=True):
    r"""LayerCAM, from `LayerCAM: Exploring Hierarchical Class Activation Maps for Localization
    <https://doi.org/10.1109/TIP.2021.3089943>`_ (Jiang, Zhang, Hou, Cheng and Wei, IEEE Transactions on
    Image Processing 30, 2021).

    Each position of each channel is weighted by its own positive gradient:

    .. math:: L^c = \mathrm{ReLU}\Big(\sum_k \mathrm{ReLU}\Big(\frac{\partial y^c}{\partial A_k}\Big) \odot A_k\Big)

    Cost: one forward and one backward pass. Left open: the paper fuses the maps of several layers, and
    scales the maps of shallow layers with :math:`\tanh(2 L / \max L)` before fusing. camlib explains one
    layer, so it neither fuses nor scales (as pytorch-grad-cam's and torchcam's ``LayerCAM`` do with one
    layer; both are compared in tests/test_methods_extra_agreement.py).
    """

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        return F.relu(capture.gradients)
