"""The added methods agree with the peer libraries: pytorch-grad-cam 1.5.7 (HiResCAM, XGradCAM, LayerCAM,
AblationCAM, EigenCAM) and torchcam 0.5.0 (XGradCAM, LayerCAM, SSCAM, ISCAM).

Two checks per method:

- *The low-resolution map* (before upsampling and normalisation), and the channel weights where the
  method has them, against the peer's own formula code run on the same activations and gradients:
  ``numpy.allclose`` with rtol 1e-4 (float32 arithmetic in another order), after both maps are min-max
  normalised where a peer only gives normalised maps (torchcam).
- *The final map* from the peer's whole pipeline on its own copy of the model: Pearson correlation at
  least 0.99 (the peers upsample with ``cv2.resize`` or normalise before upsampling; see
  tests/test_methods_agreement.py), on the real EfficientNet-Lite0 with a negative control (the map of a
  class that is not in the photo must fall below the threshold).

Each check has a planted error it catches: the wrong class, or the other value of a choice the method
leaves open (Eigen-CAM without centring, IS-CAM's linear path). Recipro-CAM and Group-CAM, which no peer
library has, are checked against hand loops in tests/test_methods_extra_reference.py.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torchcam.methods as tc
from conftest import make_tiny_gap_net, pearson
from pytorch_grad_cam import AblationCAM as PeerAblationCAM
from pytorch_grad_cam import EigenCAM as PeerEigenCAM
from pytorch_grad_cam import HiResCAM as PeerHiResCAM
from pytorch_grad_cam import LayerCAM as PeerLayerCAM
from pytorch_grad_cam import XGradCAM as PeerXGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection
from torch import nn

from camlib.methods import ISCAM, SSCAM, AblationCAM, EigenCAM, HiResCAM, LayerCAM, XGradCAM
from camlib.methods.map_ops import normalize_maps

THRESHOLD = 0.99
CAT_CLASS, OTHER_CLASS = 285, 1
GRAD_PEERS = {HiResCAM: PeerHiResCAM, XGradCAM: PeerXGradCAM, LayerCAM: PeerLayerCAM, EigenCAM: PeerEigenCAM}
TORCHCAM = {XGradCAM: tc.XGradCAM, LayerCAM: tc.LayerCAM}


def low_res_map(method, inputs: torch.Tensor, targets: list[int]) -> tuple[np.ndarray, np.ndarray, object]:
    """camlib's map before upsampling (N, h, w), its weights, and the capture they came from."""
    capture = method.capture(inputs, targets, with_gradients=method.uses_gradients)
    weights = method.channel_weights(inputs, torch.tensor(targets), capture).detach().float()
    return method.combine(weights, capture.activations.float()).numpy(), weights.numpy(), capture


def peer_map(peer_class, model: nn.Module, layer: str, inputs: torch.Tensor, targets: list[int], **kwargs) -> np.ndarray:
    reference = copy.deepcopy(model).requires_grad_(True)
    with peer_class(reference, [reference.get_submodule(layer)], **kwargs) as cam:
        return cam(inputs, [ClassifierOutputTarget(t) for t in targets])


def torchcam_low_res(peer_class, model: nn.Module, layer: str, inputs: torch.Tensor, targets: list[int], **kwargs) -> np.ndarray:
    """torchcam's normalised low-resolution maps (N, h, w), on its own copy of the model."""
    reference = copy.deepcopy(model).requires_grad_(True)
    with peer_class(reference, layer, input_shape=tuple(inputs.shape[1:]), **kwargs) as extractor:
        scores = reference(inputs)
        needs_scores = peer_class in (tc.XGradCAM, tc.LayerCAM)
        return extractor(targets, scores if needs_scores else None)[0].detach().numpy()


def normalised(maps) -> np.ndarray:
    return normalize_maps(torch.as_tensor(np.maximum(maps, 0))).numpy()


@pytest.fixture(scope="module")
def chelsea_224(effnet, chelsea_image) -> torch.Tensor:
    return effnet.preprocess(chelsea_image)


@pytest.fixture(scope="module")
def tiny() -> nn.Module:
    """TinyGapNet with 16 channels; ``features`` (before the ReLU) has no constant channel."""
    return make_tiny_gap_net(seed=3, channels=16)


