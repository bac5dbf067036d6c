"""The app with models that are not ImageNet's: the shipped digits example, a visitor's upload (a random 7-class
timm ResNet-18 with its own class names), bad uploads, the operator's switch, and the stride of the chosen layer.

Every model here has random or shipped weights; nothing downloads (TORCH_HOME is an empty folder).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from camlib.app import catalogue, instances, layers, models, uploads, widgets
from camlib.app import class_choice as classes
from camlib.app.settings import FAST_TEST_ENV
from camlib.explain import MethodResult
from test_app import APP, TIMEOUT_S, assert_clean, captions, has_key, page

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SEVEN = ("ant", "bee", "cicada", "dragonfly", "earwig", "flea", "gnat")
CHEAP_METHODS = ["gradcam", "gradcampp"]


@pytest.fixture(autouse=True)
def offline_fast_app(monkeypatch, tmp_path):
    monkeypatch.setenv(FAST_TEST_ENV, "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    monkeypatch.delenv(uploads.UPLOADS_ENV, raising=False)
    monkeypatch.delenv(uploads.MAX_WEIGHTS_MB_ENV, raising=False)


def state_dict_bytes(architecture: str, num_classes: int, *, nan: bool = False) -> bytes:
    import io

    import timm

    torch.manual_seed(0)
    state = timm.create_model(architecture, pretrained=False, num_classes=num_classes).state_dict()
    if nan:
        state = {name: torch.full_like(value, float("nan")) if value.is_floating_point() else value for name, value in state.items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def resnet18_seven() -> bytes:
    return state_dict_bytes("resnet18", len(SEVEN))


@pytest.fixture
def seven_class_choice(resnet18_seven) -> models.ModelChoice:
    """The 7-class ResNet-18 as an upload leaves it: files saved under their hash, a ModelChoice naming them."""
    return uploads.uploaded_choice("timm:resnet18", ("my_resnet.pth", resnet18_seven), ("insects.txt", "\n".join(SEVEN).encode()))


def app_with(path: str = APP, *, model: models.ModelChoice | str | None = None, methods=CHEAP_METHODS, **state) -> AppTest:
    """The page after its first run with ``model`` (a model-box entry, or an uploaded choice put in the session)."""
    at = AppTest.from_file(path, default_timeout=TIMEOUT_S)
    at.session_state["camlib_methods"] = list(methods)
    if isinstance(model, models.ModelChoice):
        state[catalogue.UPLOADED_MODELS_KEY] = {"upload:test": model}
        model = "upload:test"
    if model is not None:
        at.session_state[widgets.MODEL_KEY] = model
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def class_box(at: AppTest):
    return next(box for box in at.sidebar.selectbox if box.key.startswith("camlib_class::"))


def top_k_names(at: AppTest) -> list[str]:
    chart = at.sidebar.get("plotly_chart")[0]
    return [name.rsplit(" (", 1)[0] for name in json.loads(chart.proto.spec)["data"][0]["y"]]


def assert_own_classes(at: AppTest, names: tuple[str, ...]) -> None:
    assert_clean(at)
    box = class_box(at)
    assert box.options == [f"{name} ({index})" for index, name in enumerate(names)]
    assert f"all {len(names)}" in box.label
    assert set(top_k_names(at)) <= set(names) and len(top_k_names(at)) == min(5, len(names))


def own_model_errors(at: AppTest) -> list[str]:
    return [error.value for error in at.sidebar.error]


# -- a model from the models file, and a visitor's upload --------------------------------------------


def test_the_digits_model_names_its_own_classes_in_the_class_box_and_the_top_k():
    at = app_with(model="named:digits")
    assert_own_classes(at, DIGITS)
    assert at.sidebar.selectbox(key=widgets.MODEL_KEY).value == "named:digits"
    assert "Digits CNN" in " ".join(markdown.value for markdown in at.main.markdown)
    assert len(captions(at)) >= 1 + len(CHEAP_METHODS)  # the input and each method's overlay
    layer_box = at.sidebar.selectbox(key="camlib_layer::named:digits")
    assert layer_box.value == "stage2" and layer_box.options[0] == "stage2 · 64 × 8 × 8 (default)"


def test_a_sample_photos_imagenet_classes_are_not_offered_to_the_digits_model(monkeypatch):
    """Planted error: a class box that takes the sample's ImageNet class (281, tabby) for any model breaks the page."""
    monkeypatch.setattr(classes, "sample_for", lambda sample, names: sample)
    at = app_with(model="named:digits")
    with pytest.raises(AssertionError):
        assert_own_classes(at, DIGITS)


