"""Vision Transformers: ViT, DeiT and Swin from timm (random weights) with every method that applies.

camlib reshapes a layer's tokens to the grid the model declares (timm's ``patch_embed.grid_size`` and
``num_prefix_tokens``) and Swin's channels-last maps to channels-first, with no argument from the caller.
The maps are compared with pytorch-grad-cam 1.5.7 given its own ``reshape_transform`` on the same models,
by Pearson correlation at the peer's resolution (224 × 224), threshold :data:`THRESHOLD`, as
``tests/test_methods_agreement.py`` does for CNNs. Each comparison keeps planted errors beside it, given to
camlib through ``reshape=``: the class token kept as a patch, the grid transposed, Swin's channels-last map
read as channels-first. Each must fall below the same threshold.

Conditions of the comparison, each measured (every figure, with the planted errors', all below 0.42:
``PYTHONPATH=$PWD OMP_NUM_THREADS=1 python bench/vit_agreement.py``):

- pytorch-grad-cam's Grad-CAM++ adds 1e-6 to the denominator of α = g² / (2g² + ΣA·g³). A random ViT's
  gradients at ``blocks.11.norm1`` are about 2e-5, so g² ≈ 6e-10 and that 1e-6 dominates: Pearson 0.68 to
  0.83 with the peer on the four models as built, where Grad-CAM, which has no ε, is at 1.00000. The
  comparisons therefore run on the models with their classifier multiplied by :data:`HEAD_SCALE` (300;
  50 for Swin, whose gradients are 4 times larger and ΣA up to ±53), where g² is well above 1e-6 and the
  denominator is far from zero (a LayerNorm's output sums to either sign, so 2 + ΣA·g can vanish: Swin at
  ×300 has one at 0.0008, ViT at ×1000 too, and there the two libraries part). The test asserts both
  conditions before comparing (median g² ≥ 10 ε, every |2 + ΣA·g| ≥ 0.5).
- pytorch-grad-cam's Score-CAM upsamples its masks with ``align_corners=True``, camlib with ``False``;
  unmodified, the maps correlate 0.92 (ViT), 0.80 (DeiT) and 0.91 (Swin). The reference is the peer with
  only that upsampling switched, as for EfficientNet in ``test_methods_agreement.py``. Score-CAM runs one
  masked pass per channel, so it runs on narrow variants of the same timm classes (48 channels, 2 blocks;
  Swin with an 8-channel stem, one block per stage, 64 channels at the end): seconds, not minutes.
- pytorch-grad-cam's ``swinT_reshape_transform`` expects the (N, L, C) tokens of timm < 0.9; timm 1.0's
  Swin blocks output (N, 7, 7, C), so the peer is given ``swinT_reshape_transform(t.flatten(1, 2))``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import timm
import torch
import torchvision
from conftest import assert_no_hooks, pearson
from pytorch_grad_cam import GradCAM as PeerGradCAM
from pytorch_grad_cam import GradCAMPlusPlus as PeerGradCAMPlusPlus
from pytorch_grad_cam import ScoreCAM as PeerScoreCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.reshape_transforms import swinT_reshape_transform, vit_reshape_transform
from test_methods_agreement import _UpsampleHalfPixel
from torch import nn

import camlib.methods.tokens as tokens_module
from camlib.errors import InvalidParameterError, MethodNotApplicableError, UnknownLayerError
from camlib.methods import (
    CAM,
    METHODS,
    GradCAM,
    GradCAMpp,
    GradPPScoreCAM,
    ScoreCAM,
    SmoothGradCAMpp,
    TokenGrid,
    recommended_transformer_layer,
)
from camlib.methods.params import method_parameters

THRESHOLD = 0.99
HEAD_SCALE = {"vit": 300.0, "deit_distilled": 300.0, "vit_registers": 300.0, "swin": 50.0}
PEER_EPS = 1e-6  # pytorch-grad-cam's Grad-CAM++ denominator term
TARGET = 3
PEERS = {GradCAM: PeerGradCAM, GradCAMpp: PeerGradCAMPlusPlus, ScoreCAM: PeerScoreCAM}


def keep_class_token(prefix: int, height: int, width: int):
    """Planted error: the last prefix token (the class token of a ViT) read as the first patch."""
    return lambda t: t[:, prefix - 1 : prefix - 1 + height * width].reshape(len(t), height, width, -1).permute(0, 3, 1, 2)


def transposed_tokens(prefix: int, height: int, width: int):
    """Planted error: the patches laid out column by column instead of row by row."""
    return lambda t: t[:, prefix:].reshape(len(t), height, width, -1).permute(0, 3, 2, 1)


def transposed_channels_last(t: torch.Tensor) -> torch.Tensor:
    return t.permute(0, 3, 2, 1)


def channels_last_read_as_first(t: torch.Tensor) -> torch.Tensor:
    """Planted error: (N, h, w, C) reshaped, not permuted, to (N, C, h, w)."""
    return t.reshape(len(t), t.shape[-1], *t.shape[1:3])


CASES = {
    # name: (timm name, extra arguments, layer, peer reshape, planted reshapes)
    "vit": ("vit_tiny_patch16_224", {}, "blocks.11.norm1", vit_reshape_transform,
            [keep_class_token(1, 14, 14), transposed_tokens(1, 14, 14)]),
    "deit_distilled": ("deit_tiny_distilled_patch16_224", {}, "blocks.11.norm1", lambda t: vit_reshape_transform(t[:, 1:]),
                       [keep_class_token(2, 14, 14), transposed_tokens(2, 14, 14)]),
    "vit_registers": ("vit_tiny_patch16_224", {"reg_tokens": 4}, "blocks.11.norm1", lambda t: vit_reshape_transform(t[:, 4:]),
                      [keep_class_token(5, 14, 14), transposed_tokens(5, 14, 14)]),
    "swin": ("swin_tiny_patch4_window7_224", {}, "layers.3.blocks.1.norm1", lambda t: swinT_reshape_transform(t.flatten(1, 2)),
             [transposed_channels_last, channels_last_read_as_first]),
}
NARROW = {
    "vit": {"embed_dim": 48, "depth": 2, "num_heads": 3},
    "deit_distilled": {"embed_dim": 48, "depth": 2, "num_heads": 3},
    "vit_registers": {"embed_dim": 48, "depth": 2, "num_heads": 3},
    "swin": {"embed_dim": 8, "depths": (1, 1, 1, 1), "num_heads": (1, 1, 2, 2)},
}
NARROW_LAYERS = {
    "vit": "blocks.1.norm1",
    "deit_distilled": "blocks.1.norm1",
    "vit_registers": "blocks.1.norm1",
    "swin": "layers.3.blocks.0.norm1",
}


def make_model(case: str, narrow: bool = False, head_scale: float | None = None) -> nn.Module:
    """The case's timm model with random weights (seed 0), its classifier times ``head_scale`` (default :data:`HEAD_SCALE`)."""
    name, extra, *_ = CASES[case]
    scale = HEAD_SCALE[case] if head_scale is None else head_scale
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=10, **extra, **(NARROW[case] if narrow else {})).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear) and module.out_features == 10:  # the classifier (two on distilled DeiT)
                module.weight.mul_(scale)
                module.bias.mul_(scale)
    return model


