"""Every input class camlib was tried with, and what happened: the tables in docs/inputs.md.

Each :class:`Case` is run here, checked against what it must give (works, or refused with a given
error class and message), and becomes one row of docs/inputs.md. ``test_docs_inputs_table_is_current``
fails when the file differs from what the cases give now, so the document cannot drift from the code.
To rewrite it after a change:

    CAMLIB_WRITE_DOCS=1 python -m pytest -q tests/test_inputs_table.py
"""

from __future__ import annotations

import os
import pickle
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import test_images_fuzz
import test_soak
import timm
import torch
import torchvision
from conftest import REPO_ROOT
from image_samples import (
    BOMBS,
    RED,
    encode,
    exif_rotated_jpeg,
    noise,
    palette_with_transparency,
    sixteen_bit_png,
    two_frames,
)
from PIL import Image

from camlib.backbones import Backbone, backbone_spec, load_backbone
from camlib.errors import (
    CamlibError,
    ImageLoadError,
    InvalidParameterError,
    MethodNotApplicableError,
    UnknownClassError,
    UnknownLayerError,
    UnknownMethodError,
    WeightsError,
    WeightsUnavailableError,
)
from camlib.explain import build_method, explain
from camlib.images import MAX_MEGAPIXELS, load_image_with_notes

DOCS_FILE = REPO_ROOT / "docs" / "inputs.md"
REGENERATE = "CAMLIB_WRITE_DOCS=1 python -m pytest -q tests/test_inputs_table.py"