def test_several_classes_and_the_faithfulness_page_work_with_the_digits_model():
    at = app_with(page("multiple_objects.py"), model="named:digits")
    assert_clean(at)
    chosen = at.multiselect(key=next(box.key for box in at.multiselect if box.key.startswith("camlib_multi_classes::")))
    assert chosen.options == [f"{name} ({index})" for index, name in enumerate(DIGITS)] and len(chosen.value) == 2
    assert all(any(caption.startswith(f"Input · maps for {DIGITS[index]}") for caption in captions(at)) for index in chosen.value)
    at = app_with(page("faithfulness.py"), model="named:digits")
    assert_clean(at)
    assert not at.error, [error.value for error in at.error]
    per_image = next(frame.value for frame in at.dataframe if "class" in frame.value.columns)
    assert set(per_image["class"].str.rsplit(" (", n=1).str[0]) <= set(DIGITS)
    assert any("has its own 10 classes" in info.value for info in at.info)  # not set beside ImageNet's Table 1


def test_an_uploaded_model_with_its_classes_file_is_chosen_and_names_its_classes(resnet18_seven):
    at = app_with()
    at.text_input(key="camlib_own_architecture").input("timm:resnet18")
    at.get_by_key("camlib_own_weights").set_value(("my resnet.pth", resnet18_seven, "application/octet-stream"))
    at.get_by_key("camlib_own_classes").set_value(("insects.txt", "\n".join(SEVEN).encode(), "text/plain"))
    at.button(key="camlib_own_load").click().run()
    assert not own_model_errors(at)
    assert at.sidebar.selectbox(key=widgets.MODEL_KEY).value.startswith(catalogue.UPLOAD_PREFIX)
    assert_own_classes(at, SEVEN)
    layer_box = next(box for box in at.sidebar.selectbox if box.key.startswith("camlib_layer::upload:"))
    assert layer_box.value == "layer4" and layer_box.options[0] == "layer4 · 512 × 7 × 7 (default)"
    assert "layer3 · 256 × 14 × 14" in layer_box.options


# -- bad uploads: one message, nothing half-loaded, the previous model still in use -------------------


@pytest.mark.parametrize(
    ("weights", "classes_text", "expected"),
    [
        (lambda: state_dict_bytes("mobilenetv3_small_050", 7), None, "missing"),  # another architecture's weights
        (lambda: state_dict_bytes("resnet18", 7), "\n".join(SEVEN[:5]), "5"),  # five names for seven outputs
        (lambda: state_dict_bytes("resnet18", 7, nan=True), None, "finite"),  # a model that outputs NaN
        (lambda: b"not a state dict", None, "my_weights.pth"),
    ],
    ids=["other-architecture", "classes-of-wrong-length", "nan-outputs", "not-a-state-dict"],
)
def test_a_bad_upload_gives_one_message_and_keeps_the_previous_model(weights, classes_text, expected):
    at = app_with(model="named:digits")
    before = captions(at)
    at.get_by_key("camlib_own_weights").set_value(("my weights.pth", weights(), "application/octet-stream"))
    if classes_text is not None:
        at.get_by_key("camlib_own_classes").set_value(("names.txt", classes_text.encode(), "text/plain"))
    at.button(key="camlib_own_load").click().run()
    assert_clean(at)
    errors = own_model_errors(at)
    assert len(errors) == 1 and expected in errors[0], errors
    assert at.sidebar.selectbox(key=widgets.MODEL_KEY).value == "named:digits"
    assert catalogue.UPLOADED_MODELS_KEY not in at.session_state or not at.session_state[catalogue.UPLOADED_MODELS_KEY]
    assert captions(at) == before  # the digits model's maps, still there
    assert_own_classes(at, DIGITS)


