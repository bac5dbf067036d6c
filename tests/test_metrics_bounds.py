"""Insertion / deletion refuse what they cannot do, before the work, and bound their memory.

Before: ``deletion_insertion_auc`` with target 1000 on a 10-class model raised IndexError, and
``steps=10**9`` spent 20 s allocating. Each check runs beside a planted error it must catch: the old
unchecked class score, the steps check switched off, one forward pass for the whole curve.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import camlib.insertion_deletion as curves
from camlib.errors import CamlibError, InvalidParameterError
from camlib.metrics import MAX_STEPS, deletion_insertion_auc, deletion_insertion_curves

SIDE = 8


def ten_class_model(side: int = SIDE) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * side * side, 10)).eval()


def pixel_sum_model(side: int = SIDE) -> nn.Module:
    """Two classes: logit 0 is the sum of the first channel's pixels, logit 1 is 0, so p(0) = sigmoid(sum)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * side * side, 2, bias=False))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].weight[0, : side * side] = 1.0
    return model.eval()


def inputs_and_map(side: int = SIDE) -> tuple[torch.Tensor, np.ndarray]:
    generator = torch.Generator().manual_seed(1)
    inputs = torch.rand(1, 3, side, side, generator=generator) * 0.2
    saliency = np.random.default_rng(2).random((side, side))
    return inputs, saliency


def refusal(call) -> str:
    """The message of the CamlibError that ``call`` raises; any other outcome fails the check."""
    try:
        call()
    except CamlibError as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - the point of the check
        raise AssertionError(f"raised {type(error).__name__}: {error}") from error
    raise AssertionError("nothing was refused")


def target_refusal() -> str:
    inputs, saliency = inputs_and_map()
    return refusal(lambda: deletion_insertion_auc(ten_class_model(), inputs, saliency, 1000))


def test_target_beyond_the_model_classes_names_the_range():
    assert target_refusal() == "target 1000 is not a class of this model: its classes are 0 to 9."


def test_check_catches_the_unchecked_class_score(monkeypatch):
    def old_class_scores(model, batch, target):  # the planted error: the code before this change
        with torch.inference_mode():
            return model(batch).float().softmax(dim=1)[:, target].cpu().numpy()

    monkeypatch.setattr(curves, "class_scores", old_class_scores)
    with pytest.raises(AssertionError, match="IndexError"):
        target_refusal()


class NoWork(Exception):
    pass


def no_work(*args, **kwargs):
    raise NoWork("work started before the steps were checked")


def huge_steps_refusal(monkeypatch) -> str:
    inputs, saliency = inputs_and_map()
    model = ten_class_model()
    monkeypatch.setattr(model, "forward", no_work)
    monkeypatch.setattr(torch, "linspace", no_work)  # the 10**9-step allocation started here
    try:
        return refusal(lambda: deletion_insertion_auc(model, inputs, saliency, 3, steps=10**9))
    except AssertionError as error:
        raise AssertionError(str(error)) from None


def test_huge_steps_are_refused_before_any_work(monkeypatch):
    assert huge_steps_refusal(monkeypatch) == f"steps must be from 1 to {SIDE * SIDE} (the image has {SIDE * SIDE} pixels), got 1000000000."


def test_check_catches_steps_left_unchecked(monkeypatch):
    monkeypatch.setattr(curves, "check_steps", lambda steps, pixel_count: steps)  # planted: no bound
    with pytest.raises(AssertionError, match="NoWork"):
        huge_steps_refusal(monkeypatch)


@pytest.mark.parametrize("steps", [0, -3, 2.5, True, "16", None])
def test_steps_that_are_not_a_count_are_refused(steps):
    inputs, saliency = inputs_and_map()
    message = refusal(lambda: deletion_insertion_curves(ten_class_model(), inputs, saliency, 3, steps=steps))
    assert message.startswith("steps must be")


def test_steps_are_bounded_by_the_documented_maximum_on_a_large_image():
    side = 40  # 1600 pixels, more than MAX_STEPS
    inputs, saliency = inputs_and_map(side)
    message = refusal(lambda: deletion_insertion_curves(ten_class_model(side), inputs, saliency, 3, steps=MAX_STEPS + 1))
    assert message == f"steps must be from 1 to {MAX_STEPS} (at most {MAX_STEPS} steps are taken), got {MAX_STEPS + 1}."
    assert MAX_STEPS == 1024


def by_hand_deletion_curve(inputs: torch.Tensor, saliency: np.ndarray) -> np.ndarray:
    """sigmoid(sum of the first channel) as pixels are zeroed one at a time, most salient first, ties by raster order."""
    values = inputs[0, 0].double().numpy().ravel().copy()
    order = np.argsort(-saliency.ravel(), kind="stable")
    curve = [values.sum()]
    for pixel in order:
        values[pixel] = 0.0
        curve.append(values.sum())
    return 1.0 / (1.0 + np.exp(-np.asarray(curve)))


def test_one_step_per_pixel_matches_the_curve_by_hand():
    """steps = H·W (64, two forward passes of CURVE_BATCH = 32 and one of 1) moves one pixel a step."""
    inputs, saliency = inputs_and_map()
    insertion, deletion = deletion_insertion_curves(pixel_sum_model(), inputs, saliency, 0, steps=SIDE * SIDE)
    assert len(insertion) == len(deletion) == SIDE * SIDE + 1
    np.testing.assert_allclose(deletion, by_hand_deletion_curve(inputs, saliency), atol=1e-5)
    planted = by_hand_deletion_curve(inputs, saliency[::-1])  # planted: the least salient pixel first
    assert np.abs(deletion - planted).max() > 1e-3


class BatchRecorder(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.sizes = model, []

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        self.sizes.append(batch.shape[0])
        return self.model(batch)


def largest_batch(steps: int) -> int:
    inputs, saliency = inputs_and_map()
    recorder = BatchRecorder(pixel_sum_model())
    deletion_insertion_curves(recorder, inputs, saliency, 0, steps=steps)
    assert sum(recorder.sizes) == 2 * (steps + 1)
    return max(recorder.sizes)


def test_memory_does_not_grow_with_the_steps():
    assert largest_batch(SIDE * SIDE) <= curves.CURVE_BATCH
    assert largest_batch(16) == 17  # the default: one forward pass per curve, as before


def test_check_catches_one_pass_for_the_whole_curve(monkeypatch):
    monkeypatch.setattr(curves, "CURVE_BATCH", 10**6)  # planted: every step in one batch
    assert largest_batch(SIDE * SIDE) > 32


def test_auc_unchanged_by_the_batching(monkeypatch):
    inputs, saliency = inputs_and_map()
    chunked = deletion_insertion_auc(ten_class_model(), inputs, saliency, 4, steps=50)
    monkeypatch.setattr(curves, "CURVE_BATCH", 10**6)
    whole = deletion_insertion_auc(ten_class_model(), inputs, saliency, 4, steps=50)
    np.testing.assert_allclose(chunked, whole, atol=1e-6)


def test_errors_are_invalid_parameter_errors():
    inputs, saliency = inputs_and_map()
    with pytest.raises(InvalidParameterError):
        deletion_insertion_auc(ten_class_model(), inputs, saliency, 10)
    assert deletion_insertion_auc(ten_class_model(), inputs, saliency, 9)[0] >= 0.0  # the last class is fine
