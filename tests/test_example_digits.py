"""The shipped example model (camlib/examples): trained weights that classify held-out digits, and maps
that put each class on its own digit in assets/digits_pair.png.

Each check is run beside a planted error it must catch: the same weights with the classifier's rows
rolled by one class, the architecture with random weights, the classes of the two digits swapped.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
import torch
from PIL import Image

from camlib.examples import digits as ex
from camlib.methods import CAM, GradCAM

from conftest import REPO_ROOT

safetensors_torch = pytest.importorskip("safetensors.torch")
pytest.importorskip("sklearn", reason="scikit-learn (requirements-dev.txt) gives load_digits' held-out split")

DEMO_PATH = REPO_ROOT / "assets" / "digits_pair.png"
DEMO_CLASSES = (3, 8)  # left, right: written by bench/digits_discrimination.py --write-demo
ACCURACY_FLOOR = 0.9  # measured 0.986 on all 360 held-out images (bench/train_digits.py); chance is 0.1
SLICE = 120


def trained_state() -> dict[str, torch.Tensor]:
    return safetensors_torch.load_file(str(ex.WEIGHTS_PATH))


def model_from(state: dict[str, torch.Tensor] | None) -> torch.nn.Module:
    torch.manual_seed(0)
    model = ex.build()
    if state is not None:
        model.load_state_dict(state, strict=True)
    return model.eval()


def rolled_classes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The planted error: every class reads the classifier row of the next class."""
    return {**state, "fc.weight": state["fc.weight"].roll(1, 0), "fc.bias": state["fc.bias"].roll(1, 0)}


def heldout_accuracy(model: torch.nn.Module) -> float:
    _, x_test, _, y_test = ex.heldout_split()
    with torch.inference_mode():
        predicted = model(ex.to_inputs(ex.single_pictures(x_test[:SLICE]))).argmax(1).numpy()
    return float((predicted == y_test[:SLICE]).mean())


def demo_inputs() -> torch.Tensor:
    """The demo picture as an app or CLI user's upload reaches the model: RGB resized to 32 × 32, normalised."""
    rgb = Image.open(DEMO_PATH).convert("RGB").resize((ex.INPUT_SIZE, ex.INPUT_SIZE), Image.Resampling.BILINEAR)
    tensor = torch.as_tensor(np.asarray(rgb, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return ((tensor - ex.MEAN) / ex.STD)[None]


def right_share(saliency: np.ndarray) -> float:
    return float(saliency[..., saliency.shape[-1] // 2 :].sum() / max(saliency.sum(), 1e-12))


def puts_each_class_on_its_digit(method, inputs: torch.Tensor, left: int, right: int, margin: float = 0.15) -> bool:
    """The left class's map has most of its mass on the left half, the right class's on the right half."""
    left_share = right_share(method(inputs, targets=[left]))
    right_share_ = right_share(method(inputs, targets=[right]))
    return left_share < 0.5 - margin and right_share_ > 0.5 + margin


def method_for(name: str, model: torch.nn.Module):
    if name == "cam":
        return CAM(model, ex.TARGET_LAYER, classifier_layer=ex.CLASSIFIER_LAYER)
    return GradCAM(model, ex.TARGET_LAYER)


def test_shipped_files_load_by_name_and_agree_with_models_toml():
    assert ex.WEIGHTS_PATH.stat().st_size < 1_000_000
    model_from(trained_state())  # strict: every key by name, none missing or unexpected
    assert ex.class_names() == ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    entry = tomllib.loads((ex.EXAMPLES_DIR / "models.toml").read_text(encoding="utf-8"))["models"]["digits"]
    assert entry["architecture"] == "camlib.examples.digits:build"
    assert (ex.EXAMPLES_DIR / entry["weights"]) == ex.WEIGHTS_PATH and (ex.EXAMPLES_DIR / entry["classes"]) == ex.CLASSES_PATH
    assert (entry["layer"], entry["input_size"]) == (ex.TARGET_LAYER, ex.INPUT_SIZE)
    assert entry["mean"] == [ex.MEAN] * 3 and entry["std"] == [ex.STD] * 3
    assert entry["layer"] in dict(model_from(None).named_modules())


def test_a_file_for_another_model_is_refused():
    state = trained_state()
    with pytest.raises(RuntimeError, match="Missing key"):
        model_from({key: value for key, value in state.items() if key != "fc.bias"})


def test_heldout_accuracy_is_far_above_chance_and_the_planted_errors_are_not():
    assert heldout_accuracy(model_from(trained_state())) >= ACCURACY_FLOOR
    assert heldout_accuracy(model_from(rolled_classes(trained_state()))) < ACCURACY_FLOOR
    assert heldout_accuracy(model_from(None)) < ACCURACY_FLOOR


def test_the_demo_picture_is_drawn_from_held_out_digits():
    _, x_test, _, y_test = ex.heldout_split()
    first = [int(np.flatnonzero(y_test == label)[0]) for label in DEMO_CLASSES]
    shipped = np.asarray(Image.open(DEMO_PATH).convert("L"), dtype=np.float32) / 255.0
    drawn = ex.pair_pictures(x_test[first[:1]], x_test[first[1:]], size=shipped.shape[0])[0]
    assert np.abs(shipped - drawn).max() <= 1 / 255 + 1e-6
    other = ex.pair_pictures(x_test[first[1:]], x_test[first[:1]], size=shipped.shape[0])[0]  # planted: digits swapped
    assert np.abs(shipped - other).max() > 0.5


def test_the_model_sees_both_digits_of_the_demo_picture():
    with torch.inference_mode():
        top2 = model_from(trained_state())(demo_inputs()).topk(2, dim=1).indices[0].tolist()
    assert set(top2) == set(DEMO_CLASSES)


@pytest.mark.parametrize("method_name", ["gradcam", "cam"])
def test_maps_put_each_class_on_its_own_digit(method_name):
    inputs, (left, right) = demo_inputs(), DEMO_CLASSES
    method = method_for(method_name, model_from(trained_state()))
    assert puts_each_class_on_its_digit(method, inputs, left, right)
    assert not puts_each_class_on_its_digit(method, inputs, right, left)  # classes swapped: the verdict flips


@pytest.mark.parametrize("method_name", ["gradcam", "cam"])
def test_random_weights_do_not_pass_the_discrimination_check(method_name):
    method = method_for(method_name, model_from(None))
    assert not puts_each_class_on_its_digit(method, demo_inputs(), *DEMO_CLASSES)