_MODELS: dict[tuple[str, bool], nn.Module] = {}


def model_for(case: str, narrow: bool = False) -> nn.Module:
    """Built once per module run (treat as read-only)."""
    if (case, narrow) not in _MODELS:
        _MODELS[case, narrow] = make_model(case, narrow)
    return _MODELS[case, narrow]


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))


def peer_map(method_class, model: nn.Module, layer: str, inputs: torch.Tensor, reshape, **attributes) -> np.ndarray:
    """pytorch-grad-cam's map with its ``reshape_transform``, on a gradient-enabled deep copy of ``model``."""
    reference = copy.deepcopy(model).requires_grad_(True)
    with PEERS[method_class](reference, [reference.get_submodule(layer)], reshape_transform=reshape) as cam:
        for name, value in attributes.items():
            setattr(cam, name, value)
        return cam(inputs, [ClassifierOutputTarget(TARGET)])[0]


def assert_gradcampp_conditions(model: nn.Module, layer: str, inputs: torch.Tensor) -> None:
    """The peer's ε is negligible (median g² ≥ 10 ε) and α's denominator far from 0 (min |2 + ΣA·g| ≥ 0.5)."""
    capture = GradCAM(model, layer).capture(inputs, [TARGET], with_gradients=True)
    grad = capture.gradients
    assert grad.pow(2).median() >= 10 * PEER_EPS
    assert (2 + capture.activations.sum(dim=(2, 3), keepdim=True) * grad).abs().min() >= 0.5


