"""camlib's metrics against Quantus 0.6.0 (Hedström et al., JMLR 2023) on the same maps.

Quantus is a test-only reference (``pip install --no-deps quantus==0.6.0 cachetools``). Where both define
a metric, the numbers must match within the tolerance stated in each test; where the definitions differ
(Quantus' ``Complexity`` is an entropy, camlib's Poppi's mean map value) the docstrings say so.
"""

import numpy as np
import pytest
import torch
from torch import nn

quantus = pytest.importorskip("quantus")

from camlib.metrics import deletion_insertion_curves, sparseness


def tiny_classifier(seed: int = 0) -> nn.Module:
    """One input channel, 8×8 pixels, three classes, non-linear: enough for a curve that means something."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    with torch.no_grad():
        model[3].weight.mul_(8.0)  # confident enough that flipping pixels moves the probability a lot
    return model.eval()


def maps_without_ties(count: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).permutation(count * 64).reshape(count, 1, 8, 8).astype(np.float32) / (count * 64)


def test_sparseness_matches_quantus():
    generator = np.random.default_rng(0)
    maps = np.concatenate([generator.random((3, 1, 16, 16)), np.zeros((1, 1, 16, 16)), np.ones((1, 1, 16, 16))]).astype(np.float32)
    maps[0, 0, :8] = 0  # half empty: a sparser map
    inputs = generator.random((len(maps), 1, 16, 16)).astype(np.float32)
    metric = quantus.Sparseness(normalise=False, abs=True, disable_warnings=True)
    reference = metric(model=None, x_batch=inputs, y_batch=np.zeros(len(maps), dtype=int), a_batch=maps.copy(), device="cpu")
    ours = [sparseness(single[0]) for single in maps]
    # Quantus adds 1e-7 to every value: on maps of about 0.5 that moves the Gini index by about 1e-7.
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    assert ours[0] > ours[1] and ours[3] == ours[4] == 0.0
    # negative control: the Gini index with its rank weights off by one (2i - n instead of 2i - n - 1) fails
    def gini_off_by_one(values: np.ndarray) -> float:
        ordered = np.sort(values.ravel())
        n = ordered.size
        return float(np.sum((2 * np.arange(1, n + 1) - n) * ordered) / (n * ordered.sum())) if ordered.sum() > 0 else 0.0

    assert not np.allclose([gini_off_by_one(single[0]) for single in maps], reference, atol=1e-5)


def test_deletion_curve_matches_quantus_pixel_flipping():
    model = tiny_classifier()
    generator = np.random.default_rng(2)
    inputs = generator.normal(size=(3, 1, 8, 8)).astype(np.float32)
    maps = maps_without_ties(3)  # distinct values: both libraries flip pixels in the same order
    targets = model(torch.from_numpy(inputs)).argmax(dim=1).numpy()
    steps = 16
    # Quantus replaces 64/16 = 4 pixels a step with a fixed value; 0 is camlib's deletion baseline.
    metric = quantus.PixelFlipping(
        features_in_step=64 // steps, perturb_baseline=0.0, normalise=False, abs=False, disable_warnings=True
    )
    reference = np.array(
        metric(model=model, x_batch=inputs, y_batch=targets, a_batch=maps.copy(), device="cpu", softmax=True, channel_first=True)
    )
    ours = np.array(
        [
            deletion_insertion_curves(model, torch.from_numpy(inputs[i : i + 1]), maps[i, 0], int(targets[i]), steps=steps)[1]
            for i in range(len(inputs))
        ]
    )
    # camlib's curve starts at the untouched image (step 0); Quantus' after the first step.
    assert reference.shape == (3, steps)
    np.testing.assert_allclose(ours[:, 1:], reference, atol=1e-5)
    # negative control: flipping the pixels in the opposite order (the map negated) gives other curves
    reversed_order = np.array(
        [
            deletion_insertion_curves(model, torch.from_numpy(inputs[i : i + 1]), -maps[i, 0], int(targets[i]), steps=steps)[1]
            for i in range(len(inputs))
        ]
    )
    assert np.abs(reversed_order[:, 1:-1] - reference[:, :-1]).max() > 100 * 1e-5
