"""A method leaves the model as it found it: no hooks, same modes, same requires_grad, no .grad.

Also: several threads can explain with one shared model, the progress callback counts to its total,
and the library prints nothing.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from conftest import METHOD_FACTORIES, assert_no_hooks, random_inputs
from torch import nn

from camlib.explain import explain
from camlib.methods import ScoreCAM

METHODS = METHOD_FACTORIES  # (model, **params) -> method at act2
PROGRESS_METHODS = ["smoothgradcampp", "scorecam", "gradpp_scorecam", "sscam", "iscam", "ablationcam", "reciprocam", "groupcam"]


class Explode(Exception):
    pass


class HygieneNet(nn.Module):
    """A small GAP net with BatchNorm and Dropout (whose behaviour depends on the mode), a layer after
    the target that can raise, and an optional pause after the target (to interleave threads)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.act = nn.ReLU(inplace=True)
        self.features = nn.Conv2d(6, 8, 3, padding=1)
        self.act2 = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8, 5)
        self.explode = False
        self.pause = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act2(self.features(self.act(self.bn(self.stem(x)))))
        if self.pause:
            time.sleep(self.pause)  # releases the GIL: the other thread runs its own pass meanwhile
        if self.explode:
            raise Explode("boom after the target layer")
        return self.fc(self.drop(self.pool(x).flatten(1)))


def make_net(seed: int = 0) -> HygieneNet:
    torch.manual_seed(seed)
    model = HygieneNet()
    with torch.no_grad():  # running statistics that differ from a batch's, so train mode would show
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
    return model.eval()


def inputs_for(seed: int, batch: int = 2) -> torch.Tensor:
    return random_inputs(batch, 3, 16, 16, seed=seed)


def snapshot(model: nn.Module) -> dict:
    return {
        "training": {name: module.training for name, module in model.named_modules()},
        "requires_grad": {name: p.requires_grad for name, p in model.named_parameters()},
        "state": {name: t.detach().clone() for name, t in model.state_dict().items()},
    }


def assert_untouched(model: nn.Module, before: dict) -> None:
    assert_no_hooks(model)
    after = snapshot(model)
    assert after["training"] == before["training"]
    assert after["requires_grad"] == before["requires_grad"]
    for name, tensor in after["state"].items():
        assert torch.equal(tensor, before["state"][name]), f"{name} changed (BatchNorm statistics updated?)"
    for name, parameter in model.named_parameters():
        assert parameter.grad is None, f".grad populated on {name}"


def prepare(model: nn.Module, mode: str) -> None:
    """Give the model a mix of modes and requires_grad flags to restore."""
    if mode == "train":
        model.train()
        model.bn.eval()  # a frozen BatchNorm inside a training model must stay frozen
    model.stem.requires_grad_(False)  # the others keep requires_grad=True


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("key", METHODS)
def test_normal_call_leaves_model_untouched(key, mode):
    model = make_net()
    reference = METHODS[key](make_net())(inputs_for(1), [1, 3])  # an untouched eval-mode twin
    prepare(model, mode)
    before = snapshot(model)
    maps = METHODS[key](model)(inputs_for(1), [1, 3])
    assert_untouched(model, before)
    # The map is computed in eval mode whatever the model's mode (no dropout, running BN statistics).
    np.testing.assert_allclose(maps, reference, atol=1e-6)


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("key", METHODS)
def test_call_that_raises_in_forward_leaves_model_untouched(key, mode):
    model = make_net()
    prepare(model, mode)
    model.explode = True
    before = snapshot(model)
    with pytest.raises(Explode):
        METHODS[key](model)(inputs_for(1), [1, 3])
    assert_untouched(model, before)


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("key", PROGRESS_METHODS)
def test_call_that_raises_in_progress_leaves_model_untouched(key, mode):
    model = make_net()
    prepare(model, mode)
    before = snapshot(model)

    def progress(done, total):
        raise Explode(f"cancelled at {done}/{total}")

    # The first report comes after the first batch of masked passes (or the first noisy sample).
    with pytest.raises(Explode, match=r"cancelled at [1-3]/"):
        METHODS[key](model, progress=progress)(inputs_for(1), [1, 3])
    assert_untouched(model, before)


def test_two_threads_on_one_model_match_one_thread():
    """Each thread explains its own images with every method, at the same time, on one model object.

    The model pauses after the target layer, so one thread's pass runs through the target layer while
    the other's hook is registered; a hook that recorded the other thread's activation would change
    the maps.
    """
    model = make_net()
    jobs = {0: (inputs_for(10), [1, 3]), 1: (inputs_for(11), [4, 0])}
    expected = {
        (worker, key): factory(model)(*jobs[worker]) for worker in jobs for key, factory in METHODS.items()
    }
    model.pause = 0.002
    before = snapshot(model)
    barrier = threading.Barrier(2)
    results: dict = {}
    errors: list = []

    def work(worker: int) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(2):
                for key, factory in METHODS.items():
                    results.setdefault((worker, key), []).append(factory(model)(*jobs[worker]))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    for (worker, key), maps in results.items():
        for single in maps:
            np.testing.assert_allclose(single, expected[(worker, key)], atol=1e-6, err_msg=f"thread {worker}, {key}")
    assert len(results) == 2 * len(METHODS)
    model.pause = 0.0
    assert_untouched(model, before)


def test_scorecam_progress_counts_to_total():
    model = make_net()
    calls = []
    ScoreCAM(model, "act2", batch_size=3, progress=lambda done, total: calls.append((done, total)))(inputs_for(2), [1, 3])
    # Progress counts channels: 8 per image, none constant here, in batches of at most 3 per image.
    assert calls == [(3, 16), (6, 16), (8, 16), (11, 16), (14, 16), (16, 16)]


@pytest.mark.parametrize("key", PROGRESS_METHODS)
def test_progress_ends_at_total(key):
    calls = []
    METHODS[key](make_net(), progress=lambda done, total: calls.append((done, total)))(inputs_for(3), [0, 2])
    assert calls, "no progress reported"
    assert calls[-1][0] == calls[-1][1]
    done = [d for d, _ in calls]
    assert done == sorted(set(done)) and done[0] >= 1
    assert len({total for _, total in calls}) == 1


def test_library_prints_nothing(capsys, effnet, chelsea_image):
    model = make_net()
    for factory in METHODS.values():
        factory(model)(inputs_for(4), [1, 2])
    explain(effnet, chelsea_image, methods=["cam", "gradcam"], target="tiger cat")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""
