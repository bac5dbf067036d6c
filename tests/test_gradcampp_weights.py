"""Grad-CAM++'s channel weights, the formula Grad-CAM++, SmoothGrad-CAM++ and Grad++ScoreCAM share
(``camlib.methods.gradpp_weights.gradcampp_weights``), against pytorch-grad-cam 1.5.7's own weights.

The maps alone cannot pin the formula: on a network whose gradient is flat in space (global average
pooling right after the layer) every variant below gives the same map up to rounding, and on a random
ResNet-18 the maps of the broken variants still correlate 0.99 or more with the peer's. So the test
compares the **weights** themselves, on networks whose gradient varies from position to position:

- a small conv net whose head is one linear layer over the flattened map (every position has its own
  gradient, of either sign), at its last ReLU;
- a random ResNet-18 at ``layer3`` (its gradient flows through ``layer4``'s 3×3 convolutions).

The peer's weights are what ``GradCAMPlusPlus.get_cam_weights`` returns inside the peer's own run (its own
hooks and backward pass, on a deep copy of the model). The peer adds 1e-6 to the denominator; with the
gradients scaled so that 2 g² stays far above 1e-6 where it matters, the two agree to ``RTOL`` and
``ATOL`` (relative to the largest weight). Three broken formulas, planted by monkeypatching the function
Grad-CAM++ calls, must fail the same check (measured: each misses by 0.036 to 3.4 times the largest weight,
where the real formula is within 3e-7 of it): ``mean(ReLU(g))`` (Grad-CAM with positive gradients), the
sum without ``ReLU(g)``, and a factor 1 instead of 2 in the denominator.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from pytorch_grad_cam import GradCAMPlusPlus as PeerGradCAMPlusPlus
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

import camlib.methods.gradcampp as gradcampp_module
from camlib.methods import GradCAMpp

RTOL = 1e-4
ATOL = 1e-5  # times the largest weight of the image


class FlatHeadNet(nn.Module):
    """conv -> ReLU -> conv -> ReLU (``act``) -> flatten -> linear: the gradient at ``act`` is the linear
    layer's weight for that position and channel, so it varies in space and takes both signs."""

    def __init__(self, size: int = 12, channels: int = 6, classes: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.features = nn.Conv2d(8, channels, 3, padding=1)
        self.act = nn.ReLU()
        self.head = nn.Linear(channels * size * size, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.features(F.relu(self.stem(x)))).flatten(1))


def _flat_head_case():
    torch.manual_seed(0)
    model = FlatHeadNet().eval()
    with torch.no_grad():
        model.head.weight.mul_(1e3)  # lifts the gradients far above the peer's eps of 1e-6
    inputs = torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    return model, "act", inputs, [1, 3]


def _resnet18_case():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    with torch.no_grad():
        model.fc.weight.mul_(1e4)  # as above
    inputs = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    return model, "layer3", inputs, [3, 7]


CASES = {"flat_head_net": _flat_head_case, "resnet18_layer3": _resnet18_case}


def peer_weights(model: nn.Module, layer: str, inputs: torch.Tensor, targets: list[int]) -> np.ndarray:
    """(N, K) weights from pytorch-grad-cam's own Grad-CAM++ run, recorded as its get_cam_weights returns them."""
    reference = copy.deepcopy(model).requires_grad_(True)
    recorded = []
    with PeerGradCAMPlusPlus(reference, [reference.get_submodule(layer)]) as cam:
        original = cam.get_cam_weights

        def record(*args, **kwargs):
            weights = original(*args, **kwargs)
            recorded.append(np.asarray(weights, dtype=np.float64))
            return weights

        cam.get_cam_weights = record
        cam(inputs, [ClassifierOutputTarget(t) for t in targets])
    assert len(recorded) == 1
    return recorded[0]


def camlib_weights(model: nn.Module, layer: str, inputs: torch.Tensor, targets: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) weights from camlib's Grad-CAM++, and the gradient they came from."""
    method = GradCAMpp(model, layer)
    target_tensor = torch.tensor(targets)
    capture = method.capture(inputs, target_tensor, with_gradients=True)
    weights = method.channel_weights(inputs, target_tensor, capture)
    return weights.double().numpy(), capture.gradients.double().numpy()


def weights_agree(ours: np.ndarray, theirs: np.ndarray) -> bool:
    scale = np.abs(theirs).max(axis=1, keepdims=True)
    return bool(np.all(np.abs(ours - theirs) <= ATOL * scale + RTOL * np.abs(theirs)))


def _mean_of_positive_gradients(activations, grad, grad_2, grad_3):
    return F.relu(grad).mean(dim=(2, 3))


def _without_relu(activations, grad, grad_2, grad_3):
    denominator = 2 * grad_2 + activations.sum(dim=(2, 3), keepdim=True) * grad_3
    alpha = torch.where(grad != 0, grad_2 / torch.where(denominator != 0, denominator, torch.ones_like(denominator)), 0.0)
    return (alpha * grad).sum(dim=(2, 3))


def _factor_one(activations, grad, grad_2, grad_3):
    denominator = grad_2 + activations.sum(dim=(2, 3), keepdim=True) * grad_3
    alpha = torch.where(grad != 0, grad_2 / torch.where(denominator != 0, denominator, torch.ones_like(denominator)), 0.0)
    return (alpha * F.relu(grad)).sum(dim=(2, 3))


BROKEN = {"mean_relu_g": _mean_of_positive_gradients, "relu_dropped": _without_relu, "factor_one": _factor_one}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    model, layer, inputs, targets = CASES[request.param]()
    return model, layer, inputs, targets, peer_weights(model, layer, inputs, targets)


def test_the_gradient_varies_in_space_so_the_formula_matters(case):
    """The cases are well posed: within a channel the gradient takes many values, some negative, some zero."""
    model, layer, inputs, targets, _ = case
    _, gradients = camlib_weights(model, layer, inputs, targets)
    spread = gradients.std(axis=(2, 3))
    assert np.median(spread / (np.abs(gradients).mean(axis=(2, 3)) + 1e-12)) > 0.3
    assert (gradients < 0).mean() > 0.1


def test_gradcampp_weights_match_pytorch_grad_cam(case):
    model, layer, inputs, targets, theirs = case
    ours, _ = camlib_weights(model, layer, inputs, targets)
    assert ours.shape == theirs.shape
    assert np.abs(theirs).max() > 0
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL * np.abs(theirs).max())
    assert weights_agree(ours, theirs)


@pytest.mark.parametrize("broken", list(BROKEN))
def test_a_broken_formula_fails_the_same_check(case, broken, monkeypatch):
    """Negative controls: each planted error in the formula is caught by the comparison above."""
    model, layer, inputs, targets, theirs = case
    monkeypatch.setattr(gradcampp_module, "gradcampp_weights", BROKEN[broken])
    ours, _ = camlib_weights(model, layer, inputs, targets)
    assert not weights_agree(ours, theirs), f"the {broken} variant passed the check"
