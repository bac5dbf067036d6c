"""Model randomisation sanity check: stages, similarity measures against scipy/skimage, Quantus MPRT."""

import warnings

import numpy as np
import pytest
import torch
from conftest import make_tiny_backbone, make_tiny_gap_net
from torch import nn

from camlib.backbones import BACKBONES, Backbone
from camlib.errors import InvalidParameterError
from camlib.explain import compute_map
from camlib.methods import GradCAM
from camlib.sanity import (
    SANITY_FIELDS,
    SANITY_THRESHOLD,
    RandomisationCheck,
    randomisation_stages,
    sanity_verdict,
    spearman,
    ssim,
    summarize_sanity,
)


class TinyBnNet(nn.Module):
    """conv-BN-ReLU twice, global pooling, one linear layer: checks that a norm layer stays with its conv."""

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.bn_stem = nn.BatchNorm2d(6)
        self.features = nn.Conv2d(6, 8, 3, padding=1)
        self.bn_features = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, classes)

    def forward(self, x):
        x = torch.relu(self.bn_stem(self.stem(x)))
        x = torch.relu(self.bn_features(self.features(x)))
        return self.fc(x.mean(dim=(2, 3)))


def tiny_bn_net(seed: int = 0) -> TinyBnNet:
    torch.manual_seed(seed)
    model = TinyBnNet()
    with torch.no_grad():  # running statistics that are not the identity, so resetting them matters
        for bn in (model.bn_stem, model.bn_features):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    return model.eval()


def tiny_backbone(model: nn.Module, classes: int = 5) -> Backbone:
    return make_tiny_backbone(model, classes)


def test_stages_follow_module_order_on_tiny_models():
    assert randomisation_stages(make_tiny_gap_net()) == [
        ("fc", ["fc"]),
        ("features", ["fc", "features"]),
        ("stem", ["fc", "features", "stem"]),
    ]
    assert randomisation_stages(tiny_bn_net(), stages=2) == [
        ("fc", ["fc"]),
        ("features+bn_features", ["fc", "features", "bn_features"]),
    ]
    wrapped = nn.Sequential(make_tiny_gap_net())
    assert randomisation_stages(wrapped, stages=2) == [("0.fc", ["0.fc"]), ("0.features", ["0.fc", "0.features"])]
    with pytest.raises(InvalidParameterError):
        randomisation_stages(make_tiny_gap_net(), stages=0)
    with pytest.raises(InvalidParameterError):
        randomisation_stages(nn.ReLU())


def test_stages_of_the_real_efficientnet(effnet):
    assert randomisation_stages(effnet) == [
        ("classifier", ["classifier"]),
        ("conv_head+bn2", ["classifier", "conv_head", "bn2"]),
        ("blocks.6", ["classifier", "conv_head", "bn2", "blocks.6"]),
    ]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("resnet50", [("fc", ["fc"]), ("layer4.2", ["fc", "layer4.2"]), ("layer4.1", ["fc", "layer4.2", "layer4.1"])]),
        ("vgg16", [("classifier", ["classifier"]), ("features.28", ["classifier", "features.28"]), ("features.26", ["classifier", "features.28", "features.26"])]),
        ("alexnet", [("classifier", ["classifier"]), ("features.10", ["classifier", "features.10"]), ("features.8", ["classifier", "features.10", "features.8"])]),
    ],
)
def test_stages_of_the_torchvision_backbones(key, expected):
    with torch.device("meta"):  # the module tree only: no memory, no initialisation
        model = BACKBONES[key].build()
    assert randomisation_stages(model) == expected


def test_spearman_matches_scipy_including_ties():
    from scipy.stats import spearmanr

    generator = np.random.default_rng(1)
    for _ in range(5):
        a = generator.random((20, 24))
        b = 0.5 * a + generator.random((20, 24))
        assert spearman(a, b) == pytest.approx(spearmanr(a.ravel(), b.ravel())[0], abs=1e-12)
        tied_a, tied_b = np.round(a * 4) / 4, np.round(b * 3) / 3  # many ties
        assert spearman(tied_a, tied_b) == pytest.approx(spearmanr(tied_a.ravel(), tied_b.ravel())[0], abs=1e-12)
    assert spearman(a, -a) == pytest.approx(-1.0)
    # a constant map: scipy says NaN; camlib says 1 when nothing changed and 0 otherwise
    assert spearman(np.ones((8, 8)), np.ones((8, 8))) == 1.0
    assert spearman(a, np.zeros_like(a)) == 0.0
    with pytest.raises(InvalidParameterError):
        spearman(a, a[:-1])


