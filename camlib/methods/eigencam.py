"""Eigen-CAM: the activations projected on their first principal component (Muhammad and Yeasin, 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from camlib.methods.base import BaseCAM, LayerCapture, ProgressCallback
from camlib.methods.params import check_params
from camlib.methods.tokens import SpatialReshape


def centred_positions(activations: Tensor) -> Tensor:
    """(N, K, h, w) activations as (N, h·w, K) rows of positions, each channel's mean over positions removed."""
    rows = activations.flatten(2).transpose(1, 2)
    return rows - rows.mean(dim=1, keepdim=True)


class EigenCAM(BaseCAM, key="eigencam"):
    r"""Eigen-CAM, from `Eigen-CAM: Class Activation Map using Principal Components
    <https://arxiv.org/abs/2008.00299>`_ (Muhammad and Yeasin, IJCNN 2020).

    The activations, as an (h·w) × K matrix of positions, are centred per channel and decomposed,
    :math:`A - \bar A = U \Sigma V^\top`; the map is their projection on the first right singular vector:

    .. math:: L = \mathrm{ReLU}\big((A - \bar A)\, v_1\big), \qquad w_k = (v_1)_k

    The map does not depend on the class: every target gets the same map.

    Cost: one forward pass and one singular value decomposition; no gradient.

    Left open, and camlib's choices:

    - *Centring*: the paper decomposes the activations as they are; pytorch-grad-cam's ``EigenCAM``
      subtracts each channel's mean first, and camlib follows it (the first component of uncentred
      non-negative activations is close to their mean, a blur of every channel). ``centred=False`` gives the paper's form.
    - *Sign*: a singular vector's sign is arbitrary, and pytorch-grad-cam keeps whatever the SVD returns, so
      its map may come out as the negative image. camlib picks the sign whose weights sum to a positive
      number, which is the sign for which the map correlates positively with the sum of the centred channels.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        centred: bool = True,
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
    ) -> None:
        check_params(type(self), {"centred": centred})
        super().__init__(model, target_layer, progress=progress, reshape=reshape)
        self.centred = centred

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        activations = capture.activations.double()
        rows = centred_positions(activations) if self.centred else activations.flatten(2).transpose(1, 2)
        first = torch.linalg.svd(rows, full_matrices=False).Vh[:, 0, :]
        sign = torch.where(first.sum(dim=1, keepdim=True) < 0, -1.0, 1.0).to(first.dtype)
        return (first * sign).float()

    def combine(self, weights: Tensor, activations: Tensor) -> Tensor:
        if self.centred:
            activations = activations - activations.mean(dim=(2, 3), keepdim=True)
        return F.relu(torch.einsum("nk,nkhw->nhw", weights, activations))
