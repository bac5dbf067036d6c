"""Identities and hand computations the methods must satisfy, and the errors they raise.

The references here are independent of camlib's code paths: activations come from our own forward
hooks or from numpy, gradients from the closed form of a tiny model, and Score-CAM's channel loop is
written out one channel at a time.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from conftest import make_every_method, make_method, make_tiny_gap_net, pearson
from torch import nn

from camlib.backbones import load_backbone
from camlib.errors import InvalidParameterError, MethodNotApplicableError, UnknownClassError, UnknownLayerError
from camlib.explain import build_method
from camlib.methods import CAM, METHODS, GradCAM, GradCAMpp, GradPPScoreCAM, ScoreCAM, SmoothGradCAMpp

GENERATOR_SEED = 7


def random_inputs(*shape: int, seed: int = GENERATOR_SEED) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def all_methods(model: nn.Module, layer: str) -> dict[str, object]:
    """One instance of each of the six methods, with cheap settings; Grad++ScoreCAM scores every channel."""
    return make_every_method(model, layer, gradpp_scorecam={"top_k": None})


def layer_output(model: nn.Module, layer: str, inputs: torch.Tensor) -> torch.Tensor:
    """The output of ``layer`` for ``inputs``, read with our own hook."""
    seen = []
    handle = model.get_submodule(layer).register_forward_hook(lambda _m, _i, out: seen.append(out.detach().clone()))
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        handle.remove()
    return seen[-1]


def min_max(maps: np.ndarray) -> np.ndarray:
    """Min-max normalise each (H, W) map of a stack; a constant map becomes zeros."""
    out = np.zeros_like(maps, dtype=np.float64)
    for index, single in enumerate(maps):
        span = single.max() - single.min()
        if span > 0:
            out[index] = (single - single.min()) / span
    return out


# -- CAM and Grad-CAM -------------------------------------------------------------------------------


@pytest.mark.parametrize("build", ["tiny", "resnet18"])
def test_cam_equals_gradcam_on_gap_linear_head(build):
    """With GAP + one linear layer, d y_c / d A_k(i, j) = W[c, k] / (h w): Grad-CAM's weights are CAM's
    divided by h w, so the normalised maps coincide."""
    if build == "tiny":
        model, layer, size = make_tiny_gap_net(seed=1), "act2", 24  # act2 feeds the pooling
    else:
        torch.manual_seed(1)
        model, layer, size = torchvision.models.resnet18(weights=None, num_classes=10).eval(), "layer4", 96
    inputs = random_inputs(3, 3, size, size)
    targets = [0, 2, 4]
    cam = CAM(model, layer, classifier_layer="fc")(inputs, targets)
    gradcam = GradCAM(model, layer)(inputs, targets)
    for image in range(3):
        assert pearson(cam[image], gradcam[image]) >= 0.999
    np.testing.assert_allclose(cam, gradcam, atol=1e-4)


class OnePixelConvNet(nn.Module):
    """1×1 conv (the target layer, stride 1, so the map needs no upsampling) -> ReLU -> GAP -> linear."""

    def __init__(self, channels: int = 4, classes: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))


@pytest.fixture
def one_pixel_net():
    torch.manual_seed(3)
    return OnePixelConvNet().eval()


def hand_activations_and_gradients(model: OnePixelConvNet, inputs: torch.Tensor, targets: list[int]):
    """A = W_conv x + b in numpy, and d y_c / d A = W_fc[c, k] · [A > 0] / (h w) in closed form."""
    x = inputs.numpy().astype(np.float64)
    conv_w = model.conv.weight.detach().numpy()[:, :, 0, 0].astype(np.float64)  # (K, 3)
    conv_b = model.conv.bias.detach().numpy().astype(np.float64)
    fc_w = model.fc.weight.detach().numpy().astype(np.float64)  # (C, K)
    activations = np.einsum("kc,nchw->nkhw", conv_w, x) + conv_b[None, :, None, None]
    area = activations.shape[2] * activations.shape[3]
    gradients = fc_w[targets][:, :, None, None] * (activations > 0) / area
    return activations, gradients


def test_gradcam_matches_hand_computation(one_pixel_net):
    inputs = random_inputs(2, 3, 6, 7)
    targets = [0, 2]
    activations, gradients = hand_activations_and_gradients(one_pixel_net, inputs, targets)
    assert (activations < 0).any() and (activations > 0).any(), "the ReLU must cut some values for this to test anything"
    weights = gradients.mean(axis=(2, 3))
    expected = min_max(np.maximum(np.einsum("nk,nkhw->nhw", weights, activations), 0))
    maps = GradCAM(one_pixel_net, "conv")(inputs, targets)
    np.testing.assert_allclose(maps, expected, atol=1e-5)


def test_gradcampp_matches_hand_computation(one_pixel_net):
    inputs = random_inputs(2, 3, 6, 7, seed=11)
    targets = [1, 2]
    activations, g = hand_activations_and_gradients(one_pixel_net, inputs, targets)
    sums = activations.sum(axis=(2, 3), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(g != 0, g**2 / (2 * g**2 + sums * g**3), 0.0)
    weights = (alpha * np.maximum(g, 0)).sum(axis=(2, 3))
    expected = min_max(np.maximum(np.einsum("nk,nkhw->nhw", weights, activations), 0))
    maps = GradCAMpp(one_pixel_net, "conv")(inputs, targets)
    np.testing.assert_allclose(maps, expected, atol=1e-5)


def test_cam_matches_hand_computation(one_pixel_net):
    """CAM at the ReLU that feeds the pooling: weights are the classifier's row for the class."""
    inputs = random_inputs(2, 3, 6, 7, seed=12)
    targets = [2, 0]
    activations, _ = hand_activations_and_gradients(one_pixel_net, inputs, targets)
    activations = np.maximum(activations, 0)
    fc_w = one_pixel_net.fc.weight.detach().numpy().astype(np.float64)
    expected = min_max(np.maximum(np.einsum("nk,nkhw->nhw", fc_w[targets], activations), 0))
    maps = CAM(one_pixel_net, "relu", classifier_layer="fc")(inputs, targets)
    np.testing.assert_allclose(maps, expected, atol=1e-5)