@pytest.mark.parametrize("method_class", [GradCAM, GradCAMpp], ids=["gradcam", "gradcampp"])
@pytest.mark.parametrize("case", list(CASES))
def test_gradient_methods_agree_with_peer_and_planted_reshapes_fail(case, method_class, image):
    _name, _extra, layer, peer_reshape, planted = CASES[case]
    model = model_for(case)
    if method_class is GradCAMpp:
        assert_gradcampp_conditions(model, layer, image)
    theirs = peer_map(method_class, model, layer, image, peer_reshape)
    ours = method_class(model, layer)(image, targets=[TARGET])[0]  # no reshape argument: read from the model
    assert ours.shape == theirs.shape == (224, 224)
    assert pearson(ours, theirs) >= THRESHOLD
    for wrong in planted:
        assert pearson(method_class(model, layer, reshape=wrong)(image, targets=[TARGET])[0], theirs) < THRESHOLD


def test_swin_read_without_its_channels_last_declaration_fails_the_check(image, monkeypatch):
    """Planted error in camlib's own rule: timm's ``output_fmt = "NHWC"`` ignored, (N, 7, 7, C) read as (N, C, h, w)."""
    _name, _extra, layer, peer_reshape, _planted = CASES["swin"]
    model = model_for("swin")
    theirs = peer_map(GradCAM, model, layer, image, peer_reshape)
    monkeypatch.setattr(tokens_module, "_declares_channels_last", lambda module: False)
    assert pearson(GradCAM(model, layer)(image, targets=[TARGET])[0], theirs) < THRESHOLD


@pytest.mark.parametrize("case", ["vit", "deit_distilled", "swin"])
def test_scorecam_agrees_with_peer_and_planted_reshapes_fail(case, image, monkeypatch):
    _name, _extra, _layer, peer_reshape, planted = CASES[case]
    layer = NARROW_LAYERS[case]
    model = model_for(case, narrow=True)
    monkeypatch.setattr(torch.nn, "UpsamplingBilinear2d", _UpsampleHalfPixel)
    theirs = peer_map(ScoreCAM, model, layer, image, peer_reshape, batch_size=64)
    monkeypatch.undo()
    assert pearson(ScoreCAM(model, layer, batch_size=64)(image, targets=[TARGET])[0], theirs) >= THRESHOLD
    for wrong in planted:
        assert pearson(ScoreCAM(model, layer, batch_size=64, reshape=wrong)(image, targets=[TARGET])[0], theirs) < THRESHOLD