def peer_formula(method_class, capture, targets) -> np.ndarray:
    """pytorch-grad-cam's own formula code on camlib's activations and gradients, before its ReLU."""
    activations = capture.activations.numpy()
    gradients = None if capture.gradients is None else capture.gradients.numpy()
    if method_class is EigenCAM:
        return get_2d_projection(activations)
    return formula_only(GRAD_PEERS[method_class]).get_cam_image(None, None, targets, activations, gradients, False)


def formula_only(peer_class):
    """A peer object without hooks, for its formula methods."""
    peer = object.__new__(peer_class)
    peer.activations_and_grads = SimpleNamespace(release=lambda: None)
    return peer


@pytest.mark.parametrize("method_class", [HiResCAM, XGradCAM, LayerCAM], ids=["hirescam", "xgradcam", "layercam"])
def test_low_res_maps_match_pytorch_grad_cam_formula(method_class, tiny):
    inputs = torch.randn(2, 3, 20, 20, generator=torch.Generator().manual_seed(4))
    ours, weights, capture = low_res_map(method_class(tiny, "features"), inputs, [1, 3])
    theirs = np.maximum(peer_formula(method_class, capture, [1, 3]), 0)
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-6 * np.abs(theirs).max())
    if method_class is XGradCAM:
        activations, gradients = capture.activations.numpy(), capture.gradients.numpy()
        peer_weights = formula_only(PeerXGradCAM).get_cam_weights(None, None, None, activations, gradients)
        assert np.allclose(weights, peer_weights, rtol=1e-4, atol=1e-6)
    wrong, _, _ = low_res_map(method_class(tiny, "features"), inputs, [2, 0])  # planted: another class
    assert not np.allclose(wrong, theirs, rtol=1e-4, atol=1e-6 * np.abs(theirs).max())


@pytest.mark.parametrize("method_class", [XGradCAM, LayerCAM], ids=["xgradcam", "layercam"])
def test_low_res_maps_match_torchcam(method_class, tiny):
    inputs = torch.randn(2, 3, 20, 20, generator=torch.Generator().manual_seed(5))
    ours, _, _ = low_res_map(method_class(tiny, "act2"), inputs, [1, 3])
    theirs = torchcam_low_res(TORCHCAM[method_class], tiny, "act2", inputs, [1, 3])
    assert np.allclose(normalised(ours), theirs, atol=1e-4)
    wrong, _, _ = low_res_map(method_class(tiny, "act2"), inputs, [3, 1])
    assert not np.allclose(normalised(wrong), theirs, atol=1e-4)


@pytest.mark.parametrize("method_class", [HiResCAM, XGradCAM, LayerCAM], ids=["hirescam", "xgradcam", "layercam"])
def test_final_maps_agree_with_pytorch_grad_cam_on_efficientnet(method_class, effnet, chelsea_224):
    ours = method_class(effnet.model, "conv_head")
    theirs = peer_map(GRAD_PEERS[method_class], effnet.model, "conv_head", chelsea_224, [CAT_CLASS])[0]
    assert pearson(ours(chelsea_224, [CAT_CLASS])[0], theirs) >= THRESHOLD
    assert pearson(ours(chelsea_224, [OTHER_CLASS])[0], theirs) < THRESHOLD  # negative control


def test_eigencam_matches_pytorch_grad_cam_up_to_the_sign_it_fixes(tiny):
    """The peer's projection, flipped where camlib's documented sign rule says (weights summing to a
    positive number, i.e. a positive correlation with the sum of the centred channels), is camlib's map."""
    inputs = torch.randn(2, 3, 20, 20, generator=torch.Generator().manual_seed(6))
    ours, weights, capture = low_res_map(EigenCAM(tiny, "features"), inputs, [0, 0])
    projection = get_2d_projection(capture.activations.numpy())
    activations = capture.activations.numpy()
    centred_sum = (activations - activations.mean(axis=(2, 3), keepdims=True)).sum(axis=1)
    signs = np.sign([np.sum(p * c) for p, c in zip(projection, centred_sum)])
    theirs = np.maximum(projection * signs[:, None, None], 0)
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-5 * np.abs(theirs).max())
    rows = activations.reshape(2, activations.shape[1], -1).transpose(0, 2, 1)
    first = np.stack([np.linalg.svd(r - r.mean(axis=0))[2][0] for r in rows]) * signs[:, None]
    assert np.allclose(weights, first, atol=1e-4)
    uncentred, _, _ = low_res_map(EigenCAM(tiny, "features", centred=False), inputs, [0, 0])  # planted: the paper's form
    assert not np.allclose(uncentred, theirs, rtol=1e-4, atol=1e-5 * np.abs(theirs).max())