class Env:
    """What the cases need: a scratch folder, an empty TORCH_HOME, and the real EfficientNet-Lite0."""

    def __init__(self, folder: Path, effnet: Backbone) -> None:
        self.folder = folder
        self.effnet = effnet
        self.torch_home = folder / "torch_home"

    def file(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        return path

    def sanitise(self, text: str) -> str:
        return text.replace(str(self.torch_home), "$TORCH_HOME").replace(str(self.folder), "<folder>")


@dataclass(frozen=True)
class Case:
    group: str
    name: str
    run: Callable[[Env], str]  # returns what happened when it works; raises CamlibError when refused
    refused_with: type[CamlibError] | None  # None: the input must work
    expect: str  # text that the outcome or the error message must contain


# -- images ------------------------------------------------------------------------------------------------


def describe(loaded) -> str:
    width, height = loaded.image.size
    text = f"{width}×{height} RGB from {loaded.format} ({loaded.mode})."
    return " ".join([text, *loaded.notes])


def image_case(name: str, file_name: str, make: Callable[[], bytes], refused: bool, expect: str) -> Case:
    def run(env: Env) -> str:
        return describe(load_image_with_notes(env.file(file_name, make())))

    return Case("Image", name, run, ImageLoadError if refused else None, expect)


def tiny_end_to_end(size: int) -> Callable[[Env], str]:
    def run(env: Env) -> str:
        pixels = np.random.default_rng(size).integers(0, 256, (size, size, 3), dtype=np.uint8)
        loaded = load_image_with_notes(env.file(f"tiny{size}.png", encode(Image.fromarray(pixels))))
        result = explain(env.effnet, loaded.image, methods=["gradcam"]).results["gradcam"]
        assert result.error is None, result.error
        saliency = result.saliency
        assert np.isfinite(saliency).all() and 0 <= saliency.min() and saliency.max() <= 1
        return f"{describe(loaded)} Grad-CAM on EfficientNet-Lite0 gives a {saliency.shape[1]}×{saliency.shape[0]} map in [0, 1]."

    return run


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def damaged(data: bytes, marker: bytes, offset: int, length: int) -> bytes:
    out = bytearray(data)
    at = data.index(marker) + offset
    out[at : at + length] = bytes(b ^ 0x5A for b in out[at : at + length])
    return bytes(out)


PHOTO = noise(64, 48, seed=4)

IMAGE_CASES = [
    image_case("PNG, RGB", "photo.png", lambda: encode(PHOTO), False, "64×48 RGB from PNG (RGB)."),
    image_case("JPEG, RGB", "photo.jpg", lambda: encode(PHOTO, "JPEG"), False, "from JPEG (RGB)."),
    image_case("WebP", "photo.webp", lambda: encode(PHOTO, "WEBP"), False, "from WEBP"),
    image_case("BMP", "photo.bmp", lambda: encode(PHOTO, "BMP"), False, "from BMP"),
    image_case("TIFF", "photo.tif", lambda: encode(PHOTO, "TIFF"), False, "from TIFF"),
    Case("Image", "Tiny: 1×1 PNG, explained end to end", tiny_end_to_end(1), None, "224×224 map"),
    Case("Image", "Tiny: 8×8 PNG, explained end to end", tiny_end_to_end(8), None, "224×224 map"),
    image_case("Grayscale PNG", "gray.png", lambda: encode(PHOTO.convert("L")), False, "Grayscale"),
    image_case("16-bit grayscale PNG", "depth.png", sixteen_bit_png, False, "16-bit values were scaled"),
    image_case("1-bit PNG", "mask.png", lambda: encode(PHOTO.convert("1")), False, "from PNG (1)"),
    image_case(
        "32-bit float TIFF",
        "float.tif",
        lambda: encode(Image.fromarray(np.linspace(-1, 1, 48 * 64, dtype=np.float32).reshape(48, 64), "F"), "TIFF"),
        False,
        "32-bit values were scaled",
    ),
    image_case(
        "RGBA PNG with transparent areas",
        "logo.png",
        lambda: encode(Image.new("RGBA", (8, 8), (*RED, 0))),
        False,
        "placed on a white background",
    ),
    image_case("Palette PNG with a transparent colour", "palette.png", palette_with_transparency, False, "white background"),
    image_case("CMYK JPEG", "print.jpg", lambda: encode(PHOTO.convert("CMYK"), "JPEG"), False, "Converted from CMYK"),
    image_case("Animated GIF", "anim.gif", lambda: two_frames("GIF"), False, "only the first is used"),
    image_case("Animated PNG (APNG)", "anim.png", lambda: two_frames("PNG"), False, "only the first is used"),
    image_case("Animated WebP", "anim.webp", lambda: two_frames("WEBP"), False, "only the first is used"),
    image_case("Multi-page TIFF", "scan.tif", lambda: two_frames("TIFF"), False, "only the first is used"),
    image_case(
        "Multi-picture JPEG (MPO, as some cameras write)", "stereo.jpg", lambda: two_frames("MPO"), False, "first is used"
    ),
    image_case("EXIF-rotated JPEG (orientation 6)", "phone.jpg", lambda: exif_rotated_jpeg(6), False, "20×40 RGB"),
    image_case("EXIF-rotated JPEG (orientation 8)", "phone8.jpg", lambda: exif_rotated_jpeg(8), False, "20×40 RGB"),
    image_case("EXIF-rotated JPEG (orientation 3)", "phone3.jpg", lambda: exif_rotated_jpeg(3), False, "40×20 RGB"),
    image_case("Empty file (0 bytes)", "empty.png", lambda: b"", True, "empty.png is empty (0 bytes)"),
    Case(
        "Image",
        "Missing file",
        lambda env: describe(load_image_with_notes(env.folder / "absent.png")),
        ImageLoadError,
        "No such file",
    ),
    image_case("Text file renamed .png", "notes.png", lambda: b"These are my notes, not a picture.\n" * 3, True, "contains text"),
    image_case(
        "PDF renamed .png", "report.png", lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n", True, "PDF document"
    ),
    image_case(
        "HEIC photo (header only)", "IMG_0001.heic", lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", True, "HEIC"
    ),
    image_case("Unsupported image format (PPM)", "photo.ppm", lambda: encode(PHOTO, "PPM"), True, "PPM"),
    image_case("Random bytes", "random.png", lambda: np.random.default_rng(9).bytes(2048), True, "not an image"),
    image_case("PNG cut to half its length", "cut.png", lambda: half(encode(PHOTO)), True, "truncated"),
    image_case("JPEG cut to half its length", "cut.jpg", lambda: half(encode(PHOTO, "JPEG")), True, "truncated"),
    image_case(
        "PNG with damaged pixel data",
        "damaged.png",
        lambda: damaged(encode(PHOTO), b"IDAT", 40, 8),
        True,
        "corrupt",
    ),
    image_case(
        "JPEG with damaged pixel data (libjpeg decodes it without reporting the damage)",
        "damaged.jpg",
        lambda: damaged(encode(PHOTO, "JPEG"), b"\xff\xda", 40, 16),
        False,
        "64×48 RGB",
    ),
    *[image_case(f"Decompression bomb: {label} header", "bomb.img", make, True, "megapixels") for label, make in BOMBS.items()],
]


# -- weights files -----------------------------------------------------------------------------------------


class RunsCode:
    """Unpickling this object runs a shell command (here: create a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def lite0_state(classes: int = 1000) -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    return timm.create_model("efficientnet_lite0", pretrained=False, num_classes=classes).state_dict()


def weights_case(name: str, make: Callable[[Env, Path], None], refused_with, expect: str) -> Case:
    file_name = "weights.pth"

    def run(env: Env) -> str:
        path = env.folder / file_name
        make(env, path)
        load_backbone("efficientnet_lite0", weights_path=path, device="cpu")
        return "Loaded."

    return Case("Weights file", name, run, refused_with, expect)


def save(content) -> Callable[[Env, Path], None]:
    return lambda env, path: torch.save(content() if callable(content) else content, path)


def truncated(env: Env, path: Path) -> None:
    torch.save(lite0_state(), path)
    path.write_bytes(half(path.read_bytes()))


def code_running_pickle(env: Env) -> str:
    marker = env.folder / "marker"
    path = env.file("weights.pth", pickle.dumps({"conv_stem.weight": RunsCode(marker)}))
    try:
        load_backbone("efficientnet_lite0", weights_path=path, device="cpu")
    finally:
        assert not marker.exists(), "loading the weights ran code from the file"
    return "Loaded."


def missing_torchvision_weights(env: Env) -> str:
    previous = os.environ.get("TORCH_HOME")
    os.environ["TORCH_HOME"] = str(env.torch_home)
    try:
        assert not backbone_spec("resnet50").weights_file.exists()
        load_backbone("resnet50", allow_download=False, device="cpu")
    finally:
        if previous is None:
            del os.environ["TORCH_HOME"]
        else:
            os.environ["TORCH_HOME"] = previous
    return "Loaded."


def nan_weights_then_explain(env: Env) -> str:
    state = dict(env.effnet.model.state_dict())
    state["classifier.bias"] = state["classifier.bias"].clone()
    state["classifier.bias"][7] = float("nan")
    path = env.folder / "weights.pth"
    torch.save(state, path)
    backbone = load_backbone("efficientnet_lite0", weights_path=path, device="cpu")
    explain(backbone, Image.new("RGB", (32, 32), RED), methods=["gradcam"])
    return "Explained."


WEIGHTS_CASES = [
    weights_case("State dict of EfficientNet-Lite0 (random weights)", save(lite0_state), None, "Loaded."),
    weights_case(
        "Lightning-style checkpoint {'state_dict': ...}", save(lambda: {"state_dict": lite0_state(), "epoch": 3}), None, "Loaded."
    ),
    weights_case(
        "State dict saved from nn.DataParallel ('module.' prefixes)",
        save(lambda: {f"module.{key}": value for key, value in lite0_state().items()}),
        None,
        "Loaded.",
    ),
    weights_case(
        "State dict of another architecture (ResNet-18)",
        save(lambda: torchvision.models.resnet18(weights=None).state_dict()),
        WeightsError,
        "does not fit",
    ),
    weights_case(
        "EfficientNet-Lite0 state dict with 10 classes",
        save(lambda: lite0_state(classes=10)),
        WeightsError,
        "classifier.weight",
    ),
    weights_case("Truncated file (first half)", truncated, WeightsError, "truncated or corrupt"),
    weights_case("Empty file", lambda env, path: path.write_bytes(b""), WeightsError, "empty (0 bytes)"),
    Case("Weights file", "Pickle that would run code when loaded", code_running_pickle, WeightsError, "Refused"),
    weights_case(
        "Whole model saved with torch.save(model)",
        save(lambda: timm.create_model("efficientnet_lite0", pretrained=False)),
        WeightsError,
        "Refused",
    ),
    weights_case(
        "Training checkpoint {'model': ..., 'epoch': ...}",
        save(lambda: {"model": lite0_state(), "epoch": 3}),
        WeightsError,
        "not tensors",
    ),
    Case(
        "Weights file",
        "Missing file",
        lambda env: load_backbone("efficientnet_lite0", weights_path=env.folder / "absent.pth") and "Loaded.",
        WeightsError,
        "not found",
    ),
    Case(
        "Weights file",
        "ResNet50 offline, its torchvision weights not downloaded",
        missing_torchvision_weights,
        WeightsUnavailableError,
        "$TORCH_HOME/hub/checkpoints",
    ),
    Case(
        "Weights file",
        "Weights with a NaN (loaded, then an image explained)",
        nan_weights_then_explain,
        InvalidParameterError,
        "non-finite outputs",
    ),
]


# -- parameters --------------------------------------------------------------------------------------------


def method_call(key: str, *, layer: str | None = None, target: int = 1, batch: int = 1, nan: bool = False, **params):
    def run(env: Env) -> str:
        inputs = env.effnet.preprocess(Image.new("RGB", (32, 32), RED)).repeat(batch, 1, 1, 1)
        if nan:
            inputs[:, :, :4, :4] = float("nan")
        maps = build_method(key, env.effnet, layer=layer, **params)(inputs, [target] * batch)
        return f"A {maps.shape[2]}×{maps.shape[1]} map."

    return run


def class_lookup(value):
    return lambda env: f"Class {env.effnet.class_index(value)}."


def cam_on_vgg16(env: Env) -> str:
    build_method("cam", load_backbone("vgg16", pretrained=False, device="cpu"))
    return "Built."


PARAMETER_CASES = [
    Case("Parameter", "Class index 1000 (ImageNet has 0-999)", class_lookup(1000), UnknownClassError, "does not exist"),
    Case("Parameter", "Class index -1", class_lookup(-1), UnknownClassError, "does not exist"),
    Case("Parameter", "Class name 'unicorn'", class_lookup("unicorn"), UnknownClassError, "No class named"),
    Case("Parameter", "Ambiguous class name 'cat'", class_lookup("cat"), UnknownClassError, "ambiguous"),
    Case(
        "Parameter",
        "Class index 1000 given to a method directly",
        method_call("gradcam", target=1000),
        UnknownClassError,
        "does not exist",
    ),
    Case("Parameter", "Unknown layer 'blocks.99'", method_call("gradcam", layer="blocks.99"), UnknownLayerError, "Unknown layer"),
    Case(
        "Parameter",
        "Layer without spatial output ('classifier')",
        method_call("gradcam", layer="classifier"),
        UnknownLayerError,
        "not a spatial map",
    ),
    Case(
        "Parameter",
        "Grad++ScoreCAM top_k=2000 at a 1280-channel layer",
        method_call("gradpp_scorecam", top_k=2000),
        InvalidParameterError,
        "larger than the layer's 1280 channels",
    ),
    Case("Parameter", "Grad++ScoreCAM top_k=0", method_call("gradpp_scorecam", top_k=0), InvalidParameterError, "top_k"),
    Case("Parameter", "Score-CAM batch_size=0", method_call("scorecam", batch_size=0), InvalidParameterError, "batch_size"),
    Case(
        "Parameter",
        "Score-CAM sampled_channels=1",
        method_call("scorecam", sampled_channels=1),
        InvalidParameterError,
        "sampled_channels must be at least 2",
    ),
    Case(
        "Parameter",
        "Grad++ScoreCAM batch_size=0",
        method_call("gradpp_scorecam", batch_size=0),
        InvalidParameterError,
        "batch_size",
    ),
    Case(
        "Parameter",
        "Score-CAM perturbation_size=4",
        method_call("scorecam", perturbation_size=4),
        InvalidParameterError,
        "at least 8",
    ),
    Case(
        "Parameter",
        "SmoothGrad-CAM++ n_samples=0",
        method_call("smoothgradcampp", n_samples=0),
        InvalidParameterError,
        "n_samples",
    ),
    Case("Parameter", "A batch of 0 images", method_call("gradcam", batch=0), InvalidParameterError, "empty"),
    Case(
        "Parameter",
        "Input with NaN pixels (non-finite model outputs)",
        method_call("gradcam", nan=True),
        InvalidParameterError,
        "non-finite",
    ),
    Case("Parameter", "Unknown method 'gradcam3'", method_call("gradcam3"), UnknownMethodError, "Choose from"),
    Case("Parameter", "CAM on VGG16 (no global-average-pooling head)", cam_on_vgg16, MethodNotApplicableError, "Grad-CAM"),
]

CASES = IMAGE_CASES + WEIGHTS_CASES + PARAMETER_CASES


# -- running the cases and writing the table --------------------------------------------------------------


def outcome(case: Case, env: Env) -> tuple[str, str]:
    """(result, what the user sees) for one case, after checking it against the case's expectation."""
    try:
        text = case.run(env)
    except CamlibError as error:
        message = env.sanitise(str(error))
        assert case.refused_with is not None, f"{case.name}: expected to work, got {type(error).__name__}: {message}"
        assert isinstance(error, case.refused_with), (
            f"{case.name}: expected {case.refused_with.__name__}, got {type(error).__name__}: {message}"
        )
        assert case.expect in message, f"{case.name}: {case.expect!r} not in {message!r}"
        assert "\n" not in message and "Traceback" not in message, message
        return f"refused: `{type(error).__name__}`", message
    assert case.refused_with is None, f"{case.name}: expected {case.refused_with.__name__}, but it worked: {text}"
    assert case.expect in text, f"{case.name}: {case.expect!r} not in {text!r}"
    return "works", text


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: dict[str, list[tuple[str, str, str]]]) -> str:
    soak = test_soak
    lines = [
        "# Inputs camlib was tried with, and what happened",
        "",
        "<!-- Made by tests/test_inputs_table.py: do not edit by hand. -->",
        "",
        "Each row is one case that `tests/test_inputs_table.py` runs and checks; the test fails when this",
        "file differs from what the cases give now. After changing a message or adding a case, rewrite it with",
        "",
        f"    {REGENERATE}",
        "",
        '"What the user sees" is the message the CLI prints on one line and the app shows in place of a',
        "traceback, or, for inputs that work, what the loader did (`camlib.images.load_image_with_notes`).",
        f"Images above {MAX_MEGAPIXELS} megapixels (`camlib.images.MAX_MEGAPIXELS`) are refused from their header,",
        "before any pixel is decoded.",
        "",
        "Also tested, beyond these rows:",
        "",
        "- `tests/test_images_fuzz.py` feeds the loader random bytes, valid headers with random bodies and",
        f"  mutated valid files of every format ({test_images_fuzz.EXAMPLES} examples each, plus the inputs earlier",
        "  fuzzing found); only `ImageLoadError` or an RGB image may come out.",
        f"- `tests/test_soak.py` runs {soak.THREADS} threads × {soak.EXPLANATIONS_PER_THREAD} explanations across all six",
        "  methods on one shared model: every map equals its single-thread map, no hook remains, no tensor is",
        f"  left alive, and resident memory grows by less than {soak.MEMORY_GROWTH_BOUND_MB} MB.",
    ]
    for group, group_rows in rows.items():
        lines += ["", f"## {group}s", "", "| Input | Result | What the user sees |", "| --- | --- | --- |"]
        lines += [f"| {cell(name)} | {result} | {cell(text)} |" for name, result, text in group_rows]
    return "\n".join(lines) + "\n"


