"""Recipro-CAM and Group-CAM, which neither peer library has, against hand loops written from the papers
and the authors' released code (read, not copied: the Recipro-CAM authors' ``ReciproCAM`` in
openvinotoolkit/training_extensions and its later official version, and wofmanaf/Group-CAM's
``cam/groupcam.py``). The loops take one position or one group at a time, hook nothing of camlib, and
use torchvision's Gaussian blur for Group-CAM's baseline. Tolerance: ``numpy.allclose`` with atol 1e-5 on
maps in [0, 1]. Each test has a planted error it catches: the wrong class, or the other kernel / no threshold.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from conftest import make_tiny_gap_net
from torch import nn

from camlib.methods import GroupCAM, ReciproCAM
from camlib.methods.map_ops import normalize_maps

GAUSSIAN = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16


def minmax(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def upsampled(low: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Upsample (h, w) bilinearly with half-pixel centres and min-max normalise, as camlib finishes a map."""
    tensor = torch.as_tensor(low, dtype=torch.float32)[None, None]
    return normalize_maps(F.interpolate(tensor, size=size, mode="bilinear", align_corners=False))[0, 0].numpy()


def recipro_by_hand(features: torch.Tensor, tail, target: int, kernel: str) -> np.ndarray:
    """Recipro-CAM's map (h, w) for one image: each position's vector alone (or spread by the 3 × 3
    Gaussian, cut at the borders) through the layers after the target layer; the class probability."""
    channels, height, width = features.shape
    scores = np.zeros((height, width))
    for i in range(height):
        for j in range(width):
            masked = torch.zeros_like(features)
            if kernel == "point":
                masked[:, i, j] = features[:, i, j]
            else:
                for di in (-1, 0, 1):
                    for dj in (-1, 0, 1):
                        if 0 <= i + di < height and 0 <= j + dj < width:
                            masked[:, i + di, j + dj] = features[:, i, j] * GAUSSIAN[di + 1, dj + 1]
            with torch.no_grad():
                scores[i, j] = tail(masked[None]).softmax(dim=1)[0, target].item()
    return scores


class ConcatNet(nn.Module):
    """The layer after ``features`` concatenates an earlier tensor: the batch cannot grow at ``features``,
    so camlib's passes must fall back to running the whole model once per position."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(12)
        self.stem = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.features = nn.Conv2d(4, 6, 3, padding=1)
        self.fc = nn.Linear(10, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        early = torch.relu(self.stem(x))
        return self.tail(early, self.features(early))

    def tail(self, early: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.cat([early, torch.relu(features)], dim=1).mean(dim=(2, 3)))


def recipro_low_res(method: ReciproCAM, inputs: torch.Tensor, targets: list[int]) -> np.ndarray:
    """camlib's Recipro-CAM scores (N, h, w), before upsampling and normalisation."""
    capture = method.capture(inputs, targets, with_gradients=False)
    return method.channel_weights(inputs, torch.tensor(targets), capture).numpy()


@pytest.mark.parametrize("kernel", ["point", "gaussian"])
def test_reciprocam_matches_the_hand_loop(kernel):
    """The scores at the layer's resolution to 1e-6 (they are probabilities); the final map to 1e-5 with
    the point kernel. (The Gaussian kernel's scores span less than 1e-3 on this net, so normalising them
    magnifies float32 rounding beyond 1e-5.)"""
    model = make_tiny_gap_net(seed=13, channels=8)
    inputs = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(14))
    with torch.no_grad():
        features = torch.relu(model.features(model.act(model.stem(inputs))))

    def tail(masked):
        return model.fc(masked.mean(dim=(2, 3)))

    method = ReciproCAM(model, "act2", kernel=kernel, batch_size=5)
    ours = recipro_low_res(method, inputs, [1, 4])
    for image, target in enumerate([1, 4]):
        expected = recipro_by_hand(features[image], tail, target, kernel)
        assert np.allclose(ours[image], expected, atol=1e-6)
        wrong = recipro_by_hand(features[image], tail, (target + 1) % 5, kernel)  # planted: another class
        assert not np.allclose(ours[image], wrong, atol=1e-6)
        if kernel == "point":
            assert np.allclose(method(inputs, [1, 4])[image], upsampled(expected, (16, 16)), atol=1e-5)
    other_kernel = ReciproCAM(model, "act2", kernel="gaussian" if kernel == "point" else "point")  # planted
    assert not np.allclose(recipro_low_res(other_kernel, inputs, [1, 4]), ours, atol=1e-6)