def test_eigencam_final_map_agrees_with_pytorch_grad_cam_on_efficientnet(effnet, chelsea_224):
    ours = EigenCAM(effnet.model, "conv_head")(chelsea_224, [CAT_CLASS])[0]
    theirs = peer_map(PeerEigenCAM, effnet.model, "conv_head", chelsea_224, [CAT_CLASS])[0]
    flipped = EigenCAM(effnet.model, "conv_head")
    flipped.channel_weights = lambda *args: -EigenCAM.channel_weights(flipped, *args)  # planted: the other sign
    scores = pearson(ours, theirs), pearson(flipped(chelsea_224, [CAT_CLASS])[0], theirs)
    assert max(scores) >= THRESHOLD and min(scores) < THRESHOLD  # the peer has one of the two signs; camlib's rule picks one


@pytest.mark.slow  # over 2 s on the idle 2-core machine
def test_ablationcam_weights_and_map_match_pytorch_grad_cam():
    """A random ResNet-18 at layer4 (after a ReLU, so the peer ablates to 0 as the paper and camlib do),
    64 × 64 inputs; the top class, whose logit is positive, so the peer's divisor is camlib's."""
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    inputs = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        logits = model(inputs)[0]
    target = int(logits.argmax())
    assert logits[target] > 0
    ours, weights, capture = low_res_map(AblationCAM(model, "layer4", batch_size=64), inputs, [target])
    reference = copy.deepcopy(model).requires_grad_(True)
    with PeerAblationCAM(reference, [reference.layer4], batch_size=64) as peer:
        targets = [ClassifierOutputTarget(target)]
        peer_weights = peer.get_cam_weights(inputs, reference.layer4, targets, capture.activations.numpy(), None)
        theirs = peer(inputs, [ClassifierOutputTarget(target)])[0]
    assert np.allclose(weights, peer_weights, rtol=1e-3, atol=1e-5)
    assert pearson(AblationCAM(model, "layer4")(inputs, [target])[0], theirs) >= THRESHOLD
    _, wrong, _ = low_res_map(AblationCAM(model, "layer4"), inputs, [(target + 1) % 10])  # planted
    assert not np.allclose(wrong, peer_weights, rtol=1e-3, atol=1e-5)