def test_activations_and_gradients_are_the_patch_tokens_row_by_row(image):
    """Against the layer's output and gradient taken by hand (own hook, autograd), laid out by hand."""
    model = model_for("vit")
    captured = {}
    reference = copy.deepcopy(model).requires_grad_(True)
    handle = reference.blocks[11].norm1.register_forward_hook(lambda _m, _i, out: captured.setdefault("tokens", out))
    try:
        logits = reference(image)
        (gradient,) = torch.autograd.grad(logits[0, TARGET], captured["tokens"])
    finally:
        handle.remove()

    def by_hand(tokens: torch.Tensor) -> torch.Tensor:  # token 1 + 14 r + c is patch (r, c)
        return torch.stack([torch.stack([tokens[0, 1 + 14 * r + c] for c in range(14)], dim=-1) for r in range(14)], dim=-2)[None]

    capture = GradCAM(model, "blocks.11.norm1").capture(image, [TARGET], with_gradients=True)
    assert capture.activations.shape == capture.gradients.shape == (1, 192, 14, 14)
    torch.testing.assert_close(capture.activations, by_hand(captured["tokens"].detach()), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(capture.gradients, by_hand(gradient), rtol=1e-4, atol=1e-9)
    planted = keep_class_token(1, 14, 14)(gradient)  # the class token's gradient is not a patch's
    assert not torch.allclose(planted, by_hand(gradient), rtol=1e-4, atol=1e-9)


FEATURE_REPLACING = {"ablationcam", "reciprocam"}  # methods that write feature maps back into the target layer


@pytest.mark.slow  # over 2 s on the idle 2-core machine
@pytest.mark.parametrize("case", ["vit", "deit_distilled", "swin"])
def test_every_method_that_applies_runs_and_cam_says_why_not(case):
    """Each registered method on a narrow ViT, DeiT and Swin: a map, or (CAM on token models) the reason."""
    model = model_for(case, narrow=True)
    layer = NARROW_LAYERS[case]
    inputs = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    cheap = {"smoothgradcampp": {"n_samples": 2}, "gradpp_scorecam": {"top_k": 8}, "scorecam": {"batch_size": 64}}
    for key, info in METHODS.items():
        if key == "cam":
            if case == "swin":  # Swin's final norm is average-pooled into one linear layer: CAM applies there
                maps = CAM(model, "norm", classifier_layer="head.fc")(inputs, [TARGET, 5])
            else:
                with pytest.raises(MethodNotApplicableError, match="Vision Transformer.*class token.*use Grad-CAM"):
                    CAM(model, layer, classifier_layer="head")(inputs, [TARGET, 5])
                continue
        elif key in FEATURE_REPLACING and case != "swin":
            # They put changed feature maps back into the layer's output, which a token sequence is not.
            with pytest.raises(MethodNotApplicableError, match="replaces the target layer's output"):
                info.method_class(model, layer)(inputs, [TARGET, 5])
            assert_no_hooks(model)
            continue
        else:
            maps = info.method_class(model, layer, **cheap.get(key, {}))(inputs, [TARGET, 5])
        assert maps.shape == (2, 224, 224) and maps.dtype == np.float32, key
        assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1, key
        # Group-CAM scores by the class probability, which these random narrow models put at ~0 for the targets:
        # an empty map is its honest answer there (its structure is checked on CNNs in test_methods_extra_*).
        if key != "groupcam":
            assert (maps.std(axis=(1, 2)) > 0).all(), key
        assert_no_hooks(model)


def test_the_issue_example_needs_no_argument():
    """``GradCAM(vit, "blocks.11.norm1")(x, targets=[3])`` on a timm ViT, as on a CNN."""
    vit = model_for("vit")
    maps = GradCAM(vit, "blocks.11.norm1")(torch.rand(1, 3, 224, 224), targets=[3])
    assert maps.shape == (1, 224, 224) and maps.dtype == np.float32 and 0 <= maps.min() < maps.max() <= 1


def test_identities_of_the_family_hold_through_the_reshape(image):
    """Grad++ScoreCAM scoring every channel with a plain softmax is Score-CAM; SmoothGrad-CAM++ without noise is
    Grad-CAM++. Planted: Score-CAM on a transposed grid is not Grad++ScoreCAM's map."""
    model, layer = model_for("vit", narrow=True), NARROW_LAYERS["vit"]
    scorecam = ScoreCAM(model, layer, batch_size=64)(image, [TARGET])
    family = GradPPScoreCAM(model, layer, top_k=None, combination="softmax", batch_size=64)(image, [TARGET])
    np.testing.assert_allclose(family, scorecam, atol=1e-5)
    smooth = SmoothGradCAMpp(model, layer, n_samples=2, noise_level=0.0)(image, [TARGET])
    np.testing.assert_allclose(smooth, GradCAMpp(model, layer)(image, [TARGET]), atol=1e-5)
    transposed = ScoreCAM(model, layer, batch_size=64, reshape=transposed_tokens(1, 14, 14))(image, [TARGET])
    assert np.abs(transposed - family).max() > 0.1


def test_swin_cam_at_the_pooled_norm_is_gradcam():
    """CAM (classifier weights) and Grad-CAM (mean gradients, w/(h·w) under average pooling) give one map
    at Swin's final norm; at an earlier layer, where that identity does not hold, they differ."""
    model = model_for("swin", narrow=True)
    inputs = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(4))
    cam = CAM(model, "norm", classifier_layer="head.fc")(inputs, [TARGET])
    np.testing.assert_allclose(cam, GradCAM(model, "norm")(inputs, [TARGET]), atol=1e-4)
    earlier = GradCAM(model, "layers.3.blocks.0.norm1")(inputs, [TARGET])
    assert np.abs(earlier - cam).max() > 0.1


