"""Faithfulness metrics against values worked out by hand, and against torchcam's implementation."""

from contextlib import nullcontext
from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

from camlib.errors import InvalidParameterError
from camlib.metrics import (
    adcc,
    average_drop,
    average_increase,
    class_scores,
    coherency,
    complexity,
    confidence_pair,
    deletion_insertion_auc,
    deletion_insertion_curves,
    gaussian_blur,
    image_drop,
    pixel_ranks,
    sparseness,
    top_area_masks,
)


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


def test_average_increase_ignores_rounding_noise():
    # a map of all ones scored 0.257814 against the image's 0.257813 (Blenheim spaniel, report half):
    # the same input, rounded differently; not an increase. 2e-5 above is one.
    assert average_increase([0.257813, 0.5], [0.257814, 0.5]) == 0.0
    assert average_increase([0.5, 0.5], [0.50002, 0.5]) == pytest.approx(50.0)


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
    # insertion: the blurred image, then its top two pixels (3.0 and 2.0) put back, then the image
    blurred = gaussian_blur(inputs)[0, 0].double()
    halfway = blurred.clone()
    halfway[0, 0], halfway[1, 0] = 3.0, 2.0
    curve = [sigmoid(float(blurred.sum())), sigmoid(float(halfway.sum())), sigmoid(6.5)]
    assert float(halfway.sum()) > 7.5  # halfway differs from both ends, so the middle of the curve tells
    assert insertion == pytest.approx(0.25 * (curve[0] + 2 * curve[1] + curve[2]), abs=1e-6)


def test_complexity_is_the_mean_map_value_by_hand():
    assert complexity(np.array([[1.0, 0.5], [0.0, 0.5]])) == pytest.approx(0.5)
    assert complexity(np.ones((3, 4))) == 1.0 and complexity(torch.zeros(1, 2, 2)) == 0.0
    with pytest.raises(InvalidParameterError):
        complexity(np.ones(5))


def test_coherency_by_hand_and_undefined_for_a_constant_map():
    first = np.array([[0.0, 1.0], [2.0, 3.0]])
    second = np.array([[0.0, 1.0], [3.0, 2.0]])
    # deviations (-1.5, -0.5, 0.5, 1.5) and (-1.5, -0.5, 1.5, 0.5): products sum to 4, squares to 5 -> rho 0.8
    assert coherency(first, second) == pytest.approx((0.8 + 1) / 2)
    assert coherency(first, first) == pytest.approx(1.0)
    assert coherency(first, 3.0 - first) == pytest.approx(0.0)
    assert np.isnan(coherency(np.ones((2, 2)), first))
    assert np.isnan(coherency(first, np.zeros((2, 2))))
    generator = np.random.default_rng(0)
    a, b = generator.random((7, 9)), generator.random((7, 9))
    assert coherency(a, b) == pytest.approx((np.corrcoef(a.ravel(), b.ravel())[0, 1] + 1) / 2)


def test_adcc_is_the_harmonic_mean_by_hand():
    # 3 / (1/0.9 + 1/(1 - 0.25) + 1/(1 - 0.5)) = 3 / (10/9 + 4/3 + 2) = 3 / (40/9) = 0.675
    assert adcc(0.9, 0.25, 0.5) == pytest.approx(0.675)
    assert adcc(1.0, 0.0, 0.0) == pytest.approx(1.0)
    assert adcc(float("nan"), 1.0, 0.0) == 0.0  # the uniform map: complexity 1 gives 0 whatever the coherency
    assert adcc(0.8, 0.3, 1.0) == 0.0
    assert np.isnan(adcc(float("nan"), 0.3, 0.2))
    assert image_drop(0.5, 0.25) == pytest.approx(0.5) and image_drop(0.5, 0.9) == 0.0
    with pytest.raises(InvalidParameterError):
        image_drop(0.0, 0.1)


