"""The six methods give the same maps as the saved reference (made before a refactor), to within ``ATOL``.

``tests/data/reference_maps.npz`` was made by ``tests/data/make_reference_maps.py`` from the code as it
was before issue 14's refactor; this test recomputes each case of that script and requires every value
(maps in [0, 1]) to be within ``ATOL`` of the saved one. Each case names its layer and every parameter, so
changing a default does not change the reference; a change that only moves code must leave every map as
it was.

Not bit for bit: the same torch on another CPU (another instruction set, another order of the
convolutions' sums) moves the maps by up to about 4e-7 (measured on a fresh machine: 2.98e-7 on the tiny
CAM, 4.17e-7 on Lite0's sampled Score-CAM), and EfficientNet-Lite0's maps by about 1e-6 between thread
counts. ``ATOL`` = 1e-5 is 25 times the former, and a planted change is caught (see
``test_a_planted_change_of_the_weights_is_caught``): every channel weight moved by at most 0.1 % (a ramp
over the channels), a smaller error than any wrong formula, moves the tiny model's maps by 1.5e-4 to 4e-4. Torch runs on one thread, as when the reference was made.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import DATA_DIR as DATA
from conftest import REFERENCE_MAPS_SCRIPT

from camlib.methods.base import BaseCAM

SCRIPT = REFERENCE_MAPS_SCRIPT  # tests/data/make_reference_maps.py, loaded once by conftest
ATOL = 1e-5
PLANTED_RAMP = 1e-3


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(DATA / "reference_maps.npz") as saved:
        return {name: saved[name] for name in saved.files}


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def max_difference(computed: np.ndarray, saved: np.ndarray) -> float:
    return float(np.abs(computed.astype(np.float64) - saved.astype(np.float64)).max())


def assert_close(name: str, computed: np.ndarray, saved: np.ndarray) -> None:
    assert computed.dtype == saved.dtype == np.float32, name
    assert computed.shape == saved.shape, name
    difference = max_difference(computed, saved)
    assert difference <= ATOL, f"{name}: max abs difference {difference:g} from the reference (tolerance {ATOL:g})"


@pytest.fixture
def planted_change(monkeypatch):
    """Every method's channel weights multiplied by 1 + 0.001 · (a ramp from −1 to 1 over the channels)."""
    combine = BaseCAM.combine

    def perturbed(self, weights, activations):
        ramp = torch.linspace(-1.0, 1.0, weights.shape[1], dtype=weights.dtype, device=weights.device)
        return combine(self, weights * (1 + PLANTED_RAMP * ramp), activations)

    monkeypatch.setattr(BaseCAM, "combine", perturbed)


def test_reference_covers_every_case(reference):
    cases = {**SCRIPT.LITE0_CASES, **SCRIPT.LITE0_SMALL_CASES, **SCRIPT.TINY_CASES}
    assert set(reference) == set(cases)
    for method in ("cam", "gradcam", "gradcampp", "smoothgradcampp", "gradpp_scorecam", "scorecam"):
        assert any(f"lite0_{method}_" in name or f"lite0_small_{method}_" in name for name in cases), method
        assert any(name.startswith(f"tiny_{method}") for name in cases), method


def test_tiny_model_maps_match_the_reference(reference, one_thread):
    model, inputs = SCRIPT.tiny_model(), SCRIPT.tiny_inputs()
    for name, case in SCRIPT.TINY_CASES.items():
        assert_close(name, case(model, inputs), reference[name])


@pytest.mark.slow  # every method on Lite0, exact Score-CAM at 64 px: 11 s on the shared machine
def test_efficientnet_lite0_maps_match_the_reference(reference, effnet, one_thread):
    inputs = SCRIPT.chelsea_inputs()
    small = SCRIPT.chelsea_inputs(SCRIPT.EXACT_SCORECAM_SIZE)
    for name, case in SCRIPT.LITE0_CASES.items():
        assert_close(name, case(effnet.model, inputs), reference[name])
    for name, case in SCRIPT.LITE0_SMALL_CASES.items():
        assert_close(name, case(effnet.model, small), reference[name])


def test_a_planted_change_of_the_weights_is_caught(reference, effnet, one_thread, planted_change):
    """Negative control: with every channel weight moved by at most 0.1 %, each map that is not constant
    leaves the tolerance (on the tiny model, and at both Lite0 layers with Grad-CAM++), so the check fails."""
    model, inputs = SCRIPT.tiny_model(), SCRIPT.tiny_inputs()
    cases = [(name, case, model, inputs) for name, case in SCRIPT.TINY_CASES.items()]
    cases += [(name, SCRIPT.LITE0_CASES[name], effnet.model, SCRIPT.chelsea_inputs()) for name in ("lite0_gradcampp_bn2", "lite0_gradcampp_conv_head")]
    for name, case, case_model, case_inputs in cases:
        if reference[name].std() == 0:
            continue
        computed = case(case_model, case_inputs)
        assert max_difference(computed, reference[name]) > ATOL, f"{name}: the planted change went unnoticed"
        with pytest.raises(AssertionError):
            assert_close(name, computed, reference[name])