def test_grid_is_read_from_the_model_not_from_a_square_root(monkeypatch):
    """A ViT that takes any size: a 160 × 224 input gives a 10 × 14 grid (no square root of 140), and agrees
    with the peer told that grid; a grid the tokens do not fit is refused, not guessed."""
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=10, dynamic_img_size=True).eval()
    inputs = torch.randn(1, 3, 160, 224, generator=torch.Generator().manual_seed(5))
    capture = GradCAM(model, "blocks.11.norm1").capture(inputs, [TARGET], with_gradients=True)
    assert capture.activations.shape[-2:] == (10, 14)
    theirs = peer_map(GradCAM, model, "blocks.11.norm1", inputs, lambda t: vit_reshape_transform(t, 10, 14))
    assert pearson(GradCAM(model, "blocks.11.norm1")(inputs, [TARGET])[0], theirs) >= THRESHOLD
    transposed = GradCAM(model, "blocks.11.norm1", reshape=transposed_tokens(1, 14, 10))
    assert pearson(transposed(inputs, [TARGET])[0], theirs) < THRESHOLD

    vit = model_for("vit")
    monkeypatch.setattr(vit.patch_embed, "grid_size", (7, 7))
    with pytest.raises(UnknownLayerError, match=r"197 tokens, but the model declares 1 prefix tokens and a 7×7 grid"):
        GradCAM(vit, "blocks.11.norm1")(torch.rand(1, 3, 224, 224), [TARGET])
    assert_no_hooks(vit)


