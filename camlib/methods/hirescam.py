"""HiResCAM: the gradient times the activation, summed over channels (Draelos and Carin, 2020)."""

from __future__ import annotations

from torch import Tensor

from camlib.methods.base import LayerCapture
from camlib.methods.position_weights import PositionWeightedCAM


class HiResCAM(PositionWeightedCAM, key="hirescam", uses_gradients=True):
    r"""HiResCAM, from *Use HiResCAM instead of Grad-CAM for faithful explanations of convolutional neural
    networks* (Draelos and Carin, arXiv 2011.08891, 2020).

    Grad-CAM averages the gradient over positions before it multiplies the activations; HiResCAM keeps the
    gradient at each position:

    .. math:: L^c = \mathrm{ReLU}\Big(\sum_k \frac{\partial y^c}{\partial A_k} \odot A_k\Big)

    For a model that ends in global average pooling and one linear layer, the sum is the class score's
    contribution of each position (times the number of positions), which is the paper's argument for it.

    Cost: one forward and one backward pass (as Grad-CAM). No choice is left open; pytorch-grad-cam's
    ``HiResCAM`` computes the same map (tests/test_methods_extra_agreement.py).
    """

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        return capture.gradients