class _SharedNoise:
    """Stands in for torchcam's noise distribution: the noise camlib documents (one image per sample,
    drawn as ``noise_std * randn(n_samples, N, H, W)`` from ``seed``), the same for every channel."""

    def __init__(self, n_samples: int, height: int, width: int, std: float, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.draws = iter(std * torch.randn(n_samples, 1, height, width, generator=generator))

    def sample(self, size) -> torch.Tensor:
        return next(self.draws)[None].expand(size)


@pytest.fixture(scope="module")
def full_resolution_net() -> nn.Module:
    """TinyGapNet whose ``features`` keep the input's resolution (stride-1 stem), so that the masks need
    no upsampling and the two libraries' masks are the same (torchcam normalises before upsampling,
    camlib after)."""
    model = make_tiny_gap_net(seed=8, channels=8)
    torch.manual_seed(9)
    model.stem = nn.Conv2d(3, 6, 3, padding=1)
    return model.eval()


def score_weights(method, inputs: torch.Tensor, target: int) -> np.ndarray:
    return low_res_map(method, inputs, [target])[1][0]


def same_scores(ours: np.ndarray, theirs: np.ndarray, tolerance: float = 1e-3) -> bool:
    """Softmax weights compared as the scores they come from (their logarithms less the mean): the
    weights of a small net are all near 1/K, where a tolerance on the weights would say nothing."""
    ours, theirs = (np.log(w.astype(np.float64)) for w in (ours, theirs))
    ours, theirs = ours - ours.mean(), theirs - theirs.mean()
    return bool(np.allclose(ours, theirs, atol=tolerance * np.abs(theirs).max()))


def torchcam_score_weights(peer_class, model, inputs, target, **kwargs) -> np.ndarray:
    """torchcam's channel weights (K,) for one image (its ``_get_weights`` after a forward pass)."""
    with peer_class(model, "features", input_shape=tuple(inputs.shape[1:]), **kwargs) as extractor:
        with torch.no_grad():
            model(inputs)
        if peer_class is tc.SSCAM:
            extractor._distrib = _SharedNoise(extractor.num_samples, *inputs.shape[-2:], extractor.std, seed=0)
        return extractor._get_weights(target)[0][0].numpy()


def test_sscam_weights_match_torchcam_with_the_same_noise(full_resolution_net):
    inputs = torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(10))
    ours = score_weights(SSCAM(full_resolution_net, "features", n_samples=4, batch_size=5), inputs, 2)
    theirs = torchcam_score_weights(tc.SSCAM, full_resolution_net, inputs, 2, num_samples=4, std=2.0, batch_size=5)
    assert same_scores(ours, theirs)
    other = score_weights(SSCAM(full_resolution_net, "features", n_samples=4, seed=1), inputs, 2)  # planted: other noise
    assert not same_scores(other, theirs)
    wrong = score_weights(SSCAM(full_resolution_net, "features", n_samples=4), inputs, 4)  # planted: other class
    assert not same_scores(wrong, theirs)


def test_iscam_weights_match_torchcam(full_resolution_net):
    inputs = torch.randn(1, 3, 12, 12, generator=torch.Generator().manual_seed(11))
    ours = score_weights(ISCAM(full_resolution_net, "features", n_samples=5), inputs, 1)
    theirs = torchcam_score_weights(tc.ISCAM, full_resolution_net, inputs, 1, num_samples=5, batch_size=5)
    assert same_scores(ours, theirs)
    linear = score_weights(ISCAM(full_resolution_net, "features", n_samples=5, path="linear"), inputs, 1)  # planted
    assert not same_scores(linear, theirs)
    wrong = score_weights(ISCAM(full_resolution_net, "features", n_samples=5), inputs, 3)  # planted: other class
    assert not same_scores(wrong, theirs)


_TORCHCAM_NORMALIZE = tc.ScoreCAM._normalize


def _upsample_then_normalise(self, activation: torch.Tensor) -> torch.Tensor:
    upsampled = nn.functional.interpolate(activation, self._input.shape[2:], mode="bilinear", align_corners=False)
    return _TORCHCAM_NORMALIZE(upsampled, 2)


@pytest.mark.parametrize("method_class", [SSCAM, ISCAM], ids=["sscam", "iscam"])
def test_score_family_agrees_with_torchcam_with_upsampled_masks(method_class, tiny, monkeypatch):
    """A 10 × 10 layer under a 20 × 20 input. torchcam min-max normalises the maps before upsampling them,
    camlib after (as its Score-CAM, and the Score-CAM authors' code); the upsampled map's range is narrower,
    so torchcam's masks are dimmer and the scores differ by up to 40 % of their range on this net
    (measured). The reference is torchcam's code with only that order switched."""
    inputs = torch.randn(1, 3, 20, 20, generator=torch.Generator().manual_seed(12))
    peer_class = {SSCAM: tc.SSCAM, ISCAM: tc.ISCAM}[method_class]
    monkeypatch.setattr(tc.ScoreCAM, "_normalize", staticmethod(lambda cams, spatial_dims=None, eps=1e-8: cams))
    monkeypatch.setattr(tc.ScoreCAM, "_upsample", _upsample_then_normalise)
    theirs = torchcam_score_weights(peer_class, tiny, inputs, 2, num_samples=3)
    monkeypatch.undo()
    ours = score_weights(method_class(tiny, "features", n_samples=3), inputs, 2)
    assert same_scores(ours, theirs)
    wrong = score_weights(method_class(tiny, "features", n_samples=3), inputs, 0)  # planted: other class
    assert not same_scores(wrong, theirs)