def test_ssim_matches_skimage_defaults():
    from skimage.metrics import structural_similarity

    generator = np.random.default_rng(2)
    for shape in [(7, 7), (32, 40), (224, 224)]:
        a = generator.random(shape)
        b = np.clip(a + 0.3 * generator.standard_normal(shape), 0, 1)
        expected = structural_similarity(a, b, data_range=1.0)
        assert ssim(a, b) == pytest.approx(expected, abs=1e-9)  # tolerance: float64 rounding only
    assert ssim(a, a) == pytest.approx(1.0)
    with pytest.raises(InvalidParameterError):
        ssim(np.zeros((6, 9)), np.zeros((6, 9)))


def test_randomisation_leaves_the_original_alone_and_touches_only_its_stage():
    model = tiny_bn_net()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    rng_state = torch.random.get_rng_state()
    check = RandomisationCheck(tiny_backbone(model), seed=3)
    assert torch.equal(torch.random.get_rng_state(), rng_state)  # the caller's random state is untouched
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())
    changed = [
        {name.rsplit(".", 1)[0] for name, value in copy.model.state_dict().items() if not torch.equal(before[name], value)}
        for copy in check.randomised
    ]
    assert changed == [{"fc"}, {"fc", "features", "bn_features"}, {"fc", "features", "bn_features", "stem", "bn_stem"}]
    again = RandomisationCheck(tiny_backbone(tiny_bn_net()), seed=3)
    assert all(
        torch.equal(a, b)
        for first, second in zip(check.randomised, again.randomised)
        for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values())
    )


def test_baselines_fail_and_a_model_dependent_map_passes():
    torch.manual_seed(0)
    backbone = tiny_backbone(make_tiny_gap_net(seed=4))
    inputs = torch.randn(1, 3, 32, 32)
    check = RandomisationCheck(backbone, seed=0)
    assert check.stage_names == ["fc", "features", "stem"] and check.fields == SANITY_FIELDS
    for key in ("center", "uniform", "random"):
        scores = check.scores(key, compute_map(key, backbone, inputs, 1), inputs, 1)
        assert list(scores) == SANITY_FIELDS
        assert all(value == pytest.approx(1.0) for value in scores.values())
    from scipy.stats import spearmanr
    from skimage.metrics import structural_similarity

    saliency = compute_map("gradcam", backbone, inputs, 1)
    scores = check.scores("gradcam", saliency, inputs, 1)
    for stage, randomised in enumerate(check.randomised, start=1):
        other = GradCAM(randomised.model, "features")(inputs, [1])[0].astype(np.float64)
        expected_spearman = spearmanr(saliency.ravel(), other.ravel())[0]
        assert scores[f"rand_spearman_{stage}"] == pytest.approx(expected_spearman, abs=1e-6)
        assert scores[f"rand_ssim_{stage}"] == pytest.approx(structural_similarity(saliency.astype(np.float64), other, data_range=1.0), abs=1e-6)
    # the fully randomised tiny model gives a different map (measured Spearman -0.15): the verdict passes
    assert scores["rand_spearman_3"] < 0.2 and sanity_verdict(scores["rand_spearman_3"])


def test_verdict_and_summary():
    assert sanity_verdict(0.2) and sanity_verdict(-0.6)  # an anti-correlated map moved elsewhere: it changed
    assert not sanity_verdict(SANITY_THRESHOLD) and not sanity_verdict(0.9) and not sanity_verdict(float("nan"))
    rows = [
        {"file": "a", "method": "gradcam", "rand_spearman_1": "0.5", "rand_ssim_1": "0.4", "rand_spearman_2": "0.1", "rand_ssim_2": "0.2", "error": ""},
        {"file": "b", "method": "gradcam", "rand_spearman_1": "0.3", "rand_ssim_1": "0.2", "rand_spearman_2": "0.3", "rand_ssim_2": "0.0", "error": ""},
        {"file": "c", "method": "gradcam", "rand_spearman_1": "", "rand_ssim_1": "", "error": "failed"},
        {"file": "a", "method": "center", "rand_spearman_1": "1.0", "rand_ssim_1": "1.0", "rand_spearman_2": "1.0", "rand_ssim_2": "1.0", "error": ""},
        {"file": "a", "method": "cam", "error": ""},  # no sanity columns: a run without the check
    ]
    summary = summarize_sanity(rows)
    assert list(summary) == ["gradcam", "center"]
    assert summary["gradcam"]["images"] == 2
    assert summary["gradcam"]["rand_spearman_1"] == pytest.approx(0.4)
    assert summary["gradcam"]["rand_ssim_2"] == pytest.approx(0.1)
    assert summary["gradcam"]["last_stage"] == 2 and summary["gradcam"]["passes"] is True
    assert summary["center"]["passes"] is False