def test_an_upload_over_the_operators_limit_is_refused_before_it_is_read(monkeypatch):
    monkeypatch.setenv(uploads.MAX_WEIGHTS_MB_ENV, "1")
    big = b"\0" * (2 * 2**20)
    with pytest.raises(Exception, match="limited to 1 MB"):
        uploads.uploaded_choice("timm:resnet18", ("big.pth", big), None)
    at = app_with(model="named:digits")
    at.get_by_key("camlib_own_weights").set_value(("big.pth", big, "application/octet-stream"))
    at.button(key="camlib_own_load").click().run()
    errors = own_model_errors(at)
    assert len(errors) == 1 and "limited to 1 MB" in errors[0], errors
    # Planted error: without the size check the same upload is written to disk, to be read.
    monkeypatch.setattr(uploads, "check_size", lambda *args: None)
    assert uploads.uploaded_choice("timm:resnet18", ("big.pth", big), None).weights_name == "big.pth"


def test_a_visitor_can_name_only_timm_and_torchvision_architectures():
    for text in ("os:system", "camlib.examples.digits:build", "timm:", "resnet18", "timm:a b"):
        with pytest.raises(Exception, match="not an architecture the app can build"):
            uploads.architecture_text(text)
    assert uploads.architecture_text(" torchvision:resnet50 ") == "torchvision:resnet50"


def test_the_operator_can_turn_uploads_off(monkeypatch):
    at = app_with(model="vgg16")  # no weights offline: its "how to add weights" form is shown
    assert has_key(at, "camlib_own_weights") and has_key(at, "weights_upload::vgg16")
    monkeypatch.setenv(uploads.UPLOADS_ENV, "0")
    at = app_with(model="vgg16")
    assert_clean(at)
    assert not has_key(at, "camlib_own_weights") and not has_key(at, "camlib_own_classes")
    assert not has_key(at, "weights_upload::vgg16")


def test_a_layer_without_a_spatial_output_gives_one_message_and_another_layer_works(seven_class_choice):
    at = app_with(model=seven_class_choice)
    assert_clean(at)
    layer_box = at.sidebar.selectbox(key="camlib_layer::upload:test")
    layer_box.select("fc").run()
    assert_clean(at)
    assert len(at.error) == 1 and "no spatial output" in at.error[0].value, [error.value for error in at.error]
    assert not captions(at)
    at.sidebar.selectbox(key="camlib_layer::upload:test").select("layer3").run()
    assert_clean(at)
    assert not at.error and len(captions(at)) >= 1 + len(CHEAP_METHODS)


# -- the multi-object page reads the stride from the layer ------------------------------------------


def test_the_stride_is_read_from_the_layer(seven_class_choice, tmp_path):
    assert layers.stride(seven_class_choice, "layer4", 448) == 32
    assert layers.stride(seven_class_choice, "layer3", 448) == 16
    assert layers.stride(seven_class_choice, "layer3", 224) == 16
    assert layers.stride(models.ModelChoice("digits"), "stage2", 224) == 28  # 8 × 8 cells, maps shown at 224
    import timm

    vit = tmp_path / "vit.pth"
    torch.save(timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=3).state_dict(), vit)
    vit_choice = models.ModelChoice("timm:vit_tiny_patch16_224", str(vit))
    assert models.shared_model(vit_choice).backbone.default_layer == "blocks.11.norm1"
    assert layers.stride(vit_choice, "blocks.11.norm1", 224) == 16  # tokens on the 14 × 14 patch grid


def test_hot_spots_a_stride_16_cell_apart_are_separate_and_a_stride_32_cell_merges_them(seven_class_choice):
    saliency = np.zeros((448, 448), np.float32)
    saliency[100, 100], saliency[100, 112] = 1.0, 0.9  # 12 px apart: beyond half a layer3 cell, within half a layer4 cell
    spots = instances.hot_spots(saliency, cell=layers.stride(seven_class_choice, "layer3", 448))
    assert len(spots) == 2
    assert len(instances.hot_spots(saliency, cell=32)) == 1  # what a stride-32 assumption would say


