"""The six methods give the same maps, bit for bit, as the saved reference (made before a refactor).

``tests/data/reference_maps.npz`` was made by ``tests/data/make_reference_maps.py`` from the code as it
was before issue 14's refactor; this test recomputes each case of that script and requires every float32
value to be equal. Each case names its layer and every parameter, so changing a default does not change
the reference; a change that only moves code must leave every map as it was.

Torch runs on one thread during the test, as when the reference was made: EfficientNet-Lite0's maps
differ by about 1e-6 between thread counts.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import DATA_DIR as DATA
from conftest import REFERENCE_MAPS_SCRIPT

SCRIPT = REFERENCE_MAPS_SCRIPT  # tests/data/make_reference_maps.py, loaded once by conftest


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


def assert_bit_equal(name: str, computed: np.ndarray, saved: np.ndarray) -> None:
    assert computed.dtype == saved.dtype == np.float32, name
    assert computed.shape == saved.shape, name
    difference = float(np.abs(computed.astype(np.float64) - saved.astype(np.float64)).max())
    assert np.array_equal(computed, saved), f"{name}: max abs difference {difference:g} from the reference"


def test_reference_covers_every_case(reference):
    cases = {**SCRIPT.LITE0_CASES, **SCRIPT.LITE0_SMALL_CASES, **SCRIPT.TINY_CASES}
    assert set(reference) == set(cases)
    for method in ("cam", "gradcam", "gradcampp", "smoothgradcampp", "gradpp_scorecam", "scorecam"):
        assert any(f"lite0_{method}_" in name or f"lite0_small_{method}_" in name for name in cases), method
        assert any(name.startswith(f"tiny_{method}") for name in cases), method


def test_tiny_model_maps_equal_the_reference(reference, one_thread):
    model, inputs = SCRIPT.tiny_model(), SCRIPT.tiny_inputs()
    for name, case in SCRIPT.TINY_CASES.items():
        assert_bit_equal(name, case(model, inputs), reference[name])


def test_efficientnet_lite0_maps_equal_the_reference(reference, effnet, one_thread):
    inputs = SCRIPT.chelsea_inputs()
    small = SCRIPT.chelsea_inputs(SCRIPT.EXACT_SCORECAM_SIZE)
    for name, case in SCRIPT.LITE0_CASES.items():
        assert_bit_equal(name, case(effnet.model, inputs), reference[name])
    for name, case in SCRIPT.LITE0_SMALL_CASES.items():
        assert_bit_equal(name, case(effnet.model, small), reference[name])
