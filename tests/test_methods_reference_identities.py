"""Reference tests: CAM, Grad-CAM, Grad-CAM++ and Score-CAM against hand computations and identities.

The references here are independent of camlib's code paths: activations come from running the tiny
model's modules in turn or from numpy, gradients from the closed form of a tiny model, and Score-CAM's
channel loop is written out one channel at a time. (Grad++ScoreCAM, SmoothGrad-CAM++ and the fast
Score-CAM: tests/test_methods_reference.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from conftest import make_tiny_gap_net, pearson, random_inputs, tiny_activations
from torch import nn

from camlib.methods import CAM, GradCAM, GradCAMpp, GradPPScoreCAM, ScoreCAM


def min_max(maps: np.ndarray) -> np.ndarray:
    """Min-max normalise each (H, W) map of a stack; a constant map becomes zeros."""
    out = np.zeros_like(maps, dtype=np.float64)
    for index, single in enumerate(maps):
        span = single.max() - single.min()
        if span > 0:
            out[index] = (single - single.min()) / span
    return out


# -- CAM, Grad-CAM and Grad-CAM++ ---------------------------------------------------------------


@pytest.mark.parametrize("build", ["tiny", "resnet18"])
def test_cam_equals_gradcam_on_gap_linear_head(build):
    """With GAP + one linear layer, d y_c / d A_k(i, j) = W[c, k] / (h w): Grad-CAM's weights are CAM's
    divided by h w, so the normalised maps coincide."""
    if build == "tiny":
        model, layer, size = make_tiny_gap_net(seed=1), "act2", 24  # act2 feeds the pooling
    else:
        torch.manual_seed(1)
        model, layer, size = torchvision.models.resnet18(weights=None, num_classes=10).eval(), "layer4", 96
    inputs = random_inputs(3, 3, size, size)
    targets = [0, 2, 4]
    cam = CAM(model, layer, classifier_layer="fc")(inputs, targets)
    gradcam = GradCAM(model, layer)(inputs, targets)
    for image in range(3):
        assert pearson(cam[image], gradcam[image]) >= 0.999
    np.testing.assert_allclose(cam, gradcam, atol=1e-4)


class OnePixelConvNet(nn.Module):
    """1×1 conv (the target layer, stride 1, so the map needs no upsampling) -> ReLU -> GAP -> linear."""

    def __init__(self, channels: int = 4, classes: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))


@pytest.fixture
def one_pixel_net():
    torch.manual_seed(3)
    return OnePixelConvNet().eval()


def hand_activations_and_gradients(model: OnePixelConvNet, inputs: torch.Tensor, targets: list[int]):
    """A = W_conv x + b in numpy, and d y_c / d A = W_fc[c, k] · [A > 0] / (h w) in closed form."""
    x = inputs.numpy().astype(np.float64)
    conv_w = model.conv.weight.detach().numpy()[:, :, 0, 0].astype(np.float64)  # (K, 3)
    conv_b = model.conv.bias.detach().numpy().astype(np.float64)
    fc_w = model.fc.weight.detach().numpy().astype(np.float64)  # (C, K)
    activations = np.einsum("kc,nchw->nkhw", conv_w, x) + conv_b[None, :, None, None]
    area = activations.shape[2] * activations.shape[3]
    gradients = fc_w[targets][:, :, None, None] * (activations > 0) / area
    return activations, gradients


def gradcam_weights_by_hand(activations: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Grad-CAM: w_k = the mean of the gradient over positions."""
    return g.mean(axis=(2, 3))


