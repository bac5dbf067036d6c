"""Faithfulness metrics against values worked out by hand, and against torchcam's implementation."""

from contextlib import nullcontext
from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

from camlib.errors import InvalidParameterError
from camlib.metrics import average_drop, average_increase, confidence_pair, deletion_insertion_auc


def sigmoid(value: float) -> float:
    return 1.0 / (1.0 + np.exp(-value))


def pixel_sum_model(pixels: int) -> nn.Module:
    """Two classes: logit 0 is the sum of the pixels, logit 1 is 0, so p(0) = sigmoid(sum)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 2, bias=False))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].weight[0] = 1.0
    return model.eval()


def test_average_drop_and_increase_by_hand():
    base = [0.5, 0.8, 0.2, 0.4]
    masked = [0.25, 0.9, 0.0, 0.4]
    # drops: 0.25/0.5, 0 (increase), 0.2/0.2, 0 (equal) -> mean 0.375
    assert average_drop(base, masked) == pytest.approx(37.5)
    # only the second image increases; equal is not an increase
    assert average_increase(base, masked) == pytest.approx(25.0)


def test_metrics_reject_bad_input():
    with pytest.raises(InvalidParameterError):
        average_drop([0.5], [0.5, 0.2])
    with pytest.raises(InvalidParameterError):
        average_drop([0.0], [0.1])
    with pytest.raises(InvalidParameterError):
        average_increase([], [])


def test_confidence_pair_on_a_tiny_model_by_hand():
    model = pixel_sum_model(4)
    inputs = torch.ones(1, 1, 2, 2)
    saliency = torch.tensor([[[1.0, 0.5], [0.0, 0.0]]])
    pair = confidence_pair(model, inputs, saliency, [0])
    expected_base, expected_masked = sigmoid(4.0), sigmoid(1.5)
    assert pair.base[0] == pytest.approx(expected_base, abs=1e-6)
    assert pair.masked[0] == pytest.approx(expected_masked, abs=1e-6)
    assert pair.average_drop == pytest.approx(100 * (expected_base - expected_masked) / expected_base, abs=1e-4)
    assert pair.average_increase == 0.0


def test_deletion_and_insertion_auc_by_hand():
    model = pixel_sum_model(4)
    inputs = torch.tensor([[[[3.0, 1.0], [2.0, 0.5]]]])
    saliency = torch.tensor([[0.9, 0.1], [0.5, 0.0]])  # rank: 3.0, 2.0, 1.0, 0.5
    insertion, deletion = deletion_insertion_auc(model, inputs, saliency, 0, steps=2)
    # deletion: all pixels (6.5), top two removed (1.5), none left (0); fractions 0, 0.5, 1
    curve = [sigmoid(6.5), sigmoid(1.5), sigmoid(0.0)]
    assert deletion == pytest.approx(0.25 * (curve[0] + 2 * curve[1] + curve[2]), abs=1e-6)
    # insertion starts from a blur; the blur of a constant image is the image itself
    flat = torch.full((1, 1, 2, 2), 2.0)
    insertion_flat, _ = deletion_insertion_auc(model, flat, saliency, 0, steps=2)
    assert insertion_flat == pytest.approx(sigmoid(8.0), abs=1e-6)
    assert 0.0 <= insertion <= 1.0


class FixedMapExtractor:
    """Gives torchcam's metrics exactly the maps camlib computed, so both score the same maps."""

    def __init__(self, model: nn.Module, maps: torch.Tensor) -> None:
        self.model = model
        self.maps = maps

    def __call__(self, class_idx=None, scores=None, normalized=True, **kwargs):
        return [self.maps]

    def fuse_cams(self, cams):
        return cams[0]

    def _hooks_off(self):
        return nullcontext()


@pytest.fixture(scope="module")
def real_batch(effnet):
    from skimage import data
    from PIL import Image

    photos = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket()]
    # square first (as camlib did before it kept the aspect ratio), so the four photos stack into one batch
    inputs = torch.cat([effnet.preprocess(Image.fromarray(photo).resize((224, 224), Image.Resampling.BILINEAR)) for photo in photos])
    from camlib.methods import GradCAMpp

    targets = effnet.probabilities(inputs).argmax(dim=1).tolist()
    maps = GradCAMpp(effnet.model, "conv_head").compute(inputs, targets)
    return inputs, maps, targets


def test_average_drop_and_increase_match_torchcam(effnet, real_batch):
    from torchcam.metrics import ClassificationMetric

    inputs, maps, targets = real_batch
    pair = confidence_pair(effnet.model, inputs, maps, targets)
    metric = ClassificationMetric(FixedMapExtractor(effnet.model, maps), partial(torch.softmax, dim=-1))
    metric.update(inputs, class_idx=targets)
    reference = metric.summary()
    assert pair.average_drop == pytest.approx(100 * reference["avg_drop"], abs=0.1)
    assert pair.average_increase == pytest.approx(100 * reference["conf_increase"], abs=0.1)


def test_deletion_and_insertion_auc_match_torchcam(effnet, real_batch):
    from torchcam.metrics import DeletionInsertionMetric

    from camlib.metrics import gaussian_blur

    inputs, maps, targets = real_batch
    # A tiny ramp breaks the ties among the zeros of the maps, which the two libraries would order differently.
    ramp = torch.linspace(0, 1e-4, maps[0].numel()).view_as(maps[0])
    maps = maps + ramp
    ours = np.array(
        [deletion_insertion_auc(effnet.model, inputs[i : i + 1], maps[i], targets[i], steps=16) for i in range(len(targets))]
    )
    softmax = partial(torch.softmax, dim=-1)
    # torchcam uses one baseline for both curves: zeros reproduce our deletion, the blur our insertion.
    deletion_metric = DeletionInsertionMetric(FixedMapExtractor(effnet.model, maps), softmax, steps=16)
    deletion_metric.update(inputs, class_idx=targets)
    insertion_metric = DeletionInsertionMetric(FixedMapExtractor(effnet.model, maps), softmax, steps=16, baseline=gaussian_blur)
    insertion_metric.update(inputs, class_idx=targets)
    assert ours[:, 1].mean() == pytest.approx(deletion_metric.summary()["deletion_auc"], abs=1e-3)
    assert ours[:, 0].mean() == pytest.approx(insertion_metric.summary()["insertion_auc"], abs=1e-3)
