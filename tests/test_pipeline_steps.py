"""camlib.pipeline_steps: the steps of a method on one image reproduce the method's own map and weights.

Identities on a small random timm model (EfficientNet's test configuration, 256 channels): the map rebuilt
from the steps equals the method's call for Grad-CAM, exact Score-CAM and Grad++ScoreCAM; the steps' Grad-CAM++
weights equal GradCAMpp's and pytorch-grad-cam's formula on a plain autograd pass; each shown score is the
model's own logit on the masked input minus the baseline's. Each check has a planted error beside it.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import timm
import torch
from conftest import pearson

from camlib.methods import GradCAM, GradCAMpp, GradPPScoreCAM, ScoreCAM
from camlib.pipeline_steps import MethodSteps, input_pixels, masked_inputs, method_steps

LAYER = "bn2"
TARGET = 3


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = timm.create_model("test_efficientnet", pretrained=False, num_classes=10).eval()
    with torch.no_grad():
        model.classifier.bias.normal_()  # timm starts it at 0: the baseline's logit would be 0
    return model


@pytest.fixture(scope="module")
def inputs():
    return torch.randn(1, 3, 80, 80, generator=torch.Generator().manual_seed(3))


def assert_same_map(expected: np.ndarray, rebuilt: np.ndarray) -> None:
    """The identity every method's steps must satisfy: the rebuilt map is the method's map."""
    assert pearson(expected, rebuilt) > 0.999
    np.testing.assert_allclose(rebuilt, expected, atol=1e-4)


def rebuilt_map(method, weights: np.ndarray, steps: MethodSteps) -> np.ndarray:
    """The map from channel weights and the steps' activations, through the method's last step."""
    activations = torch.from_numpy(steps.activations)[None]
    return method.maps_from_weights(torch.from_numpy(weights)[None], activations, steps.saliency.shape)[0].numpy()


METHODS_UNDER_TEST = {
    "gradcam": lambda model: GradCAM(model, LAYER),
    "scorecam": lambda model: ScoreCAM(model, LAYER, batch_size=64),  # exact: every channel measured
    "gradpp_scorecam": lambda model: GradPPScoreCAM(model, LAYER, top_k=8),
}


@pytest.fixture(scope="module", params=list(METHODS_UNDER_TEST))
def run(request, model, inputs):
    """(method, its own map, its steps) for each method under test, computed once for the module."""
    method = METHODS_UNDER_TEST[request.param](model)
    return method, method(inputs, [TARGET])[0], method_steps(method, inputs, TARGET)


def test_the_steps_rebuild_the_methods_own_map(run):
    method, expected, steps = run
    assert steps.target_class == TARGET and steps.activations.shape[0] == 256
    assert_same_map(expected, steps.saliency)
    assert_same_map(expected, rebuilt_map(method, steps.weights, steps))
    low = np.maximum(np.einsum("k,khw->hw", steps.weights, steps.activations), 0)  # ReLU(sum_k alpha_k A_k) by hand
    np.testing.assert_allclose(steps.low_resolution_map, low, rtol=1e-4, atol=1e-5)


def test_planted_error_steps_with_other_weights_fail_the_identity(run):
    """Steps that weight the channels by their unnormalised scores C_k (the Score-CAM family), or all alike
    (Grad-CAM), do not give the method's map."""
    method, _, steps = run
    if steps.scores is None:
        wrong = np.full_like(steps.weights, steps.weights.mean())
    else:
        wrong = np.zeros_like(steps.weights)
        factor = 1 if steps.gradient_weights is None else steps.gradient_weights[steps.chosen] / steps.gradient_weights.max()
        wrong[steps.chosen] = steps.scores * factor
    with pytest.raises(AssertionError):
        assert_same_map(steps.saliency, rebuilt_map(method, wrong, steps))


def test_gradpp_scorecam_steps_combine_softmax_scores_with_gradient_weights(model, inputs):
    method = GradPPScoreCAM(model, LAYER, top_k=8)
    steps = method_steps(method, inputs, TARGET)
    softmax = np.exp(steps.scores - steps.scores.max())
    np.testing.assert_allclose(steps.score_terms, softmax / softmax.sum(), rtol=1e-5)
    w = steps.gradient_weights
    np.testing.assert_allclose(steps.weights[steps.chosen], steps.score_terms * w[steps.chosen] / w.max(), rtol=1e-5)
    assert set(np.flatnonzero(steps.weights)) <= set(steps.chosen.tolist())
    contributions = steps.weights * steps.activations.sum(axis=(1, 2))
    assert steps.strongest_channels(4) == np.argsort(-contributions)[:4].tolist()
    assert set(steps.strongest_channels(4)) <= set(steps.chosen.tolist())
    assert steps.empty_chosen() == sum(not steps.activations[channel].any() for channel in steps.chosen)