def test_real_efficientnet_gradcam_changes_and_the_centre_blob_does_not(effnet, chelsea_image):
    inputs = effnet.preprocess(chelsea_image)
    target = int(effnet.probabilities(inputs).argmax(dim=1)[0])
    check = RandomisationCheck(effnet, seed=0)
    saliency = compute_map("gradcam", effnet, inputs, target)
    scores = check.scores("gradcam", saliency, inputs, target)
    assert list(scores) == SANITY_FIELDS
    assert abs(scores["rand_spearman_3"]) < 0.9
    centre = check.scores("center", compute_map("center", effnet, inputs, target), inputs, target)
    assert centre["rand_spearman_3"] == 1.0 and centre["rand_ssim_3"] == pytest.approx(1.0)


def _gradcam_explain(model, inputs, targets, **kwargs):
    maps = GradCAM(model, "features")(torch.as_tensor(inputs), [int(t) for t in targets])
    return maps[:, None]


@pytest.mark.parametrize("make_model", [make_tiny_gap_net, tiny_bn_net], ids=["gap", "batchnorm"])
def test_quantus_mprt_gives_the_same_spearman_per_layer(make_model):
    """Quantus's MPRT with the same seed re-initialises each layer the same way, so its top-down
    per-layer Spearman at the last layer of each camlib stage must equal camlib's score."""
    quantus = pytest.importorskip("quantus")
    model = make_model(seed=5)
    backbone = tiny_backbone(model)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 32, 32, generator=generator)
    y = backbone.model(x).argmax(dim=1)
    seed = 7
    # batch_size=1: both sides explain one image at a time. With Quantus's batch of 4 the float32 maps
    # differ by rounding, which reorders near-tied pixels and moves Spearman by about 1e-6.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric = quantus.MPRT(
            similarity_func=quantus.similarity_func.correlation_spearman,
            layer_order="top_down",
            seed=seed,
            abs=False,
            normalise=False,
            disable_warnings=True,
        )
        quantus_scores = metric(
            model=model, x_batch=x.numpy(), y_batch=y.numpy(), a_batch=None, explain_func=_gradcam_explain, device="cpu", batch_size=1
        )
    check = RandomisationCheck(backbone, seed=seed)
    for index in range(len(x)):
        inputs, target = x[index : index + 1], int(y[index])
        saliency = compute_map("gradcam", backbone, inputs, target)
        camlib_scores = check.scores("gradcam", saliency, inputs, target)
        for stage, (_, names) in enumerate(check.stages, start=1):
            last_layer = names[-2] if names[-1].startswith("bn") else names[-1]  # Quantus resets bn then its conv
            expected = quantus_scores[last_layer][index]
            assert np.isfinite(expected)
            assert camlib_scores[f"rand_spearman_{stage}"] == pytest.approx(expected, abs=1e-9)
    # negative control: another seed re-initialises the layers differently, and Quantus's figures reject it
    other_seed = RandomisationCheck(backbone, seed=seed + 1)
    inputs, target = x[:1], int(y[0])
    other_scores = other_seed.scores("gradcam", compute_map("gradcam", backbone, inputs, target), inputs, target)
    assert any(
        abs(other_scores[f"rand_spearman_{stage}"] - quantus_scores[names[-2] if names[-1].startswith("bn") else names[-1]][0]) > 1e-3
        for stage, (_, names) in enumerate(check.stages, start=1)
    )


def _rows_with_last_stage_spearman(method: str, values: list[float]) -> list[dict]:
    return [
        {"file": f"image{i}", "method": method, "rand_spearman_1": "0.9", "rand_ssim_1": "0.9", "rand_spearman_2": repr(v), "rand_ssim_2": "0.5", "error": ""}
        for i, v in enumerate(values)
    ]


def test_the_verdict_turns_at_a_mean_spearman_of_one_half():
    """The 0.5 threshold itself (Adebayo et al.'s reading of "the map changed"), exercised on both sides
    through the summary, with the interval: twelve images tightly around 0.49 pass, around 0.51 fail, and a
    spread around 0.50 whose interval straddles it is indistinguishable (None). A threshold moved to 0.45 or
    0.55, a verdict from the mean alone, or one read from stage 1 instead of the last stage, fails this test."""
    assert SANITY_THRESHOLD == 0.5
    tight = [-0.002, 0.002, -0.001, 0.001, 0.0, 0.0, -0.002, 0.002, -0.001, 0.001, 0.0, 0.0]
    cases = {
        "just_below": [0.49 + d for d in tight],
        "just_above": [0.51 + d for d in tight],
        "straddling": [0.50 + 20 * d for d in tight],
    }
    rows = [row for method, values in cases.items() for row in _rows_with_last_stage_spearman(method, values)]
    summary = summarize_sanity(rows)
    assert summary["just_below"]["rand_spearman_2"] == pytest.approx(0.49)
    assert [summary[method]["passes"] for method in cases] == [True, False, None]
    interval = summary["straddling"]["interval"]
    assert interval.low < SANITY_THRESHOLD < interval.high
    assert sanity_verdict(0.4999) and not sanity_verdict(0.5001)
