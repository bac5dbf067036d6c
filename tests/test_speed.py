"""The Score-CAM family's speed settings and memory bounds: exact results, bounded batches, OOM halving."""

import argparse

import numpy as np
import pytest
import torch
from conftest import make_tiny_gap_net, pearson
from torch import nn

from camlib.cli import _method_params
from camlib.errors import InvalidParameterError, UnknownMethodError, UnknownSpeedSettingError
from camlib.methods import GradPPScoreCAM, ScoreCAM, speed_params
from camlib.methods.score import (
    CPU_BATCH_CANDIDATES,
    CPU_BATCH_LIMIT,
    CUDA_BATCH_SIZE,
    BatchSizer,
    mask_features,
    remembered_batch_size,
    surrogate_scores,
)


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
    assert speed_params("scorecam", "fast") == {"sampled_channels": 128, "mixed_precision": True}
    assert speed_params("gradpp_scorecam", "fast") == {"mixed_precision": True}
    assert speed_params("scorecam", "lowres") == {"perturbation_size": 112, "mixed_precision": True}
    assert speed_params("gradpp_scorecam", "lowres")["perturbation_size"] == 112
    assert speed_params("gradcam", "fast") == {}
    with pytest.raises(UnknownSpeedSettingError, match="ludicrous"):
        speed_params("scorecam", "ludicrous")
    with pytest.raises(UnknownMethodError):
        speed_params("gradcam++", "fast")
    args = argparse.Namespace(speed="lowres", param=["scorecam.perturbation_size=64", "gradpp_scorecam.top_k=none"])
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


# -- the fast setting: sampled channels and a surrogate for the rest ----------------------------------


