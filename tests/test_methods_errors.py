"""Error tests: bad layers, classes, parameters, inputs and non-finite model outputs raise camlib's
errors (CamlibError subclasses) with a message that says what to change, directly and through
explain() / run_method().
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import METHOD_FACTORIES, make_tiny_gap_net, random_inputs
from torch import nn

from camlib.backbones import load_backbone
from camlib.errors import InvalidParameterError, MethodNotApplicableError, UnknownClassError, UnknownLayerError
from camlib.explain import build_method
from camlib.methods import CAM, GradCAM, GradPPScoreCAM, ScoreCAM, SmoothGradCAMpp


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


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_gradpp_scorecam_linear_weight_outside_0_1_is_refused(value):
    with pytest.raises(InvalidParameterError, match="linear_weight"):
        GradPPScoreCAM(make_tiny_gap_net(), "act2", combination="linear", linear_weight=value)


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