class TokenNet(nn.Module):
    """A transformer-like model that does not declare its grid: 4 × 4 patches, a class token, a token mixer."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 8, stride=8)
        self.cls = nn.Parameter(torch.randn(1, 1, 8))
        self.mixer = nn.Linear(8, 8)
        self.head = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = self.proj(x).flatten(2).transpose(1, 2)
        tokens = self.mixer(torch.cat([self.cls.expand(len(x), -1, -1), patches], dim=1)).relu()
        return self.head(tokens.mean(dim=1))


def test_models_the_rule_cannot_read_take_an_explicit_reshape():
    torch.manual_seed(0)
    model = TokenNet().eval()
    inputs = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    with pytest.raises(UnknownLayerError, match=r"'mixer' outputs shape \(1, 17, 8\): not a spatial map.*reshape=TokenGrid"):
        GradCAM(model, "mixer")(inputs, [TARGET])
    assert_no_hooks(model)
    grid = TokenGrid(4, 4, prefix_tokens=1)
    theirs = peer_map(GradCAM, model, "mixer", inputs, grid)
    assert pearson(GradCAM(model, "mixer", reshape=grid)(inputs, [TARGET])[0], theirs) >= THRESHOLD
    assert pearson(GradCAM(model, "mixer", reshape=transposed_tokens(1, 4, 4))(inputs, [TARGET])[0], theirs) < THRESHOLD
    with pytest.raises(UnknownLayerError, match=r"\(1, 17, 8\) is not \(N, 0 prefix tokens \+ 4×4 patches, C\)"):
        GradCAM(model, "mixer", reshape=TokenGrid(4, 4))(inputs, [TARGET])
    with pytest.raises(UnknownLayerError, match=r"reshape= turned layer 'mixer''s output \(1, 17, 8\) into \(1, 17, 8\)"):
        GradCAM(model, "mixer", reshape=lambda t: t)(inputs, [TARGET])
    with pytest.raises(InvalidParameterError, match="reshape must be a callable"):
        GradCAM(model, "mixer", reshape=(4, 4))


def test_layers_without_a_spatial_output_are_refused_with_the_candidates(image):
    vit = model_for("vit")
    refused = r"Layer 'head' outputs shape \(1, 10\): not a spatial map.*recommend 'blocks\.11\.norm1'"
    with pytest.raises(UnknownLayerError, match=refused):
        GradCAM(vit, "head")(image, [TARGET])
    with pytest.raises(UnknownLayerError, match="only its prefix \\(class\\) tokens reach the model's output.*'blocks.11.norm1'"):
        GradCAM(vit, "norm")(image, [TARGET])  # the final norm: the head reads the class token only
    assert_no_hooks(vit)


def test_every_method_takes_reshape_but_not_as_a_user_parameter():
    """Every registered method accepts ``reshape=`` and applies it (the planted transposed grid changes its map);
    the CLI and the app cannot set it: it is set by camlib (or a library caller), like the layer."""
    torch.manual_seed(0)
    model = TokenNet().eval()
    inputs = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    cheap = {"smoothgradcampp": {"n_samples": 2}, "gradpp_scorecam": {"top_k": 4}}
    for key, info in METHODS.items():
        assert "reshape" not in method_parameters(info.method_class), key
        if key == "cam":
            continue  # CAM takes reshape= like the others; it needs a layer feeding average pooling (Swin's, above)
        if key in FEATURE_REPLACING:  # they take reshape= too, but cannot write feature maps back into tokens
            with pytest.raises(MethodNotApplicableError, match="replaces the target layer's output"):
                info.method_class(model, "mixer", reshape=TokenGrid(4, 4, 1))(inputs, [TARGET])
            continue
        made = {name: info.method_class(model, "mixer", reshape=grid, **cheap.get(key, {}))(inputs, [TARGET])
                for name, grid in (("right", TokenGrid(4, 4, 1)), ("transposed", transposed_tokens(1, 4, 4)))}
        assert made["right"].shape == (1, 32, 32) and not np.allclose(made["right"], made["transposed"], atol=1e-3), key


def torchvision_vit() -> nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(
        image_size=224, patch_size=16, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64
    )
    nn.init.normal_(model.heads.head.weight, std=0.02)  # torchvision starts the head at zero: no gradient at all
    return model.eval()


def torchvision_swin() -> nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.SwinTransformer(
        [4, 4], embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], window_size=[7, 7]
    )
    return model.eval()


TORCHVISION_CASES = {
    # name: (model, layer the peers recommend, peer reshape, planted reshapes)
    "vit": (torchvision_vit, "encoder.layers.encoder_layer_1.ln_1", vit_reshape_transform,
            [keep_class_token(1, 14, 14), transposed_tokens(1, 14, 14)]),
    "swin": (torchvision_swin, "features.7.0.norm1", lambda t: swinT_reshape_transform(t.flatten(1, 2)),
             [transposed_channels_last, channels_last_read_as_first]),
}


@pytest.mark.parametrize("case", list(TORCHVISION_CASES))
def test_torchvision_transformers_are_read_too(case, image):
    """torchvision's ViT (image_size // patch_size, one class token) and Swin (channels last) need no argument either;
    small random variants of the same classes, Grad-CAM against the peer, planted reshapes below the threshold."""
    make, layer, peer_reshape, planted = TORCHVISION_CASES[case]
    model = make()
    assert recommended_transformer_layer(model) == layer
    theirs = peer_map(GradCAM, model, layer, image, peer_reshape)
    assert pearson(GradCAM(model, layer)(image, targets=[TARGET])[0], theirs) >= THRESHOLD
    for wrong in planted:
        assert pearson(GradCAM(model, layer, reshape=wrong)(image, targets=[TARGET])[0], theirs) < THRESHOLD
    if case == "vit":
        with pytest.raises(MethodNotApplicableError, match="Vision Transformer"):
            CAM(model, layer, classifier_layer="heads.head")
    else:  # the final norm, permuted back and average-pooled into one linear layer: CAM applies and is Grad-CAM
        cam = CAM(model, "norm", classifier_layer="head")(image, [TARGET])
        np.testing.assert_allclose(cam, GradCAM(model, "norm")(image, [TARGET]), atol=1e-4)
        assert GradCAM(model, "permute")(image, [TARGET]).shape == (1, 224, 224)  # channels-first again: not permuted