class LinearScoreNet(nn.Module):
    """A classifier whose logits are linear in the input, with a 7 × 7 feature layer beside them.

    Score-CAM's score of a mask is then exactly linear in the mask, so the surrogate regression of the
    ``fast`` setting can predict every unsampled channel's score.
    """

    def __init__(self, channels: int, classes: int = 3, size: int = 28) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(1)
        self.features = nn.Sequential(nn.Conv2d(3, channels, kernel_size=size // 7, stride=size // 7), nn.ReLU())
        self.classifier = nn.Linear(3 * size * size, classes)
        with torch.no_grad():
            self.features[0].weight.copy_(torch.randn(self.features[0].weight.shape, generator=generator))
            self.classifier.weight.copy_(torch.randn(self.classifier.weight.shape, generator=generator) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x)
        return self.classifier(x.flatten(1)) + 0 * features.mean()


def test_surrogate_scores_recover_a_linear_function_of_the_features():
    generator = torch.Generator().manual_seed(0)
    features = torch.cat([torch.ones(60, 1), torch.rand(60, 5, generator=generator)], dim=1)
    truth = features @ torch.tensor([0.5, 2.0, -1.0, 0.0, 3.0, -0.5])
    known = torch.tensor([0, 3, 7, 11, 20, 31, 42, 50, 59])
    predicted = surrogate_scores(features, known, truth[known] + 0.25, ridge=1e-9)
    torch.testing.assert_close(predicted[known], truth[known] + 0.25)  # measured scores are kept as they are
    torch.testing.assert_close(predicted, truth + 0.25, atol=1e-5, rtol=0)


def test_mask_features_are_the_normalised_maps_pooled_to_seven_cells():
    activations = torch.zeros(1, 2, 14, 14)
    activations[0, 0, :7, :7] = 3.0  # top-left quarter on
    activations[0, 1] = 5.0  # constant: an all-zero mask
    features = mask_features(activations)
    assert features.shape == (1, 2, 50)
    assert torch.all(features[..., 0] == 1)
    expected = torch.zeros(7, 7)
    expected[:3, :3] = 1.0
    expected[3, :3] = expected[:3, 3] = 0.5
    expected[3, 3] = 0.25
    torch.testing.assert_close(features[0, 0, 1:].reshape(7, 7), expected)
    assert torch.all(features[0, 1, 1:] == 0)


def test_sampled_score_cam_matches_exact_when_the_score_is_linear_in_the_mask():
    model = LinearScoreNet(channels=160).eval()
    x = torch.rand(2, 3, 28, 28, generator=torch.Generator().manual_seed(3))
    exact = ScoreCAM(model, "features")(x, [0, 2])
    sampled = ScoreCAM(model, "features", sampled_channels=100)(x, [0, 2])
    few = ScoreCAM(model, "features", sampled_channels=10)(x, [0, 2])
    for image in range(2):
        assert pearson(sampled[image], exact[image]) > 0.995  # 0.92–0.98 with the unsampled scores left at 0
        assert pearson(few[image], exact[image]) < pearson(sampled[image], exact[image])


def test_sampled_channels_run_that_many_masked_passes_and_are_reproducible():
    model = Recording(make_tiny_gap_net(channels=16))
    first = ScoreCAM(model, "inner.act2", sampled_channels=5)(inputs(), [1, 2])
    masked_rows = sum(shape[0] for shape in model.shapes[1:])
    assert masked_rows == 2 * (1 + 4 + 1 + 1)  # per image: baseline, 4 drawn; baseline, 1 refined
    again = ScoreCAM(make_tiny_gap_net(channels=16), "act2", sampled_channels=5)(inputs(), [1, 2])
    other_draw = ScoreCAM(make_tiny_gap_net(channels=16), "act2", sampled_channels=5, seed=1)(inputs(), [1, 2])
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other_draw)


def test_sampling_every_channel_is_exact_score_cam():
    model = make_tiny_gap_net(channels=8)
    exact = ScoreCAM(model, "act2")(inputs(), [1, 2])
    for method in (ScoreCAM(model, "act2", sampled_channels=8), ScoreCAM(model, "act2", sampled_channels=500)):
        np.testing.assert_allclose(method(inputs(), [1, 2]), exact, atol=1e-6)


def test_sampled_channels_below_two_is_a_clear_error():
    with pytest.raises(InvalidParameterError, match="sampled_channels"):
        ScoreCAM(make_tiny_gap_net(), "act2", sampled_channels=1)


# -- the batch size of the masked passes ---------------------------------------------------------------


def test_batch_sizer_times_each_candidate_once_and_keeps_the_fastest_per_image():
    sizer = BatchSizer(None, torch.device("cpu"))
    seconds_per_image = {2: 0.010, 4: 0.006, 8: 0.007, 16: 0.009}
    seen = []
    for step in range(8):
        size = sizer.next_size()
        seen.append(size)
        sizer.record(size, size * (1.0 if step == 0 else seconds_per_image[size]))  # the warm-up is slow
    assert seen[:5] == [4, *CPU_BATCH_CANDIDATES]
    assert seen[5:] == [4, 4, 4]
    assert max(seen) == max(CPU_BATCH_CANDIDATES)


def test_batch_sizer_keeps_doubling_while_the_largest_batch_is_fastest_up_to_its_limit():
    sizer = BatchSizer(None, torch.device("cpu"))
    seen = []
    for _ in range(12):
        size = sizer.next_size()
        seen.append(size)
        sizer.record(size, 1.0 / size**0.5)  # bigger batches are always faster per image here
    assert seen[:7] == [4, *CPU_BATCH_CANDIDATES, 32, 64]
    assert set(seen[7:]) == {CPU_BATCH_LIMIT}

    sizer = BatchSizer(None, torch.device("cpu"))
    per_image = {2: 0.010, 4: 0.009, 8: 0.008, 16: 0.006, 32: 0.007}
    seen = []
    for _ in range(9):
        size = sizer.next_size()
        seen.append(size)
        sizer.record(size, size * per_image[size])
    assert seen == [4, 2, 4, 8, 16, 32, 16, 16, 16]  # 32 was slower than 16: back to 16, 64 never tried


def test_batch_sizer_keeps_a_given_size_and_uses_a_large_batch_on_cuda():
    given = BatchSizer(6, torch.device("cpu"))
    given.record(6, 1.0)
    assert given.next_size() == 6
    assert BatchSizer(None, torch.device("cuda")).next_size() == CUDA_BATCH_SIZE


def test_automatic_batch_size_gives_the_same_map_and_bounded_batches():
    model = Recording(make_tiny_gap_net(channels=40))
    automatic = ScoreCAM(model, "inner.act2")(inputs(), [1, 2])
    masked_batches = [shape[0] for shape in model.shapes[2:]]  # after the capture and baseline passes
    assert masked_batches[:5] == [4, *CPU_BATCH_CANDIDATES]
    assert max(masked_batches) <= CPU_BATCH_LIMIT
    fixed = ScoreCAM(make_tiny_gap_net(channels=40), "act2", batch_size=40)(inputs(), [1, 2])
    np.testing.assert_allclose(automatic, fixed, atol=1e-6)


def test_sampled_score_cam_reports_progress_over_the_measured_channels():
    calls = []
    ScoreCAM(make_tiny_gap_net(channels=16), "act2", sampled_channels=8, batch_size=2, progress=lambda *a: calls.append(a))(
        inputs()[:1], [1]
    )
    assert [done for done, _ in calls] == [2, 4, 6, 8]  # 6 drawn at random in 3 batches, then the 2 predicted highest
    assert {total for _, total in calls} == {8}


def test_the_cli_prints_a_halved_batch_under_its_method(monkeypatch, tmp_path, capsys, chelsea_png):
    import dataclasses

    import camlib.cli
    from camlib.backbones import BACKBONES, Backbone, imagenet_class_names

    spec = dataclasses.replace(BACKBONES["efficientnet_lite0"], input_size=32, default_layer="inner.act2")
    failing = Recording(make_tiny_gap_net(channels=8, classes=1000), out_of_memory_above=2)
    backbone = Backbone(spec=spec, model=failing, device=torch.device("cpu"), class_names=imagenet_class_names())
    monkeypatch.setattr(camlib.cli, "load_model", lambda *args, **kwargs: backbone)
    argv = ["explain", str(chelsea_png), "--methods", "gradcam,scorecam", "--param", "scorecam.batch_size=4"]
    assert camlib.cli.main([*argv, "--out", str(tmp_path / "grid.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    scorecam_line = next(index for index, line in enumerate(lines) if line.strip().startswith("Score-CAM"))
    assert lines[scorecam_line + 1].strip() == "note: GPU out of memory: batch size halved to 2 and the batch retried."


def test_halving_during_the_timed_trials_halves_the_batch_being_tried():
    sizer = BatchSizer(None, torch.device("cpu"))
    for size in (4, 2, 4):  # the warm-up, then the first two candidates
        sizer.record(size, 0.1)
    assert sizer.next_size() == 8
    assert sizer.halve() == 4
    assert sizer.next_size() == 4


def test_a_tuned_batch_size_is_remembered_for_the_model_and_input_shape():
    model = Recording(make_tiny_gap_net(channels=40))
    ScoreCAM(model, "inner.act2")(inputs(), [1, 2])
    chosen = remembered_batch_size(model, ("cpu", (3, 32, 32)))
    assert chosen in (*CPU_BATCH_CANDIDATES, 32, 64)
    model.shapes.clear()
    ScoreCAM(model, "inner.act2")(inputs(), [1, 2])
    masked_batches = [shape[0] for shape in model.shapes[2:]]
    assert masked_batches[0] == min(chosen, 40)  # no trials the second time
    assert remembered_batch_size(model, ("cpu", (3, 64, 64))) is None  # another input shape tunes afresh


def test_a_trial_cut_short_by_the_last_batch_is_not_retried():
    sizer = BatchSizer(None, torch.device("cpu"))
    for size in (4, 2, 4, 8, 16, 32):
        sizer.record(size, 1.0 / size**0.5)  # bigger is faster, so 64 is tried next
    assert sizer.next_size() == 64
    sizer.record(40, 0.5)  # only 40 channels were left: no timing for 64
    assert sizer.next_size() == 32 and sizer.tuned
    sizer.record(32, 1.0)
    assert sizer.next_size() == 32
