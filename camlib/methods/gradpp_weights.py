"""Channel weights computed from the gradients at the target layer, shared by several methods."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def gradcampp_weights(activations: Tensor, grad: Tensor, grad_2: Tensor, grad_3: Tensor) -> Tensor:
    """Grad-CAM++ channel weights from the first three powers of the gradient (N, K, h, w) -> (N, K).

    alpha = g² / (2 g² + Σ_ij A · g³), the closed form for an exponential output, and
    w_k = Σ_ij alpha · ReLU(g). Grad-CAM++ and Grad++ScoreCAM pass the powers of one gradient;
    SmoothGrad-CAM++ passes gradient powers averaged over noisy inputs.
    """
    activation_sums = activations.sum(dim=(2, 3), keepdim=True)
    denominator = 2 * grad_2 + activation_sums * grad_3
    safe_denominator = torch.where(denominator != 0, denominator, torch.ones_like(denominator))
    alpha = torch.where(grad != 0, grad_2 / safe_denominator, torch.zeros_like(grad))
    return (alpha * F.relu(grad)).sum(dim=(2, 3))