def test_reciprocam_falls_back_when_the_batch_cannot_grow_at_the_layer():
    model = ConcatNet().eval()
    inputs = torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(15))
    with torch.no_grad():
        early = torch.relu(model.stem(inputs))
        features = model.features(early)
    expected = upsampled(recipro_by_hand(features[0], lambda masked: model.tail(early, masked), 2, "point"), (12, 12))
    assert np.allclose(ReciproCAM(model, "features")(inputs, [2])[0], expected, atol=1e-4)  # batched vs single passes round apart by ~2e-5


def groupcam_by_hand(model, layer: nn.Module, image: torch.Tensor, target: int, groups: int, percentile: float) -> np.ndarray:
    """Group-CAM as its authors' loop does it, for one image (1, C, H, W)."""
    recorded = {}
    handle = layer.register_forward_hook(lambda _m, _i, output: recorded.update(a=output))
    with torch.enable_grad():
        logits = model(image)
        (gradients,) = torch.autograd.grad(logits[0, target], recorded["a"])
    handle.remove()
    activations = recorded["a"].detach() * gradients.mean(dim=(2, 3), keepdim=True)
    blurred = TF.gaussian_blur(image, [51, 51], [50.0, 50.0])
    with torch.no_grad():
        baseline = model(blurred).softmax(dim=1)[0, target].item()
    saliency = torch.zeros(image.shape[-2:])
    for chunk in activations.chunk(groups, dim=1):
        group = torch.relu(chunk.sum(dim=1, keepdim=True))
        threshold = np.percentile(group.numpy(), percentile)
        group = torch.where(group > threshold, group, torch.zeros_like(group))
        mask = F.interpolate(group, size=image.shape[-2:], mode="bilinear", align_corners=False)
        if mask.max() == mask.min():
            continue
        mask = (mask - mask.min()) / (mask.max() - mask.min())
        with torch.no_grad():
            score = model(image * mask + blurred * (1 - mask)).softmax(dim=1)[0, target].item() - baseline
        saliency += score * mask[0, 0]
    return minmax(torch.relu(saliency).numpy())


def test_groupcam_matches_the_hand_loop():
    """64 channels in 32 groups of 2; 32 × 32 inputs, so the blur's 51-pixel kernel fits as in the paper."""
    model = make_tiny_gap_net(seed=16, channels=64)
    inputs = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(17))
    ours = GroupCAM(model, "act2", batch_size=8)(inputs, [0, 3])
    for image, target in enumerate([0, 3]):
        expected = groupcam_by_hand(model, model.act2, inputs[image : image + 1], target, 32, 70.0)
        assert np.allclose(ours[image], expected, atol=1e-5)
        wrong = groupcam_by_hand(model, model.act2, inputs[image : image + 1], (target + 1) % 5, 32, 70.0)  # planted
        assert not np.allclose(ours[image], wrong, atol=1e-5)
    unthresholded = GroupCAM(model, "act2", percentile=0.0)(inputs, [0, 3])  # planted: no threshold
    assert not np.allclose(unthresholded, ours, atol=1e-5)


class TokenNet(nn.Module):
    """A small model that turns its maps into tokens (N, D, T) after ``stem``."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(18)
        self.stem = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.tokens = nn.Flatten(2)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.tokens(self.stem(x))  # (N, 4, T)
        return self.fc(tokens.mean(dim=2))


def test_feature_replacing_methods_refuse_a_layer_that_is_not_a_map():
    """Features of another shape than the layer's output (as a layer of tokens would get) are refused in
    one clear error, not a traceback from deep inside the model; the same call with features of the
    layer's shape works (the check does not refuse everything)."""
    from camlib.errors import MethodNotApplicableError
    from camlib.methods.feature_passes import FeaturePasses

    model = TokenNet().eval()
    inputs = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(19))
    items = torch.eye(16).reshape(1, 16, 4, 4)
    wrong = FeaturePasses(model, model.stem, lambda chosen: torch.zeros(len(chosen), 5, 4, 4), lambda logits, t: logits[:, 0])
    with pytest.raises(MethodNotApplicableError, match="convolutional layer"):
        wrong.score(inputs, items, torch.tensor([0]), torch.arange(16)[None], "probability")
    right = FeaturePasses(model, model.stem, lambda chosen: torch.zeros(len(chosen), 4, 4, 4), lambda logits, t: logits[:, 0])
    assert right.score(inputs, items, torch.tensor([0]), torch.arange(16)[None], "probability").shape == (1, 16)