pytestmark = pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the code-running pickle case

_OUTCOMES: dict[tuple[str, str], tuple[str, str]] = {}
"""Outcomes of the cases that ``test_case`` already ran and checked, reused for the table."""


@pytest.fixture
def env(tmp_path, effnet, monkeypatch) -> Env:
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # in case anything called torch.hub.set_dir
    return Env(tmp_path, effnet)


def test_case_names_are_unique():
    names = [(case.group, case.name) for case in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=[f"{case.group}: {case.name}" for case in CASES])
def test_case(case, env):
    _OUTCOMES[case.group, case.name] = outcome(case, env)


def test_docs_inputs_table_is_current(tmp_path_factory, effnet, monkeypatch):
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    rows: dict[str, list[tuple[str, str, str]]] = {}
    for index, case in enumerate(CASES):
        known = _OUTCOMES.get((case.group, case.name))
        result, text = known or outcome(case, Env(tmp_path_factory.mktemp(f"case{index}"), effnet))
        rows.setdefault(case.group, []).append((case.name, result, text))
    table = render(rows)
    if os.environ.get("CAMLIB_WRITE_DOCS") == "1":
        DOCS_FILE.parent.mkdir(exist_ok=True)
        DOCS_FILE.write_text(table)
    assert DOCS_FILE.is_file(), f"{DOCS_FILE} is missing; write it with: {REGENERATE}"
    assert DOCS_FILE.read_text() == table, f"{DOCS_FILE} is out of date; rewrite it with: {REGENERATE}"