# -- Score-CAM ----------------------------------------------------------------------------------------


@pytest.fixture
def score_net():
    """A tiny GAP net whose channel 0 is dead after the ReLU (a constant channel gets no pass).

    The classifier is scaled up so that the logits spread over a few units, as in a trained network;
    with near-equal logits every weighting would give nearly the same map.
    """
    model = make_tiny_gap_net(seed=5, channels=8)
    with torch.no_grad():
        model.features.bias[0] = -1e4
        model.fc.weight.mul_(30)
    return model


def hand_scorecam(model: nn.Module, layer: str, inputs: torch.Tensor, targets: list[int], score: str) -> np.ndarray:
    """Score-CAM written out channel by channel, after the paper (logit) and the authors' code (probability).

    logit: C_k = f_c(X ∘ H_k) - f_c(0), α = softmax_k(C); probability: α_k = softmax(f(X ∘ H_k))_c.
    A constant channel has no mask: it scores 0 (logit: its masked input is the baseline) and the
    authors' code skips it (probability).
    """
    activations = layer_output(model, layer, inputs)
    size = inputs.shape[-2:]
    maps = []
    with torch.no_grad():
        for image, target in enumerate(targets):
            x = inputs[image : image + 1]
            baseline = model(torch.zeros_like(x))[0, target]
            weights = []
            for channel in range(activations.shape[1]):
                up = F.interpolate(activations[image, channel][None, None], size=size, mode="bilinear", align_corners=False)
                if up.max() == up.min():
                    weights.append(0.0)
                    continue
                mask = (up - up.min()) / (up.max() - up.min())
                logits = model(x * mask)[0]
                if score == "logit":
                    weights.append(float(logits[target] - baseline))
                else:
                    weights.append(float(logits.softmax(0)[target]))
            weights = torch.tensor(weights, dtype=torch.float64)
            if score == "logit":
                weights = weights.softmax(0)
            low = torch.relu(torch.einsum("k,khw->hw", weights, activations[image].double()))
            up = F.interpolate(low[None, None].float(), size=size, mode="bilinear", align_corners=False)[0, 0]
            maps.append(up.numpy())
    return min_max(np.stack(maps))


def test_scorecam_logit_matches_hand_loop(score_net):
    inputs = random_inputs(2, 3, 16, 16)
    targets = [1, 3]
    assert (layer_output(score_net, "act2", inputs)[:, 0] == 0).all()
    maps = ScoreCAM(score_net, "act2", score="logit", batch_size=3)(inputs, targets)
    np.testing.assert_allclose(maps, hand_scorecam(score_net, "act2", inputs, targets, "logit"), atol=1e-5)


