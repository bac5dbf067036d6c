"""The Score-CAM family's speed settings and memory bounds: exact results, bounded batches, OOM halving."""

import argparse

import numpy as np
import pytest
import torch
from torch import nn

from camlib.cli import _method_params
from camlib.errors import InvalidParameterError, UnknownMethodError
from camlib.methods import GradPPScoreCAM, ScoreCAM, speed_params
from conftest import make_tiny_gap_net


class Recording(nn.Module):
    """Wraps a model, records the shape of every batch it sees, and can fail like a full GPU."""

    def __init__(self, model: nn.Module, out_of_memory_above: int | None = None) -> None:
        super().__init__()
        self.inner = model
        self.out_of_memory_above = out_of_memory_above
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape))
        masked_pass = len(self.shapes) > 2  # the capture pass and the baseline pass come first
        if masked_pass and self.out_of_memory_above is not None and x.shape[0] > self.out_of_memory_above:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.inner(x)


def inputs(seed: int = 0, size: int = 32) -> torch.Tensor:
    return torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_masked_passes_never_exceed_the_batch_size():
    model = Recording(make_tiny_gap_net(channels=16))
    ScoreCAM(model, "inner.act2", batch_size=5)(inputs(), [1, 2])
    masked_batches = [shape[0] for shape in model.shapes[1:]]  # after the capture pass
    assert max(masked_batches) <= 5
    assert sum(masked_batches) >= 16  # every non-constant channel of both images was scored


def test_out_of_memory_halves_the_batch_and_gives_the_same_map():
    reference = ScoreCAM(Recording(make_tiny_gap_net(channels=16)), "inner.act2", batch_size=2)(inputs(), [1, 2])
    failing = Recording(make_tiny_gap_net(channels=16), out_of_memory_above=2)
    method = ScoreCAM(failing, "inner.act2", batch_size=8)
    result = method(inputs(), [1, 2])
    np.testing.assert_allclose(result, reference, atol=1e-6)
    assert method.notices == [
        "GPU out of memory: batch size halved to 4 and the batch retried.",
        "GPU out of memory: batch size halved to 2 and the batch retried.",
    ]
    assert method(inputs(), [1, 2]) is not None and len(method.notices) == 2  # notices belong to one call


def test_out_of_memory_at_batch_size_one_is_a_clear_error():
    failing = Recording(make_tiny_gap_net(channels=4), out_of_memory_above=0)
    with pytest.raises(InvalidParameterError, match="out of memory even at batch size 1"):
        ScoreCAM(failing, "inner.act2", batch_size=4)(inputs(), [1, 2])


def test_perturbation_size_runs_the_masked_passes_at_that_resolution():
    model = Recording(make_tiny_gap_net(channels=8))
    maps = GradPPScoreCAM(model, "inner.act2", top_k=4, perturbation_size=16)(inputs(size=48), [0, 1])
    assert maps.shape == (2, 48, 48)
    assert model.shapes[0][-2:] == (48, 48)  # the gradient pass sees the full input
    assert {shape[-2:] for shape in model.shapes[1:]} == {(16, 16)}


def test_mixed_precision_changes_nothing_on_the_cpu():
    model = make_tiny_gap_net(channels=8)
    exact = ScoreCAM(model, "act2")(inputs(), [1, 2])
    mixed = ScoreCAM(model, "act2", mixed_precision=True)(inputs(), [1, 2])
    np.testing.assert_array_equal(exact, mixed)


def test_channels_last_model_gives_the_same_map():
    model = make_tiny_gap_net(channels=8)
    contiguous = ScoreCAM(model, "act2")(inputs(), [1, 2])
    model = model.to(memory_format=torch.channels_last)
    np.testing.assert_allclose(ScoreCAM(model, "act2")(inputs(), [1, 2]), contiguous, atol=1e-5)


def test_speed_settings_by_name():
    assert speed_params("scorecam", "exact") == {}
    assert speed_params("scorecam", "fast") == {"perturbation_size": 112, "mixed_precision": True}
    assert speed_params("gradpp_scorecam", "fast")["perturbation_size"] == 112
    assert speed_params("gradcam", "fast") == {}
    with pytest.raises(UnknownMethodError):
        speed_params("scorecam", "ludicrous")
    args = argparse.Namespace(speed="fast", param=["scorecam.perturbation_size=64", "gradpp_scorecam.top_k=none"])
    params = _method_params(args, ["gradcam", "scorecam", "gradpp_scorecam"])
    assert params == {
        "gradcam": {},
        "scorecam": {"perturbation_size": 64, "mixed_precision": True},
        "gradpp_scorecam": {"perturbation_size": 112, "mixed_precision": True, "top_k": None},
    }


def test_too_small_perturbation_size_is_a_clear_error():
    import torchvision

    model = torchvision.models.alexnet(num_classes=4).eval()
    with pytest.raises(InvalidParameterError, match="perturbation_size=32 is too small"):
        ScoreCAM(model, "features.11", perturbation_size=32)(torch.rand(1, 3, 224, 224), [1])


def test_run_method_passes_the_notices_on(monkeypatch):
    import dataclasses

    from camlib.backbones import BACKBONES, Backbone, imagenet_class_names
    from camlib.explain import run_method

    spec = dataclasses.replace(BACKBONES["efficientnet_lite0"], input_size=32, default_layer="inner.act2")
    failing = Recording(make_tiny_gap_net(channels=8, classes=1000), out_of_memory_above=2)
    backbone = Backbone(spec=spec, model=failing, device=torch.device("cpu"), class_names=imagenet_class_names())
    result = run_method("scorecam", backbone, inputs()[:1], 3, params={"batch_size": 4})
    assert result.error is None
    assert result.notices == ("GPU out of memory: batch size halved to 2 and the batch retried.",)