def gradcampp_weights_by_hand(activations: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Grad-CAM++ (exponential output): alpha = g² / (2 g² + Σ A g³), 0 where g = 0; w_k = Σ alpha ReLU(g)."""
    sums = activations.sum(axis=(2, 3), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(g != 0, g**2 / (2 * g**2 + sums * g**3), 0.0)
    return (alpha * np.maximum(g, 0)).sum(axis=(2, 3))


@pytest.mark.parametrize(
    ("method", "hand_weights", "seed", "targets"),
    [(GradCAM, gradcam_weights_by_hand, 7, [0, 2]), (GradCAMpp, gradcampp_weights_by_hand, 11, [1, 2])],
    ids=["gradcam", "gradcampp"],
)
def test_gradient_method_matches_hand_computation(one_pixel_net, method, hand_weights, seed, targets):
    inputs = random_inputs(2, 3, 6, 7, seed=seed)
    activations, gradients = hand_activations_and_gradients(one_pixel_net, inputs, targets)
    assert (activations < 0).any() and (activations > 0).any(), "the ReLU must cut some values for this to test anything"
    weights = hand_weights(activations, gradients)
    expected = min_max(np.maximum(np.einsum("nk,nkhw->nhw", weights, activations), 0))
    maps = method(one_pixel_net, "conv")(inputs, targets)
    np.testing.assert_allclose(maps, expected, atol=1e-5)


def test_cam_matches_hand_computation(one_pixel_net):
    """CAM at the ReLU that feeds the pooling: weights are the classifier's row for the class."""
    inputs = random_inputs(2, 3, 6, 7, seed=12)
    targets = [2, 0]
    activations, _ = hand_activations_and_gradients(one_pixel_net, inputs, targets)
    activations = np.maximum(activations, 0)
    fc_w = one_pixel_net.fc.weight.detach().numpy().astype(np.float64)
    expected = min_max(np.maximum(np.einsum("nk,nkhw->nhw", fc_w[targets], activations), 0))
    maps = CAM(one_pixel_net, "relu", classifier_layer="fc")(inputs, targets)
    np.testing.assert_allclose(maps, expected, atol=1e-5)


# -- Score-CAM ----------------------------------------------------------------------------------------


@pytest.fixture
def score_net():
    """A tiny GAP net whose channel 0 is dead after the ReLU (a constant channel gets no pass).

    The classifier is scaled up so that the logits spread over a few units, as in a trained network;
    with near-equal logits every weighting would give nearly the same map.
    """
    model = make_tiny_gap_net(seed=5, channels=8)
    with torch.no_grad():
        model.features.bias[0] = -1e4
        model.fc.weight.mul_(30)
    return model


def hand_scorecam(model: nn.Module, layer: str, inputs: torch.Tensor, targets: list[int], score: str) -> np.ndarray:
    """Score-CAM written out channel by channel, after the paper (logit) and the authors' code (probability).

    logit: C_k = f_c(X ∘ H_k) - f_c(0), α = softmax_k(C); probability: α_k = softmax(f(X ∘ H_k))_c.
    A constant channel has no mask: it scores 0 (logit: its masked input is the baseline) and the
    authors' code skips it (probability).
    """
    activations = torch.from_numpy(tiny_activations(model, inputs, layer)).float()
    size = inputs.shape[-2:]
    maps = []
    with torch.no_grad():
        for image, target in enumerate(targets):
            x = inputs[image : image + 1]
            baseline = model(torch.zeros_like(x))[0, target]
            weights = []
            for channel in range(activations.shape[1]):
                up = F.interpolate(activations[image, channel][None, None], size=size, mode="bilinear", align_corners=False)
                if up.max() == up.min():
                    weights.append(0.0)
                    continue
                mask = (up - up.min()) / (up.max() - up.min())
                logits = model(x * mask)[0]
                if score == "logit":
                    weights.append(float(logits[target] - baseline))
                else:
                    weights.append(float(logits.softmax(0)[target]))
            weights = torch.tensor(weights, dtype=torch.float64)
            if score == "logit":
                weights = weights.softmax(0)
            low = torch.relu(torch.einsum("k,khw->hw", weights, activations[image].double()))
            up = F.interpolate(low[None, None].float(), size=size, mode="bilinear", align_corners=False)[0, 0]
            maps.append(up.numpy())
    return min_max(np.stack(maps))


def test_scorecam_logit_matches_hand_loop(score_net):
    inputs = random_inputs(2, 3, 16, 16)
    targets = [1, 3]
    assert (tiny_activations(score_net, inputs, "act2")[:, 0] == 0).all()
    maps = ScoreCAM(score_net, "act2", score="logit", batch_size=3)(inputs, targets)
    np.testing.assert_allclose(maps, hand_scorecam(score_net, "act2", inputs, targets, "logit"), atol=1e-5)


def test_scorecam_probability_weights_are_probabilities(score_net):
    inputs = random_inputs(2, 3, 16, 16, seed=8)
    targets = [1, 3]
    maps = ScoreCAM(score_net, "act2", score="probability", batch_size=3)(inputs, targets)
    expected = hand_scorecam(score_net, "act2", inputs, targets, "probability")
    np.testing.assert_allclose(maps, expected, atol=1e-5)
    # The logit form (softmax across channels) is a different map, so the check above can tell them apart.
    logit_form = ScoreCAM(score_net, "act2", score="logit", batch_size=3)(inputs, targets)
    assert np.abs(logit_form - expected).max() > 1e-2


def test_scorecam_perturbation_size_runs_masked_passes_at_that_resolution(score_net):
    """With perturbation_size equal to the input's size the result is the full-resolution one."""
    inputs = random_inputs(1, 3, 16, 16, seed=9)
    full = ScoreCAM(score_net, "act2")(inputs, [2])
    same = ScoreCAM(score_net, "act2", perturbation_size=16)(inputs, [2])
    np.testing.assert_allclose(full, same, atol=1e-6)
    assert ScoreCAM(score_net, "act2", perturbation_size=8)(inputs, [2]).shape == (1, 16, 16)


@pytest.mark.parametrize("top_k", [8, None])
def test_gradpp_scorecam_on_all_channels_with_softmax_is_scorecam(score_net, top_k):
    inputs = random_inputs(2, 3, 16, 16, seed=10)
    targets = [0, 4]
    scorecam = ScoreCAM(score_net, "act2", score="logit", batch_size=5)(inputs, targets)
    gradpp = GradPPScoreCAM(score_net, "act2", top_k=top_k, combination="softmax", batch_size=5)(inputs, targets)
    np.testing.assert_allclose(gradpp, scorecam, atol=1e-6)
