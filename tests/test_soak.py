"""Soak test: 4 threads × 25 explanations, every method, one shared model, as several app users.

Every map must equal the one a single thread computes for the same job, no hook may remain on any
module, no tensor may be left alive, and the process's resident memory may grow by at most
:data:`MEMORY_GROWTH_BOUND_MB` across the soak (measured after a warm-up round, so that allocator and
library caches are already filled).

The model is a small random GAP network wrapped as a camlib :class:`Backbone` (channels-last, frozen,
eval mode, as :func:`load_backbone` returns them), so the jobs run through :func:`camlib.explain.explain`
like the CLI's, and Score-CAM's one pass per channel stays cheap.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from budgets import SOAK_EXPLANATIONS_PER_THREAD, SOAK_MEMORY_GROWTH_BOUND_MB, SOAK_THREADS
from conftest import CHEAP_METHOD_PARAMS, assert_no_hooks, make_tiny_gap_net
from PIL import Image

from camlib.backbones import Backbone, BackboneSpec
from camlib.explain import explain
from camlib.methods import METHODS

THREADS = SOAK_THREADS
EXPLANATIONS_PER_THREAD = SOAK_EXPLANATIONS_PER_THREAD
MEMORY_GROWTH_BOUND_MB = SOAK_MEMORY_GROWTH_BOUND_MB  # of VmRSS across the soak (see budgets.py)

IMAGE_SIZE = 48
CLASSES = 5
METHOD_PARAMS = CHEAP_METHOD_PARAMS


def tiny_backbone() -> Backbone:
    model = make_tiny_gap_net(seed=3, channels=8, classes=CLASSES)
    model.requires_grad_(False)
    model = model.to(memory_format=torch.channels_last).eval()
    spec = BackboneSpec(
        key="tiny",
        display_name="TinyGapNet",
        default_layer="act2",
        input_size=IMAGE_SIZE,
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        build=lambda: model,
        cam_layer="act2",
        cam_classifier="fc",
    )
    return Backbone(spec=spec, model=model, device=torch.device("cpu"), class_names=tuple(f"class {i}" for i in range(CLASSES)))


def job_list() -> list[tuple[int, int, str, int]]:
    """(thread, image seed, method, target class) for every explanation; each thread cycles through all
    methods with its own images and targets, so threads run different methods at the same moment."""
    methods = list(METHODS)
    return [
        (thread, 100 * thread + index % 7, methods[(index + thread) % len(methods)], (index + thread) % CLASSES)
        for thread in range(THREADS)
        for index in range(EXPLANATIONS_PER_THREAD)
    ]


def make_image(seed: int) -> Image.Image:
    """Smooth random blobs (the methods give varied, non-constant maps on them)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC)


def run_job(backbone: Backbone, images: dict[int, Image.Image], job: tuple[int, int, str, int]) -> np.ndarray:
    _thread, seed, method, target = job
    result = explain(backbone, images[seed], methods=[method], target=target, method_params=METHOD_PARAMS).results[method]
    assert result.error is None, f"{method}: {result.error}"
    return result.saliency.copy()  # the map alone: the returned array is a view that keeps its tensor alive


def run_concurrently(backbone, images, jobs) -> dict[tuple, list[np.ndarray]]:
    """Each thread runs its own jobs, all starting together; returns the maps per job."""
    results: dict[tuple, list[np.ndarray]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()

    def work(thread: int) -> None:
        try:
            barrier.wait(timeout=60)
            for job in jobs:
                if job[0] == thread:
                    saliency = run_job(backbone, images, job)
                    with lock:
                        results.setdefault(job, []).append(saliency)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,), name=f"soak-{index}") for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a soak thread did not finish"
    assert not errors, f"{len(errors)} thread(s) failed; first: {errors[0]!r}"
    return results


def resident_mb() -> float:
    """This process's resident set size (VmRSS) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    pytest.skip("/proc/self/status has no VmRSS on this system")


def live_tensors() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if issubclass(type(obj), torch.Tensor))


def assert_no_hooks_anywhere(model: torch.nn.Module) -> None:
    """No hook on any module of ``model`` (:func:`conftest.assert_no_hooks`), and no global module hook."""
    assert_no_hooks(model)
    from torch.nn.modules import module as module_globals

    for hooks in ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks"):
        assert not getattr(module_globals, hooks, None), f"global {hooks} left behind"


@pytest.mark.slow  # over 2 s on the idle 2-core machine
def test_soak_threads_share_one_model():
    backbone = tiny_backbone()
    model = backbone.model
    state_before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    jobs = job_list()
    assert len(jobs) == THREADS * EXPLANATIONS_PER_THREAD
    assert {job[2] for job in jobs} == set(METHODS), "every method must be in the soak"
    images = {seed: make_image(seed) for seed in {job[1] for job in jobs}}

    # Single-thread reference for every job.
    expected = {job: run_job(backbone, images, job) for job in jobs}
    assert all(saliency.max() > 0 for saliency in expected.values()), "degenerate test images: a map is all zero"

    # Warm-up round (same jobs, concurrently), then measure memory and live tensors.
    run_concurrently(backbone, images, jobs[:: EXPLANATIONS_PER_THREAD // 5])
    gc.collect()
    tensors_before, rss_before = live_tensors(), resident_mb()

    results = run_concurrently(backbone, images, jobs)

    gc.collect()
    tensors_after, rss_after = live_tensors(), resident_mb()
    assert sum(len(maps) for maps in results.values()) == THREADS * EXPLANATIONS_PER_THREAD
    for job, maps in results.items():
        for saliency in maps:
            np.testing.assert_allclose(
                saliency, expected[job], rtol=0, atol=1e-6, err_msg=f"thread {job[0]}, image {job[1]}, {job[2]}, class {job[3]}"
            )
    assert_no_hooks_anywhere(model)
    assert not model.training and not any(p.requires_grad or p.grad is not None for p in model.parameters())
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state_before[name]), f"{name} changed during the soak"
    assert tensors_after <= tensors_before, f"{tensors_after - tensors_before} tensors left alive by the soak"
    growth = rss_after - rss_before
    assert growth < MEMORY_GROWTH_BOUND_MB, (
        f"resident memory grew by {growth:.1f} MB over {len(jobs)} explanations (bound {MEMORY_GROWTH_BOUND_MB} MB)"
    )
