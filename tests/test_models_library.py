"""Bringing your own model to the library: ``load_model`` with timm / torchvision / factory models,
weights matched by name, class-name files, the automatic layer, preprocessing and output adapters.

Nothing downloads: every model has random weights made here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import timm
import torch
import torchvision
from safetensors.torch import save_file
from torch import nn

from camlib.backbones import imagenet_class_names, load_model, read_class_names
from camlib.backbones.layers import automatic_layer, dry_run
from camlib.backbones.weights import WRAPPER_PREFIXES
from camlib.errors import CamlibError, InvalidParameterError, WeightsError
from camlib.methods import GradCAM

CLASSES = ["cat", "dog", "bird", "fish", "horse", "cow", "sheep"]


@pytest.fixture(scope="module")
def seven(tmp_path_factory):
    """A 7-class timm ResNet-18 with random weights, saved as .pth and .safetensors, and its classes file."""
    folder = tmp_path_factory.mktemp("seven")
    torch.manual_seed(0)
    model = timm.create_model("resnet18", num_classes=7).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so a swap of mean and variance shows
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    state = model.state_dict()
    torch.save(state, folder / "r18.pth")
    save_file({key: value.contiguous() for key, value in state.items()}, folder / "r18.safetensors")
    (folder / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    return {"folder": folder, "model": model, "state": state}


def _logits(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(inputs).float()


@pytest.mark.parametrize("file_name", ["r18.pth", "r18.safetensors"])
def test_a_seven_class_timm_model_loads_by_name(seven, file_name):
    folder = seven["folder"]
    backbone = load_model("timm:resnet18", weights=folder / file_name, classes=folder / "classes.txt", device="cpu")
    assert backbone.class_names == tuple(CLASSES)  # the head's 7 outputs, read from the weights
    assert backbone.default_layer == "layer4" and backbone.weights_label == f"weights from {file_name}"
    assert backbone.spec.cam_layer == "layer4" and backbone.spec.cam_classifier == "fc"  # CAM checked exact
    assert backbone.spec.mean == timm.data.IMAGENET_DEFAULT_MEAN and backbone.spec.interpolation == "bicubic"
    inputs = torch.randn(2, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    # the independent reference: the original timm model on the same inputs
    expected = torch.softmax(_logits(seven["model"], inputs), dim=1)
    torch.testing.assert_close(backbone.probabilities(inputs), expected, atol=1e-5, rtol=1e-4)


def test_swapped_batchnorm_tensors_load_by_name_where_position_would_load_them_wrong(seven):
    """bn1's running mean and variance share a shape: a file listing them in the other order, under a
    wrapper prefix, loads correctly by name; matching by position (camlib's former rule for --weights)
    would have put the variance into the mean, silently."""
    state = seven["state"]
    keys = list(state)
    i, j = keys.index("bn1.running_mean"), keys.index("bn1.running_var")
    keys[i], keys[j] = keys[j], keys[i]
    reordered = {f"module.{key}": state[key] for key in keys}
    path = seven["folder"] / "reordered.pth"
    torch.save(reordered, path)
    loaded = load_model("timm:resnet18", weights=path, device="cpu").model.state_dict()
    torch.testing.assert_close(loaded["bn1.running_mean"], state["bn1.running_mean"])
    torch.testing.assert_close(loaded["bn1.running_var"], state["bn1.running_var"])

    # the planted error: the former position matching, reproduced here, loads it wrong without a word
    model = timm.create_model("resnet18", num_classes=7)
    by_position = dict(zip(model.state_dict(), reordered.values()))
    model.load_state_dict(by_position)
    assert not torch.allclose(model.state_dict()["bn1.running_mean"], state["bn1.running_mean"])

    # and the Lite packages' position matching, which checks each pair's kind, refuses it
    from camlib.backbones.weights import apply_state_dict_by_position

    with pytest.raises(WeightsError, match="running_var"):
        apply_state_dict_by_position(timm.create_model("resnet18", num_classes=7), reordered, architecture="ResNet-18", source="reordered.pth")


@pytest.mark.parametrize("prefix", [*WRAPPER_PREFIXES, "module.model."])
def test_wrapper_prefixes_are_stripped(seven, prefix, tmp_path):
    path = tmp_path / "prefixed.pth"
    torch.save({prefix + key: value for key, value in seven["state"].items()}, path)
    loaded = load_model("timm:resnet18", weights=path, device="cpu").model.state_dict()
    assert torch.equal(loaded["fc.weight"], seven["state"]["fc.weight"])


def test_an_unknown_prefix_and_another_architecture_are_refused_with_the_keys(seven, tmp_path):
    path = tmp_path / "backbone_prefix.pth"
    torch.save({f"backbone.{key}": value for key, value in seven["state"].items()}, path)
    with pytest.raises(WeightsError, match=r"tensors missing \(conv1.weight.*unexpected \(backbone.conv1.weight"):
        load_model("timm:resnet18", weights=path, device="cpu")
    other = tmp_path / "resnet34.pth"
    torch.save(timm.create_model("resnet34", num_classes=7).state_dict(), other)
    with pytest.raises(WeightsError, match=r"does not fit .*unexpected \(layer1.2"):
        load_model("timm:resnet18", weights=other, device="cpu")


CLASS_FILES = {
    "names.txt": "\n".join(CLASSES) + "\n\n",
    "list.json": json.dumps(CLASSES),
    "dict.json": json.dumps({str(i): name for i, name in reversed(list(enumerate(CLASSES)))}),
    "header.csv": "index,name\n" + "".join(f"{i},{name}\n" for i, name in enumerate(CLASSES)),
    "plain.csv": "".join(f"{i},{name}\n" for i, name in reversed(list(enumerate(CLASSES)))),
}


@pytest.mark.parametrize("name", CLASS_FILES)
def test_class_name_files_of_each_format(tmp_path, name):
    path = tmp_path / name
    path.write_text(CLASS_FILES[name])
    assert read_class_names(path) == tuple(CLASSES)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("gap.json", json.dumps({"0": "a", "2": "b"}), "missing"),
        ("twice.txt", "a\nb\na\n", "both named 'a'"),
        ("empty.txt", "\n\n", "no class names"),
        ("bad.csv", "0,a\nx,b\n", "not a class index"),
        ("names.yaml", "- a\n", "must end in"),
    ],
)
def test_bad_class_files_are_refused(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InvalidParameterError, match=message):
        read_class_names(path)


def test_a_classes_file_of_the_wrong_length_is_refused(seven, tmp_path):
    path = tmp_path / "six.txt"
    path.write_text("\n".join(CLASSES[:6]))
    with pytest.raises(InvalidParameterError, match="has 6 names, but the model's head has 7 outputs"):
        load_model("timm:resnet18", weights=seven["folder"] / "r18.pth", classes=path, device="cpu")


def test_torchvision_with_random_weights_gets_numbered_classes_and_its_own_preprocessing():
    backbone = load_model("torchvision:resnet18", pretrained=False, device="cpu")
    assert backbone.class_names[:2] == ("class 0", "class 1") and len(backbone.class_names) == 1000
    assert backbone.weights_label == "random weights" and backbone.default_layer == "layer4"
    weights = torchvision.models.ResNet18_Weights.DEFAULT.transforms()
    assert backbone.spec.input_size == weights.crop_size[0] and backbone.spec.mean == tuple(weights.mean)
    # ImageNet's names only on request for weights that are not known to be ImageNet's
    named = load_model("torchvision:resnet18", pretrained=False, classes="imagenet", device="cpu")
    assert named.class_names == imagenet_class_names()


@pytest.mark.parametrize("factory", ["tuple_output", "dict_output", "object_output"])
def test_models_whose_output_is_not_a_tensor(factory):
    import model_factories

    backbone = load_model(f"model_factories:{factory}", device="cpu", classes=list("abcde"))
    reference = model_factories.plain()  # the same weights (same seed), a plain tensor output
    inputs = torch.randn(1, 3, 48, 40, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(backbone.probabilities(inputs), torch.softmax(_logits(reference, inputs), dim=1))
    assert backbone.default_layer == "features" and "features" in backbone.layer_names()
    expected = GradCAM(reference, "features")(inputs, [3])
    np.testing.assert_allclose(GradCAM(backbone.model, backbone.default_layer)(inputs, [3]), expected, atol=1e-5)


@pytest.mark.slow  # over 2 s on the 2-core runner
def test_automatic_layer_on_cnns_and_transformers():
    chosen = {}
    texts = ("torchvision:vgg16", "timm:vit_tiny_patch16_224", "timm:swin_tiny_patch4_window7_224", "timm:efficientnet_lite0", "timm:convnext_atto")
    for text in texts:
        chosen[text] = load_model(text, pretrained=False, device="cpu")
    assert chosen["torchvision:vgg16"].default_layer == "features.29"  # the ReLU before the last max pooling
    assert chosen["timm:vit_tiny_patch16_224"].default_layer == "blocks.11.norm1"
    assert chosen["timm:swin_tiny_patch4_window7_224"].default_layer == "layers.3.blocks.1.norm1"
    assert chosen["timm:efficientnet_lite0"].default_layer == "bn2"  # the built-in entry's layer, found alone
    assert chosen["timm:convnext_atto"].default_layer == "stages.3"  # not norm_pre, an identity after it
    assert chosen["timm:vit_tiny_patch16_224"].fixed_size and not chosen["torchvision:vgg16"].fixed_size
    assert "CAM is not applicable" in chosen["torchvision:vgg16"].cam_unavailable_reason
    # the planted error: without skipping outputs of pooling layers, VGG16's pick would be the pooled 'features'
    model = chosen["torchvision:vgg16"].model
    _, outputs = dry_run(model, torch.zeros(1, 3, 64, 64))
    maps = [layer.name for layer in outputs if len(layer.shape) == 4 and layer.shape[-1] * layer.shape[-2] > 1]
    naive = [name for name in maps if not isinstance(model.get_submodule(name), nn.AdaptiveAvgPool2d | nn.MaxPool2d)][-1]
    assert naive == "features" and automatic_layer(model, outputs) == "features.29"
    # and the outermost module holding the last map would be ConvNeXt's container of all four stages
    convnext = chosen["timm:convnext_atto"].model
    _, outputs = dry_run(convnext, torch.zeros(1, 3, 64, 64))
    spatial = [layer.name for layer in outputs if len(layer.shape) == 4 and layer.shape[-1] * layer.shape[-2] > 1]
    last = [name for name in spatial if not isinstance(convnext.get_submodule(name), nn.Identity)][-1]
    assert last == "stages" and automatic_layer(convnext, outputs) == "stages.3"


def test_candidate_layers_mark_the_default(seven):
    backbone = load_model("timm:resnet18", weights=seven["folder"] / "r18.pth", device="cpu")
    candidates = backbone.candidate_layers()
    assert [name for name, _, is_default in candidates if is_default] == ["layer4"]
    assert dict((name, shape) for name, shape, _ in candidates)["layer3"] == (1, 256, 14, 14)
    assert "fc" not in [name for name, _, _ in candidates]


def test_a_fixed_size_model_is_fed_its_size_and_its_maps_come_back_at_the_photo_shape(chelsea_image):
    from camlib.explain import explain

    backbone = load_model("model_factories:only_64", input_size=64, fixed_size=True, device="cpu")
    assert backbone.preprocess(chelsea_image).shape == (1, 3, 64, 64)
    explanation = explain(backbone, chelsea_image, methods=["gradcam"])
    assert explanation.image.shape == (64, 96, 3)  # 451 × 300 at a shorter side of 64
    assert explanation.results["gradcam"].saliency.shape == (64, 96)
    # the planted error: the same model without its fixed-size path refuses the photo's shape
    loose = load_model("model_factories:only_64", input_size=64, fixed_size=False, device="cpu")
    with pytest.raises(CamlibError, match=r"refuses an input of shape \(1, 3, 64, 96\)"):
        explain(loose, chelsea_image, methods=["gradcam"])


BAD_MODELS = {
    "refuses the input size": (dict(spec_or_text="model_factories:only_64"), "refuses a 224×224 input"),
    "factory raises": (dict(spec_or_text="model_factories:raises"), "could not find its config"),
    "factory returns no module": (dict(spec_or_text="model_factories:not_a_module"), "not a torch nn.Module"),
    "outputs NaN": (dict(spec_or_text="model_factories:nan_output"), "NaN"),
    "layer without a spatial output": (dict(spec_or_text="model_factories:plain", layer="fc"), r"outputs \(1, 5\)"),
    "unknown layer": (dict(spec_or_text="model_factories:plain", layer="blocks.99"), "blocks.99"),
    "unknown timm name": (dict(spec_or_text="timm:resnet_eighteen"), "no classification model"),
    "timm without weights": (dict(spec_or_text="timm:resnet18"), "needs a weights file"),
    "factories off": (dict(spec_or_text="model_factories:plain", allow_factory=False), "names Python code"),
}


@pytest.mark.parametrize("case", BAD_MODELS)
def test_bad_models_raise_one_clear_camlib_error(case):
    kwargs, message = BAD_MODELS[case]
    with pytest.raises(CamlibError, match=message) as raised:
        load_model(**kwargs, device="cpu")
    assert "\n" not in str(raised.value)


def test_non_finite_weights_and_a_huge_file_are_refused(seven, tmp_path):
    state = dict(seven["state"])
    state["fc.bias"] = state["fc.bias"].clone()
    state["fc.bias"][2] = float("inf")
    torch.save(state, tmp_path / "inf.pth")
    with pytest.raises(WeightsError, match="NaN or infinite values .*fc.bias"):
        load_model("timm:resnet18", weights=tmp_path / "inf.pth", device="cpu")
    whole = (seven["folder"] / "r18.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(WeightsError, match="cut.safetensors is not a readable safetensors file"):
        load_model("timm:resnet18", weights=tmp_path / "cut.safetensors", device="cpu")
    huge = tmp_path / "huge.safetensors"
    with open(huge, "wb") as handle:
        handle.truncate(4 * 2**30)  # 4 GiB, sparse: refused by its size before anything is read
    with pytest.raises(WeightsError, match="larger than the 1 GiB"):
        load_model("timm:resnet18", weights=huge, device="cpu")


def test_randomisation_stages_and_pointing_grids_follow_the_model(seven):
    """No EfficientNet names or 448-pixel grids assumed: the sanity check's stages come from the
    model's own modules, and the pointing game's grid from its input size (fixed models: exactly it)."""
    from camlib.pointing import grid_size
    from camlib.sanity import RandomisationCheck, randomisation_stages

    backbone = load_model("timm:resnet18", weights=seven["folder"] / "r18.pth", device="cpu")
    assert [names for _, names in randomisation_stages(backbone)] == [["fc"], ["fc", "layer4.1"], ["fc", "layer4.1", "layer4.0"]]
    adapted = load_model("model_factories:tuple_output", device="cpu")  # the logits subclass survives deepcopy
    check = RandomisationCheck(adapted, stages=1)
    inputs = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    saliency = GradCAM(adapted.model, "features")(inputs, [1])[0]
    scores = check.scores("gradcam", saliency, inputs, 1, layer="features")
    assert -1.0 <= scores["rand_spearman_1"] <= 1.0
    assert grid_size(backbone, None) == 448
    fixed = load_model("model_factories:only_64", input_size=64, fixed_size=True, device="cpu")
    assert grid_size(fixed, None) == 64
    with pytest.raises(InvalidParameterError, match="takes only 64×64"):
        grid_size(fixed, 448)


def test_a_three_class_factory_model_sized_from_its_weights(tmp_path, chelsea_image):
    """The factory is called with num_classes read from the file's head; a model with fewer than five
    classes is explained with as many top predictions as it has classes."""
    import model_factories

    from camlib.explain import explain

    source = model_factories.plain(num_classes=3)
    torch.save(source.state_dict(), tmp_path / "three.pth")
    backbone = load_model("model_factories:plain", weights=tmp_path / "three.pth", device="cpu")
    assert backbone.class_names == ("class 0", "class 1", "class 2") and backbone.spec.cam_classifier == "fc"
    explanation = explain(backbone, chelsea_image, methods=["gradcam", "cam"])
    assert len(explanation.top_predictions) == 3
    assert all(result.error is None for result in explanation.results.values())


def test_a_models_file_entry_with_a_factory_and_relative_paths(tmp_path, monkeypatch, chelsea_image):
    """The format the example models use: a factory, weights and classes beside the TOML file, a fixed
    input size; read through CAMLIB_MODELS, and allowed even where typed factories are not."""
    import model_factories

    folder = tmp_path / "models"
    folder.mkdir()
    torch.save(model_factories.only_64().state_dict(), folder / "small.pth")
    (folder / "small.json").write_text(json.dumps({str(i): name for i, name in enumerate("vwxyz")}))
    (folder / "models.toml").write_text(
        '[models.small]\narchitecture = "model_factories:only_64"\nweights = "small.pth"\nclasses = "small.json"\n'
        'display_name = "Small (example)"\nlayer = "features"\ninput_size = 64\nfixed_size = true\n'
    )
    monkeypatch.setenv("CAMLIB_MODELS", str(folder / "models.toml"))
    backbone = load_model("small", device="cpu", allow_factory=False)
    assert backbone.display_name == "Small (example)" and backbone.class_names == tuple("vwxyz")
    assert backbone.fixed_size and backbone.weights_label == "weights from small.pth"
    assert backbone.preprocess(chelsea_image).shape == (1, 3, 64, 64)
    with pytest.raises(CamlibError, match="names Python code"):
        load_model("model_factories:only_64", device="cpu", allow_factory=False)