def test_scorecam_probability_weights_are_probabilities(score_net):
    inputs = random_inputs(2, 3, 16, 16, seed=8)
    targets = [1, 3]
    maps = ScoreCAM(score_net, "act2", score="probability", batch_size=3)(inputs, targets)
    expected = hand_scorecam(score_net, "act2", inputs, targets, "probability")
    np.testing.assert_allclose(maps, expected, atol=1e-5)
    # The logit form (softmax across channels) is a different map, so the check above can tell them apart.
    logit_form = ScoreCAM(score_net, "act2", score="logit", batch_size=3)(inputs, targets)
    assert np.abs(logit_form - expected).max() > 1e-2


def test_scorecam_perturbation_size_runs_masked_passes_at_that_resolution(score_net):
    """With perturbation_size equal to the input's size the result is the full-resolution one."""
    inputs = random_inputs(1, 3, 16, 16, seed=9)
    full = ScoreCAM(score_net, "act2")(inputs, [2])
    same = ScoreCAM(score_net, "act2", perturbation_size=16)(inputs, [2])
    np.testing.assert_allclose(full, same, atol=1e-6)
    assert ScoreCAM(score_net, "act2", perturbation_size=8)(inputs, [2]).shape == (1, 16, 16)


@pytest.mark.parametrize("top_k", [8, None])
def test_gradpp_scorecam_on_all_channels_with_softmax_is_scorecam(score_net, top_k):
    inputs = random_inputs(2, 3, 16, 16, seed=10)
    targets = [0, 4]
    scorecam = ScoreCAM(score_net, "act2", score="logit", batch_size=5)(inputs, targets)
    gradpp = GradPPScoreCAM(score_net, "act2", top_k=top_k, combination="softmax", batch_size=5)(inputs, targets)
    np.testing.assert_allclose(gradpp, scorecam, atol=1e-6)


def test_gradpp_scorecam_scores_only_top_k_channels():
    """top_k=2 runs 2 masked passes per image: one progress step per pass with batch_size=1."""
    model = make_tiny_gap_net(seed=5, channels=8)
    calls = []
    method = GradPPScoreCAM(model, "act2", top_k=2, batch_size=1, progress=lambda done, total: calls.append((done, total)))
    method(random_inputs(2, 3, 16, 16), [1, 2])
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


# -- degenerate activations, output contract ---------------------------------------------------------


class ConstantLayerNet(nn.Module):
    """The target layer ``const`` outputs the same value everywhere, whatever the input."""

    def __init__(self, value: float, channels: int = 4) -> None:
        super().__init__()
        self.value = value
        self.conv = nn.Conv2d(3, channels, 3, padding=1)
        self.const = Constant(value)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.const(self.conv(x))).flatten(1))