def test_sparseness_is_the_gini_index_by_hand():
    # sorted ascending (0, 0, 0, 1), weights 2i - n - 1 = (-3, -1, 1, 3): 3 / (4 * 1)
    assert sparseness(np.array([[0.0, 1.0], [0.0, 0.0]])) == pytest.approx(0.75)
    # (1, 2, 3, 4): (-3 - 2 + 3 + 12) / (4 * 10)
    assert sparseness(np.array([[4.0, 2.0], [1.0, 3.0]])) == pytest.approx(0.25)
    assert sparseness(np.full((3, 3), 0.7)) == pytest.approx(0.0)
    assert sparseness(np.zeros((3, 3))) == 0.0


def test_top_area_masks_keep_exactly_k_pixels_with_raster_order_ties():
    saliency = np.array([[0.1, 0.9, 0.3, 0.3, 0.0], [0.5, 0.2, 0.8, 0.3, 0.4]])
    ten, quarter, half = top_area_masks(saliency, (10, 25, 50)).numpy()
    assert ten.sum() == 1 and ten[0, 1] == 1
    # 25 % of 10 pixels is 2.5 -> 3 kept (half up): 0.9, 0.8, 0.5
    assert quarter.sum() == 3 and quarter[0, 1] == quarter[1, 2] == quarter[1, 0] == 1
    # 0.9, 0.8, 0.5, 0.4, then the first of the three 0.3 ties in raster order
    expected = np.zeros((2, 5))
    expected[0, 1] = expected[1, 2] = expected[1, 0] = expected[1, 4] = expected[0, 2] = 1
    np.testing.assert_array_equal(half, expected)
    uniform = top_area_masks(np.ones((4, 10)), (25,))[0].numpy()
    assert uniform.sum() == 10 and uniform[0].all() and not uniform[1:].any()  # the top rows, not the image
    with pytest.raises(InvalidParameterError):
        top_area_masks(saliency, (0,))


def test_fixed_area_scores_on_a_tiny_model_by_hand():
    model = pixel_sum_model(4)
    inputs = torch.tensor([[[[3.0, 1.0], [2.0, 0.5]]]])
    saliency = torch.tensor([[0.9, 0.1], [0.5, 0.0]])
    masks = top_area_masks(saliency, (25, 50, 100))
    scores = class_scores(model, inputs * masks[:, None], 0)
    np.testing.assert_allclose(scores, [sigmoid(3.0), sigmoid(5.0), sigmoid(6.5)], atol=1e-6)


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
    from PIL import Image
    from skimage import data

    photos = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket()]
    # square first (as camlib did before it kept the aspect ratio), so the four photos stack into one batch
    inputs = torch.cat([effnet.preprocess(Image.fromarray(photo).resize((224, 224), Image.Resampling.BILINEAR)) for photo in photos])
    from camlib.methods import GradCAMpp

    targets = effnet.probabilities(inputs).argmax(dim=1).tolist()
    maps = GradCAMpp(effnet.model, "conv_head").compute(inputs, targets)
    return inputs, maps, targets


@pytest.fixture(scope="module")
def second_choice_batch(effnet, real_batch):
    """The same photos explained for each one's second most likely class: masking by the map raises that
    class's probability on two of the four (chelsea and astronaut), so Average Increase is 50 %, not 0."""
    from camlib.methods import GradCAMpp

    inputs, _, _ = real_batch
    targets = effnet.probabilities(inputs).argsort(dim=1, descending=True)[:, 1].tolist()
    return inputs, GradCAMpp(effnet.model, "conv_head").compute(inputs, targets), targets


def torchcam_drop_and_increase(model, inputs, maps, targets) -> tuple[float, float]:
    from torchcam.metrics import ClassificationMetric

    metric = ClassificationMetric(FixedMapExtractor(model, maps), partial(torch.softmax, dim=-1))
    metric.update(inputs, class_idx=targets)
    reference = metric.summary()
    return 100 * reference["avg_drop"], 100 * reference["conf_increase"]


@pytest.mark.parametrize("batch", ["real_batch", "second_choice_batch"])
def test_average_drop_and_increase_match_torchcam(effnet, batch, request):
    inputs, maps, targets = request.getfixturevalue(batch)
    pair = confidence_pair(effnet.model, inputs, maps, targets)
    drop, increase = torchcam_drop_and_increase(effnet.model, inputs, maps, targets)
    assert drop > 1.0
    assert pair.average_drop == pytest.approx(drop, abs=0.1)
    assert pair.average_increase == pytest.approx(increase, abs=0.1)
    if batch == "second_choice_batch":
        assert 0 < increase < 100  # a case with real increases (and real non-increases), not 0 against 0