def assert_note_stride(at: AppTest, stride: int) -> None:
    assert_clean(at)
    notes = [info.value for info in at.main.info if info.value.startswith("Hot spots")]
    assert len(notes) == 1 and f"at least {stride} pixels apart" in notes[0], notes


def test_the_multi_object_page_uses_the_layers_stride(seven_class_choice, monkeypatch):
    state = {"camlib_layer::upload:test": "layer3"}
    at = app_with(page("multiple_objects.py"), model=seven_class_choice, methods=["gradcam"], **state)
    assert_note_stride(at, 16)
    # Planted error: the page with a stride of 32 assumed, whatever the layer, fails the same check.
    monkeypatch.setattr(layers, "stride", lambda *args: 32)
    planted = app_with(page("multiple_objects.py"), model=seven_class_choice, methods=["gradcam"], **state)
    with pytest.raises(AssertionError):
        assert_note_stride(planted, 16)


def test_the_instances_note_states_the_stride_it_used():
    saliency = np.zeros((224, 224), np.float32)
    saliency[50, 50], saliency[50, 90] = 1.0, 0.8
    results = {"gradcam": MethodResult("gradcam", "Grad-CAM", saliency, 0.1)}
    assert "Grad-CAM: 2" in instances.instances_note(results, resolution=448, stride=16)
    coarse = instances.instances_note(results, resolution=448, stride=96)
    assert "Grad-CAM: 1" in coarse and "at least 96 pixels apart" in coarse and "earlier layer" in coarse
    fixed = instances.instances_note(results, resolution=224, stride=28, fixed_size=True)
    assert "fixed input size" in fixed and "try 448" not in fixed


PICKY_MODULE = '''
import torch
from torch import nn


class Picky(nn.Module):
    """Runs only on 32 x 32 inputs: its head flattens a 32 x 32 map."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 32 * 32, 3)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


def picky():
    return Picky()


def broken():
    raise RuntimeError("the operator's factory is broken")
'''


@pytest.fixture
def operators_models(tmp_path, monkeypatch):
    """A models file (CAMLIB_MODELS) with a model that runs only at 32 px, and one whose factory raises."""
    (tmp_path / "picky_models.py").write_text(PICKY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import picky_models

    torch.save(picky_models.picky().state_dict(), tmp_path / "picky.pth")
    models_file = tmp_path / "models.toml"
    models_file.write_text(
        '[models.picky]\narchitecture = "picky_models:picky"\nweights = "picky.pth"\ninput_size = 32\nclasses = "abc.txt"\n\n'
        '[models.broken]\narchitecture = "picky_models:broken"\nweights = "picky.pth"\n'
    )
    (tmp_path / "abc.txt").write_text("a\nb\nc\n")
    monkeypatch.setenv("CAMLIB_MODELS", str(models_file))


def test_a_model_that_refuses_the_input_size_or_a_factory_that_raises_gives_one_message(operators_models):
    at = app_with(model="named:picky")  # 224 px on the main page: the head cannot take it
    assert_clean(at)
    errors = [error.value for error in at.error]
    assert len(errors) == 1 and "224" in errors[0] and ("refuses" in errors[0] or "does not run" in errors[0]), errors
    assert not captions(at)
    at = app_with(model="named:broken")
    assert_clean(at)
    shown = [warning.value for warning in at.main.warning] + [error.value for error in at.error]
    assert len(shown) == 1 and "broken" in shown[0], shown
    at.sidebar.selectbox(key=widgets.MODEL_KEY).select("named:digits").run()  # another model still works
    assert_own_classes(at, DIGITS)


def test_saved_uploads_stay_under_the_folder_limit(tmp_path):
    first = uploads.save_upload(b"a" * 600, "first.pth", root=tmp_path)
    second = uploads.save_upload(b"b" * 300, "second.pth", root=tmp_path)
    os.utime(first, (1, 1))  # the older of the two, whatever the clock's resolution
    uploads.make_room(tmp_path, 500, 1000)  # 900 saved + 500 new > 1000: the oldest goes
    assert not first.exists() and second.exists()
    uploads.make_room(tmp_path, 100, 1000)  # fits: nothing removed
    assert second.exists()
    assert uploads.save_upload(b"b" * 300, "second.pth", root=tmp_path) == second  # the same bytes: the same file