def test_scorecam_steps_score_every_channel_and_weight_by_their_softmax(model, inputs):
    method = ScoreCAM(model, LAYER, batch_size=64, sampled_channels=16)  # the steps follow the fast setting too
    steps = method_steps(method, inputs, TARGET)
    assert steps.chosen.tolist() == list(range(256))
    np.testing.assert_allclose(steps.weights, steps.score_terms, rtol=1e-6)
    softmax = np.exp(steps.scores - steps.scores.max())
    np.testing.assert_allclose(steps.weights, softmax / softmax.sum(), rtol=1e-4, atol=1e-7)
    assert_same_map(method(inputs, [TARGET])[0], steps.saliency)
    assert steps.strongest_channels(3) == np.argsort(-steps.weights * steps.activations.sum(axis=(1, 2)))[:3].tolist()


def plain_activations_and_gradients(model, inputs) -> tuple[np.ndarray, np.ndarray]:
    """bn2's output and d logit[TARGET] / d output by a forward hook and autograd, none of camlib's code."""
    kept = {}
    handle = model.bn2.register_forward_hook(lambda _m, _i, output: kept.setdefault("output", output))
    try:
        logits = model(inputs)
    finally:
        handle.remove()
    (gradients,) = torch.autograd.grad(logits[0, TARGET], kept["output"])
    return kept["output"].detach().numpy(), gradients.numpy()


@pytest.mark.slow  # importing pytorch-grad-cam alone takes seconds
def test_the_steps_gradcampp_weights_are_the_methods_and_the_peers(model, inputs):
    """The peer adds 1e-6 to the denominator 2 g² + ...: with the classifier scaled up 1000 times, 2 g² stays far
    above it, and the two formulas agree."""
    from pytorch_grad_cam import GradCAMPlusPlus

    model = copy.deepcopy(model)
    with torch.no_grad():
        model.classifier.weight.mul_(1000)
    steps = method_steps(GradPPScoreCAM(model, LAYER, top_k=8), inputs, TARGET)
    gradcampp = GradCAMpp(model, LAYER)
    capture = gradcampp.capture(inputs, [TARGET], with_gradients=True)
    own = gradcampp.channel_weights(inputs, torch.tensor([TARGET]), capture)[0].numpy()
    np.testing.assert_allclose(steps.gradient_weights, own, rtol=1e-5, atol=1e-8)
    activations, gradients = plain_activations_and_gradients(model, inputs)
    peer = GradCAMPlusPlus.get_cam_weights(None, None, None, None, activations, gradients)[0]
    assert np.abs(peer).max() > 0
    np.testing.assert_allclose(steps.gradient_weights, peer, rtol=1e-3, atol=1e-6 * np.abs(peer).max())
    # planted error: Grad-CAM's weights (the mean gradient) are not Grad-CAM++'s
    grad_cam = method_steps(GradCAM(model, LAYER), inputs, TARGET).weights
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(grad_cam, peer, rtol=1e-3, atol=1e-6 * np.abs(peer).max())


def test_each_shown_score_is_the_models_logit_on_the_masked_input_minus_the_baseline(model, inputs):
    method = GradPPScoreCAM(model, LAYER, top_k=8)
    steps = method_steps(method, inputs, TARGET)
    shown = steps.strongest_channels(3)
    masks, masked = masked_inputs(method, inputs, steps, shown)
    assert masks.shape == (3, 80, 80) and masks.min() >= 0 and np.allclose(masks.max(axis=(1, 2)), 1)
    np.testing.assert_allclose(masked, inputs[0].numpy()[None] * masks[:, None], rtol=1e-6)
    with torch.inference_mode():
        logits = model(torch.from_numpy(masked))[:, TARGET].numpy()
        baseline = float(model(torch.zeros_like(inputs))[0, TARGET])
    assert abs(baseline) > 1e-3  # otherwise the planted error below could not be caught
    scores = np.array([steps.channel_score(channel)[0] for channel in shown])
    np.testing.assert_allclose(scores, logits - baseline, rtol=1e-4, atol=1e-5)
    with pytest.raises(AssertionError):  # planted error: scores without the baseline
        np.testing.assert_allclose(scores, logits, rtol=1e-4, atol=1e-5)
    assert steps.channel_score(int(np.argmin(steps.gradient_weights))) is None  # not among the top 8: not scored


def test_input_pixels_undo_the_normalisation(effnet):
    rgb = np.random.default_rng(0).integers(0, 256, size=(12, 10, 3), dtype=np.uint8)
    normalised = effnet.to_tensor(rgb)[0].numpy()
    assert np.abs(input_pixels(normalised, effnet.spec.mean, effnet.spec.std).astype(int) - rgb).max() <= 1
    grey = input_pixels(np.zeros((3, 2, 2)), effnet.spec.mean, effnet.spec.std)  # the baseline: the mean colour
    assert (grey == 128).all()
    with pytest.raises(AssertionError):  # planted error: the mean and std swapped round does not undo it
        assert np.abs(input_pixels(normalised, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)).astype(int) - rgb).max() <= 1


def test_method_steps_refuse_a_batch_and_masked_inputs_a_gradient_method(model, inputs):
    from camlib.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="one image"):
        method_steps(GradCAM(model, LAYER), inputs.repeat(2, 1, 1, 1), TARGET)
    steps = method_steps(GradCAM(model, LAYER), inputs, TARGET)
    assert steps.chosen is None and steps.channel_score(0) is None
    with pytest.raises(InvalidParameterError, match="no masked inputs"):
        masked_inputs(GradCAM(model, LAYER), inputs, steps, [0])