def test_average_increase_of_the_wrong_class_does_not_match_torchcam(effnet, real_batch, second_choice_batch):
    """Negative control: camlib's figures for the top-1 class, held against torchcam's for the second
    choice (the maps and the class both wrong), fail the comparison above."""
    inputs, maps, targets = real_batch
    pair = confidence_pair(effnet.model, inputs, maps, targets)
    drop, increase = torchcam_drop_and_increase(effnet.model, *second_choice_batch)
    assert pair.average_increase != pytest.approx(increase, abs=0.1)
    assert pair.average_drop != pytest.approx(drop, abs=0.1)


@pytest.mark.slow  # 36 insertion/deletion passes per library on Lite0: 15 s on the shared machine
def test_deletion_and_insertion_auc_match_torchcam(effnet, real_batch):
    """Two photos and 8 steps (the curves' rules do not depend on either), against torchcam; negative
    control: the maps turned upside down give AUCs that torchcam's figures for the real maps reject."""
    from torchcam.metrics import DeletionInsertionMetric

    from camlib.metrics import gaussian_blur

    inputs, maps, targets = real_batch
    inputs, maps, targets, steps = inputs[:2], maps[:2], targets[:2], 8
    # A tiny ramp breaks the ties among the zeros of the maps, which the two libraries would order differently.
    ramp = torch.linspace(0, 1e-4, maps[0].numel()).view_as(maps[0])
    maps = maps + ramp

    def ours(saliency):
        return np.array([deletion_insertion_auc(effnet.model, inputs[i : i + 1], saliency[i], targets[i], steps=steps) for i in range(2)])

    softmax = partial(torch.softmax, dim=-1)
    # torchcam uses one baseline for both curves: zeros reproduce our deletion, the blur our insertion.
    deletion_metric = DeletionInsertionMetric(FixedMapExtractor(effnet.model, maps), softmax, steps=steps)
    deletion_metric.update(inputs, class_idx=targets)
    insertion_metric = DeletionInsertionMetric(FixedMapExtractor(effnet.model, maps), softmax, steps=steps, baseline=gaussian_blur)
    insertion_metric.update(inputs, class_idx=targets)
    reference = (insertion_metric.summary()["insertion_auc"], deletion_metric.summary()["deletion_auc"])
    mine = ours(maps).mean(axis=0)
    assert tuple(mine) == pytest.approx(reference, abs=1e-3)
    upside_down = ours(maps.flip(-2)).mean(axis=0)
    assert tuple(upside_down) != pytest.approx(reference, abs=1e-3)


def test_deletion_and_insertion_break_ties_by_raster_order():
    # A uniform map has no order of its own: the tie rule decides it, the same one as the fixed-area
    # masks, so the curves are the same on every device (an unstable sort of 64 tied pixels does not
    # keep raster order). Model: sigmoid of the mean pixel; image: 8 rows of values 0..7.
    model = pixel_sum_model(64)
    with torch.no_grad():
        model[1].weight[0] = 1.0 / 64
    inputs = torch.arange(8.0).repeat_interleave(8).view(1, 1, 8, 8)
    insertion_curve, deletion_curve = deletion_insertion_curves(model, inputs, torch.ones(8, 8), 0, steps=4)
    # deletion zeroes two rows per step, the top rows (the smallest values) first
    np.testing.assert_allclose(deletion_curve, sigmoid(np.array([28.0, 27.0, 22.0, 13.0, 0.0]) / 8), atol=1e-6)
    blurred = gaussian_blur(inputs)[0, 0]
    means = [torch.cat([inputs[0, 0, : 2 * k], blurred[2 * k :]]).mean().item() for k in range(5)]
    np.testing.assert_allclose(insertion_curve, sigmoid(np.array(means)), atol=1e-6)
    assert (pixel_ranks(np.ones((2, 3))).numpy() == np.arange(6).reshape(2, 3)).all()