class Constant(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0 + self.value


@pytest.mark.parametrize("value", [0.0, 1.5])
def test_constant_activation_gives_zero_map_not_nan(value):
    torch.manual_seed(0)
    model = ConstantLayerNet(value).eval()
    inputs = random_inputs(2, 3, 10, 10)
    for key, method in all_methods(model, "const").items():
        maps = method(inputs, [0, 2])
        assert not np.isnan(maps).any(), key
        assert (maps == 0).all(), key


@pytest.mark.parametrize("size", [(20, 28), (17, 17)])
def test_output_contract(size):
    model = make_tiny_gap_net(seed=2)
    inputs = random_inputs(3, 3, *size)
    for key, method in all_methods(model, "act2").items():
        maps = method(inputs, [0, 1, 4])
        assert isinstance(maps, np.ndarray), key
        assert maps.dtype == np.float32, key
        assert maps.shape == (3, *size), key
        assert np.isfinite(maps).all(), key
        for single in maps:
            # min-max normalised: exactly [0, 1] unless the whole map is zero
            if single.any():
                assert single.min() == 0.0 and single.max() == pytest.approx(1.0, abs=1e-6), key
            assert 0.0 <= single.min() and single.max() <= 1.0, key


def test_target_forms_and_top1_default():
    model = make_tiny_gap_net(seed=4)
    inputs = random_inputs(2, 3, 16, 16)
    with torch.no_grad():
        top1 = model(inputs).argmax(1)
    method = GradCAM(model, "act2")
    expected = method(inputs, top1.tolist())
    np.testing.assert_array_equal(method(inputs, None), expected)
    np.testing.assert_array_equal(method(inputs, top1), expected)
    np.testing.assert_array_equal(method(inputs, top1.numpy()), expected)
    single = method(inputs, 3)
    np.testing.assert_array_equal(single, method(inputs, [3, 3]))


@pytest.mark.parametrize("context", ["no_grad", "inference_mode"])
def test_methods_work_inside_no_grad_and_inference_mode(context):
    """Callers often wrap inference in torch.no_grad() or torch.inference_mode(); the gradient methods
    must still get their gradients, and give the same maps as outside."""
    model = make_tiny_gap_net(seed=4)
    inputs = random_inputs(2, 3, 16, 16)
    expected = {key: method(inputs, [1, 3]) for key, method in all_methods(model, "act2").items()}
    guard = torch.no_grad if context == "no_grad" else torch.inference_mode
    with guard():
        inner_inputs = inputs.clone()  # created inside the context, as a caller's tensors would be
        inner_targets = torch.tensor([1, 3])
        for key, method in all_methods(model, "act2").items():
            np.testing.assert_allclose(method(inner_inputs, inner_targets), expected[key], atol=1e-6, err_msg=key)


# -- errors --------------------------------------------------------------------------------------------


METHOD_FACTORIES = {key: partial(make_method, key) for key in METHODS}  # (model, layer) -> method


@pytest.mark.parametrize("key", METHOD_FACTORIES)
def test_unknown_layer(key):
    model = make_tiny_gap_net()
    with pytest.raises(UnknownLayerError, match="nope"):
        METHOD_FACTORIES[key](model, "nope")


@pytest.mark.parametrize("key", METHOD_FACTORIES)
def test_class_out_of_range(key):
    model = make_tiny_gap_net(classes=5)
    method = METHOD_FACTORIES[key](model, "act2")
    for bad in (5, -1):
        with pytest.raises(UnknownClassError):
            method(random_inputs(1, 3, 16, 16), [bad])


@pytest.mark.parametrize("key", METHOD_FACTORIES)
def test_layer_without_spatial_output(key):
    """The final Linear outputs (N, classes), not (N, K, h, w)."""
    model = make_tiny_gap_net()
    with pytest.raises(UnknownLayerError, match="spatial"):
        METHOD_FACTORIES[key](model, "fc")(random_inputs(1, 3, 16, 16), [0])


def test_layer_not_used_by_forward():
    model = make_tiny_gap_net()
    model.unused = nn.Conv2d(3, 3, 1)
    with pytest.raises(UnknownLayerError):
        GradCAM(model, "unused")(random_inputs(1, 3, 16, 16), [0])


def test_invalid_parameters():
    model = make_tiny_gap_net(channels=8)
    inputs = random_inputs(1, 3, 16, 16)
    with pytest.raises(InvalidParameterError, match="top_k"):
        GradPPScoreCAM(model, "act2", top_k=9)(inputs, [0])
    with pytest.raises(InvalidParameterError, match="top_k"):
        GradPPScoreCAM(model, "act2", top_k=0)
    for factory in (ScoreCAM, GradPPScoreCAM):
        with pytest.raises(InvalidParameterError, match="batch_size"):
            factory(model, "act2", batch_size=0)
    with pytest.raises(InvalidParameterError):
        ScoreCAM(model, "act2", score="softmax")
    with pytest.raises(InvalidParameterError):
        GradPPScoreCAM(model, "act2", combination="mean")
    with pytest.raises(InvalidParameterError):
        SmoothGradCAMpp(model, "act2", n_samples=0)
    with pytest.raises(InvalidParameterError, match="2 target classes"):
        GradCAM(model, "act2")(inputs, [0, 1])
    with pytest.raises(InvalidParameterError):
        GradCAM(model, "act2")(inputs[0], [0])  # no batch dimension


def test_cam_needs_a_linear_classifier():
    model = make_tiny_gap_net()
    with pytest.raises(MethodNotApplicableError):
        CAM(model, "act2")
    with pytest.raises(MethodNotApplicableError, match="nn.Linear"):
        CAM(model, "act2", classifier_layer="pool")
    with pytest.raises(MethodNotApplicableError, match="channels"):
        CAM(model, "stem", classifier_layer="fc")(random_inputs(1, 3, 16, 16), [0])  # 6 channels, fc expects 8


@pytest.mark.parametrize("key", ["vgg16", "alexnet"])
def test_cam_not_applicable_to_fully_connected_heads(key):
    backbone = load_backbone(key, pretrained=False, device="cpu")
    with pytest.raises(MethodNotApplicableError) as raised:
        build_method("cam", backbone)
    message = str(raised.value)
    assert "global average pooling" in message
    assert "Grad-CAM" in message
    assert "VGG16" in message if key == "vgg16" else "AlexNet" in message
    # Grad-CAM is the generalisation the message points to, and it builds fine.
    assert isinstance(build_method("gradcam", backbone), GradCAM)


# -- non-finite outputs, empty batches, and the same errors through explain() / run_method() ------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf")], ids=["nan", "inf"])
@pytest.mark.parametrize("key", METHOD_FACTORIES)
def test_non_finite_model_outputs(key, bad):
    """Corrupt weights (one NaN or inf bias) make every logit or one of them non-finite: a clear
    InvalidParameterError, not a map of NaN."""
    model = make_tiny_gap_net()
    with torch.no_grad():
        model.fc.bias[1] = bad
    with pytest.raises(InvalidParameterError, match=r"non-finite outputs \(NaN or inf\)"):
        METHOD_FACTORIES[key](model, "act2")(random_inputs(1, 3, 16, 16), [0])


class LogOfMeanNet(nn.Module):
    """Finite on real images, -inf on the all-zero baseline that Score-CAM scores against."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.conv(x)
        return torch.log(x.abs().mean(dim=(1, 2, 3)))[:, None] + features.mean(dim=(2, 3))


@pytest.mark.parametrize("factory", [ScoreCAM, lambda model, layer: GradPPScoreCAM(model, layer, top_k=2)])
def test_non_finite_output_on_masked_inputs_only(factory):
    model = LogOfMeanNet().eval()
    inputs = random_inputs(1, 3, 8, 8)
    assert torch.isfinite(model(inputs)).all() and not torch.isfinite(model(torch.zeros_like(inputs))).all()
    with pytest.raises(InvalidParameterError, match="non-finite"):
        factory(model, "conv")(inputs, [0])


@pytest.mark.parametrize("key", METHOD_FACTORIES)
def test_empty_batch(key):
    with pytest.raises(InvalidParameterError, match="empty"):
        METHOD_FACTORIES[key](make_tiny_gap_net(), "act2")(torch.zeros(0, 3, 16, 16), [])


@pytest.fixture(scope="module")
def tiny_image():
    from PIL import Image

    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))


def test_parameter_errors_through_explain_and_run_method(effnet, tiny_image):
    """What the CLI and the app call: a bad class raises before any method runs; a bad layer or method
    parameter becomes that method's error message, and the other methods still run."""
    from camlib.explain import explain, run_method

    with pytest.raises(UnknownClassError, match="Class index 1000 does not exist"):
        explain(effnet, tiny_image, methods=["gradcam"], target=1000)
    with pytest.raises(UnknownClassError, match="No class named 'unicorn'"):
        explain(effnet, tiny_image, methods=["gradcam"], target="unicorn")

    unknown = explain(effnet, tiny_image, methods=["cam", "gradcam"], layer="blocks.99")
    assert unknown.results["cam"].error is None  # CAM always uses the layer before the pooling
    assert "Unknown layer 'blocks.99'" in unknown.results["gradcam"].error
    flat = explain(effnet, tiny_image, methods=["gradcampp"], layer="classifier")
    assert "not a spatial map" in flat.results["gradcampp"].error

    inputs = effnet.preprocess(tiny_image)
    too_many = run_method("gradpp_scorecam", effnet, inputs, 0, params={"top_k": 2000})
    assert too_many.saliency is None and too_many.error == "top_k=2000 is larger than the layer's 1280 channels."
    for key in ("scorecam", "gradpp_scorecam"):
        result = run_method(key, effnet, inputs, 0, params={"batch_size": 0})
        assert result.error == f"{key}.batch_size must be at least 1 and at most 4096, got 0.", key
    assert "does not exist" in run_method("gradcam", effnet, inputs, 1000).error


def test_non_finite_outputs_through_explain(effnet, tiny_image):
    """A backbone whose weights hold a NaN: explain() stops with one clear error instead of showing NaN
    probabilities, and run_method() reports it as the method's error."""
    import copy

    from camlib.explain import explain, run_method

    broken = copy.copy(effnet)
    broken.model = copy.deepcopy(effnet.model)
    with torch.no_grad():
        broken.model.classifier.bias[7] = float("nan")
    with pytest.raises(InvalidParameterError, match=r"non-finite outputs \(NaN or inf\) .* its weights may be corrupt"):
        explain(broken, tiny_image, methods=["gradcam"])
    result = run_method("gradcam", broken, broken.preprocess(tiny_image), 0)
    assert result.saliency is None and "non-finite outputs" in result.error
    assert torch.isfinite(effnet.model.classifier.bias).all(), "the shared fixture must be untouched"
