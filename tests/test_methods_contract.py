"""Contract tests of the six methods: the output's type, shape and range, degenerate activations, the
target forms, autograd contexts, and how many masked passes a setting runs.

(That a method leaves the model as it found it, works from several threads and reports progress:
tests/test_hygiene.py; many threads for a long time: tests/test_soak.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_every_method, make_tiny_gap_net, random_inputs
from torch import nn

from camlib.methods import GradCAM, GradPPScoreCAM


def all_methods(model: nn.Module, layer: str) -> dict[str, object]:
    """One instance of each of the six methods, with cheap settings; Grad++ScoreCAM scores every channel."""
    return make_every_method(model, layer, gradpp_scorecam={"top_k": None})


class ConstantLayerNet(nn.Module):
    """The target layer ``const`` outputs the same value everywhere, whatever the input."""

    def __init__(self, value: float, channels: int = 4) -> None:
        super().__init__()
        self.value = value
        self.conv = nn.Conv2d(3, channels, 3, padding=1)
        self.const = Constant(value)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.const(self.conv(x))).flatten(1))


class Constant(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0 + self.value


@pytest.mark.parametrize("value", [0.0, 1.5])
def test_constant_activation_gives_zero_map_not_nan(value):
    torch.manual_seed(0)
    model = ConstantLayerNet(value).eval()
    inputs = random_inputs(2, 3, 10, 10)
    for key, method in all_methods(model, "const").items():
        maps = method(inputs, [0, 2])
        assert not np.isnan(maps).any(), key
        assert (maps == 0).all(), key


@pytest.mark.parametrize("size", [(20, 28), (17, 17)])
def test_output_contract(size):
    model = make_tiny_gap_net(seed=2)
    inputs = random_inputs(3, 3, *size)
    for key, method in all_methods(model, "act2").items():
        maps = method(inputs, [0, 1, 4])
        assert isinstance(maps, np.ndarray), key
        assert maps.dtype == np.float32, key
        assert maps.shape == (3, *size), key
        assert np.isfinite(maps).all(), key
        for single in maps:
            # min-max normalised: exactly [0, 1] unless the whole map is zero
            if single.any():
                assert single.min() == 0.0 and single.max() == pytest.approx(1.0, abs=1e-6), key
            assert 0.0 <= single.min() and single.max() <= 1.0, key


def test_target_forms_and_top1_default():
    model = make_tiny_gap_net(seed=4)
    inputs = random_inputs(2, 3, 16, 16)
    with torch.no_grad():
        top1 = model(inputs).argmax(1)
    method = GradCAM(model, "act2")
    expected = method(inputs, top1.tolist())
    np.testing.assert_array_equal(method(inputs, None), expected)
    np.testing.assert_array_equal(method(inputs, top1), expected)
    np.testing.assert_array_equal(method(inputs, top1.numpy()), expected)
    single = method(inputs, 3)
    np.testing.assert_array_equal(single, method(inputs, [3, 3]))


@pytest.mark.parametrize("context", ["no_grad", "inference_mode"])
def test_methods_work_inside_no_grad_and_inference_mode(context):
    """Callers often wrap inference in torch.no_grad() or torch.inference_mode(); the gradient methods
    must still get their gradients, and give the same maps as outside."""
    model = make_tiny_gap_net(seed=4)
    inputs = random_inputs(2, 3, 16, 16)
    expected = {key: method(inputs, [1, 3]) for key, method in all_methods(model, "act2").items()}
    guard = torch.no_grad if context == "no_grad" else torch.inference_mode
    with guard():
        inner_inputs = inputs.clone()  # created inside the context, as a caller's tensors would be
        inner_targets = torch.tensor([1, 3])
        for key, method in all_methods(model, "act2").items():
            np.testing.assert_allclose(method(inner_inputs, inner_targets), expected[key], atol=1e-6, err_msg=key)


def test_gradpp_scorecam_scores_only_top_k_channels():
    """top_k=2 runs 2 masked passes per image: one progress step per pass with batch_size=1."""
    model = make_tiny_gap_net(seed=5, channels=8)
    calls = []
    method = GradPPScoreCAM(model, "act2", top_k=2, batch_size=1, progress=lambda done, total: calls.append((done, total)))
    method(random_inputs(2, 3, 16, 16), [1, 2])
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
