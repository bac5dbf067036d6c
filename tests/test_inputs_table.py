"""Every input class camlib was tried with, and what happened: the tables in docs/inputs.md.

Each :class:`Case` is run here, checked against what it must give (works, or refused with a given
error class and message), and becomes one row of docs/inputs.md. ``test_docs_inputs_table_is_current``
fails when the file differs from what the cases give now, so the document cannot drift from the code.
To rewrite it after a change:

    CAMLIB_WRITE_DOCS=1 python -m pytest -q tests/test_inputs_table.py
"""

from __future__ import annotations

import csv
import os
import pickle
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
import torchvision
from budgets import (
    CLI_FUZZ_EXAMPLES,
    IMAGES_FUZZ_EXAMPLES,
    SOAK_EXPLANATIONS_PER_THREAD,
    SOAK_MEMORY_GROWTH_BOUND_MB,
    SOAK_THREADS,
)
from conftest import REPO_ROOT
from image_samples import (
    BOMBS,
    RED,
    encode,
    exif_rotated_jpeg,
    many_page_tiff,
    noise,
    palette_with_transparency,
    sixteen_bit_png,
    two_frames,
)
from PIL import Image

from camlib.backbones import DOWNLOAD_TIMEOUT_S, MAX_WEIGHTS_BYTES, Backbone, backbone_spec, load_backbone
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
from camlib.backbones.preprocess import MAX_RESOLUTION, MIN_RESOLUTION
from camlib.dataset import MAX_LABEL_ROWS, MAX_LABELS_BYTES
from camlib.explain import build_method, explain
from camlib.pointing import MAX_SIZE, MIN_SIZE
from camlib.results import MAX_CONFIG_CHARS, MAX_CONFIG_DEPTH, MAX_RESULTS_BYTES
from camlib.images import MAX_FILE_BYTES, MAX_MEGAPIXELS, load_image_with_notes

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
    run: Callable[[Env], str | tuple[str, str]]  # what happened when it works, or (exit status, output) for the
    # command line; raises CamlibError when refused
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
        "Weights with a NaN (refused when loaded)",
        nan_weights_then_explain,
        WeightsError,
        "NaN or infinite values",
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


METHOD_CALL_CASES = [  # (case name, method, method_call's arguments, error, message): a method built and run on EfficientNet-Lite0
    ("Class index 1000 given to a method directly", "gradcam", {"target": 1000}, UnknownClassError, "does not exist"),
    ("Unknown layer 'blocks.99'", "gradcam", {"layer": "blocks.99"}, UnknownLayerError, "Unknown layer"),
    ("Layer without spatial output ('classifier')", "gradcam", {"layer": "classifier"}, UnknownLayerError, "not a spatial map"),
    (
        "Grad++ScoreCAM top_k=2000 at a 1280-channel layer",
        "gradpp_scorecam",
        {"top_k": 2000},
        InvalidParameterError,
        "larger than the layer's 1280 channels",
    ),
    ("Grad++ScoreCAM top_k=0", "gradpp_scorecam", {"top_k": 0}, InvalidParameterError, "top_k"),
    ("Score-CAM batch_size=0", "scorecam", {"batch_size": 0}, InvalidParameterError, "batch_size"),
    ("Score-CAM sampled_channels=1", "scorecam", {"sampled_channels": 1}, InvalidParameterError, "sampled_channels must be at least 2"),
    ("Grad++ScoreCAM batch_size=0", "gradpp_scorecam", {"batch_size": 0}, InvalidParameterError, "batch_size"),
    ("Score-CAM perturbation_size=4", "scorecam", {"perturbation_size": 4}, InvalidParameterError, "at least 8"),
    ("SmoothGrad-CAM++ n_samples=0", "smoothgradcampp", {"n_samples": 0}, InvalidParameterError, "n_samples"),
    ("A batch of 0 images", "gradcam", {"batch": 0}, InvalidParameterError, "empty"),
    ("Input with NaN pixels (non-finite model outputs)", "gradcam", {"nan": True}, InvalidParameterError, "non-finite"),
    ("Unknown method 'gradcam3'", "gradcam3", {}, UnknownMethodError, "Choose from"),
]

PARAMETER_CASES = [
    Case("Parameter", "Class index 1000 (ImageNet has 0-999)", class_lookup(1000), UnknownClassError, "does not exist"),
    Case("Parameter", "Class index -1", class_lookup(-1), UnknownClassError, "does not exist"),
    Case("Parameter", "Class name 'unicorn'", class_lookup("unicorn"), UnknownClassError, "No class named"),
    Case("Parameter", "Ambiguous class name 'cat'", class_lookup("cat"), UnknownClassError, "ambiguous"),
    *(
        Case("Parameter", name, method_call(key, **arguments), error, expect)
        for name, key, arguments, error, expect in METHOD_CALL_CASES
    ),
    Case("Parameter", "CAM on VGG16 (no global-average-pooling head)", cam_on_vgg16, MethodNotApplicableError, "Grad-CAM"),
]



# -- second hardening round (issue 13) ------------------------------------------------------------------------


def sparse_file(name: str, size: int) -> Callable[[Env], Path]:
    def make(env: Env) -> Path:
        path = env.folder / name
        with open(path, "wb") as handle:
            handle.truncate(size)
        return path

    return make


def load_sparse_image(env: Env) -> str:
    from camlib.images import MAX_FILE_BYTES

    return describe(load_image_with_notes(sparse_file("huge.png", MAX_FILE_BYTES + 1)(env)))


def non_utf8_name(env: Env) -> str:
    path = env.folder / b"caf\xe9.png".decode("utf-8", "surrogateescape")
    path.write_bytes(encode(PHOTO))
    return describe(load_image_with_notes(path))


HARDENING_IMAGE_CASES = [
    Case("Image", "File of 256 MiB + 1 byte (sparse), refused from its size before reading", load_sparse_image, ImageLoadError, "larger than 256 MiB"),
    image_case("Multi-page TIFF of 3000 pages (pages counted up to 1000)", "pages.tif", lambda: many_page_tiff(3000), False, "more than 1000 pages"),
    Case("Image", "A folder given as the image", lambda env: describe(load_image_with_notes(env.folder)), ImageLoadError, "is a folder"),
    Case("Image", "File name with a byte that is not UTF-8", non_utf8_name, None, "64×48 RGB"),
]


def inflating_weights(env: Env, path: Path) -> None:
    """A torch.save archive whose central directory declares an entry of 4 GiB (the file stays small)."""
    torch.save({"w": torch.zeros(2)}, path)
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the first central-directory entry
    data[entry + 24 : entry + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # its uncompressed size
    path.write_bytes(bytes(data))


def sparse_weights(env: Env, path: Path) -> None:
    from camlib.backbones import MAX_WEIGHTS_BYTES

    with open(path, "wb") as handle:
        handle.truncate(MAX_WEIGHTS_BYTES + 1)


def download_without_answer(env: Env) -> str:
    import socket
    from types import SimpleNamespace
    from unittest import mock

    import camlib.backbones.downloads

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts the connection, never answers
    url = f"http://127.0.0.1:{server.getsockname()[1]}/resnet50-11ad3fa6.pth"
    previous = os.environ.get("TORCH_HOME")
    os.environ["TORCH_HOME"] = str(env.torch_home)
    try:
        with mock.patch.object(camlib.backbones.downloads, "DOWNLOAD_TIMEOUT_S", 0.5), mock.patch.object(
            camlib.backbones.downloads, "torchvision_weights_enum", lambda spec: SimpleNamespace(url=url)
        ):
            load_backbone("resnet50", allow_download=True, device="cpu")
    except WeightsUnavailableError as error:
        raise WeightsUnavailableError(str(error).replace(url, "a server that never answers")) from None
    finally:
        server.close()
        if previous is None:
            del os.environ["TORCH_HOME"]
        else:
            os.environ["TORCH_HOME"] = previous
    return "Loaded."


HARDENING_WEIGHTS_CASES = [
    weights_case("Archive whose entries would unpack to 4 GiB (checked before torch.load)", inflating_weights, WeightsError, "would unpack to 4.0 GiB"),
    weights_case("File of 1 GiB + 1 byte (sparse)", sparse_weights, WeightsError, "larger than the 1 GiB"),
    Case("Weights file", "Download from a server that accepts the connection and never answers", download_without_answer, WeightsUnavailableError, "timed out"),
]


def explain_call(key: str = "gradcam", *, methods=None, target=None, **params) -> Callable[[Env], str]:
    def run(env: Env) -> str:
        chosen = methods or [key]
        explanation = explain(env.effnet, Image.new("RGB", (32, 32), RED), methods=chosen, target=target, method_params={key: params})
        return f"Class {explanation.target_class}."

    return run


def inputs_call(channels: int) -> Callable[[Env], str]:
    def run(env: Env) -> str:
        maps = build_method("gradcam", env.effnet)(torch.zeros(1, channels, 32, 32), [1])
        return f"A {maps.shape[2]}×{maps.shape[1]} map."

    return run


def auc_target(target) -> Callable[[Env], str]:
    def run(env: Env) -> str:
        from camlib.metrics import deletion_insertion_auc

        inputs = env.effnet.preprocess(Image.new("RGB", (32, 32), RED))
        insertion, _ = deletion_insertion_auc(env.effnet.model, inputs, np.ones((224, 224)), target, steps=2)
        return f"Insertion AUC {insertion:.2f}."

    return run


def top_k_call(k) -> Callable[[Env], str]:
    return lambda env: str(env.effnet.top_predictions(env.effnet.preprocess(Image.new("RGB", (32, 32), RED)), k=k)[0][0])


HARDENING_PARAMETER_CASES = [
    Case("Parameter", "Class name 'cardigan' (exact match wins over 'Cardigan', the corgi)", class_lookup("cardigan"), None, "Class 474."),
    Case("Parameter", "Class name 'CARDIGAN' (two case-insensitive matches)", class_lookup("CARDIGAN"), UnknownClassError, "Cardigan (264), cardigan (474)"),
    Case("Parameter", "Class '²' (a digit that is not 0-9)", class_lookup("²"), UnknownClassError, "No class named"),
    Case("Parameter", "Class index as numpy.int64(281)", class_lookup(np.int64(281)), None, "Class 281."),
    Case("Parameter", "Class index as a 0-d tensor", class_lookup(torch.tensor(281)), None, "Class 281."),
    Case("Parameter", "Class index 2.5", class_lookup(2.5), UnknownClassError, "integer index or a class name"),
    Case("Parameter", "Class index numpy.int64 given to explain(target=...)", explain_call(target=np.int64(281)), None, "Class 281."),
    Case("Parameter", "Target classes [2.5] given to a method", method_call("gradcam", target=2.5), UnknownClassError, "must be integers"),
    Case("Parameter", "Grad++ScoreCAM top_k=2.5", method_call("gradpp_scorecam", top_k=2.5), InvalidParameterError, "top_k must be an integer or none"),
    Case("Parameter", "Grad++ScoreCAM top_k=1e3 (a float)", method_call("gradpp_scorecam", top_k=1e3), InvalidParameterError, "top_k must be an integer"),
    Case("Parameter", "Grad++ScoreCAM top_k='abc'", method_call("gradpp_scorecam", top_k="abc"), InvalidParameterError, "top_k must be an integer"),
    Case("Parameter", "SmoothGrad-CAM++ noise_level=nan", method_call("smoothgradcampp", noise_level=float("nan")), InvalidParameterError, "finite"),
    Case("Parameter", "Score-CAM perturbation_size=100000", method_call("scorecam", perturbation_size=100_000), InvalidParameterError, "at most 1024"),
    Case("Parameter", "Unknown parameter name (Grad-CAM top_k=3)", method_call("gradcam", top_k=3), InvalidParameterError, "has no parameter 'top_k'"),
    Case("Parameter", "Parameter that clashes with the method's own argument (model)", method_call("scorecam", model=None), InvalidParameterError, "set by camlib"),
    Case(
        "Parameter",
        "Parameters for a misspelt method ('scorecamm') given to explain()",
        explain_call("scorecamm", methods=["gradcam"], batch_size=8),
        UnknownMethodError,
        "Unknown method 'scorecamm'",
    ),
    Case("Parameter", "Layer whose output is 1×1 ('global_pool.pool')", method_call("gradcam", layer="global_pool.pool"), UnknownLayerError, "1×1"),
    Case("Parameter", "Input tensor with 4 channels", inputs_call(4), InvalidParameterError, "4 channels"),
    Case("Parameter", "Unknown device 'gpu'", lambda env: load_backbone("efficientnet_lite0", device="gpu") and "Loaded.", InvalidParameterError, "Unknown device"),
    Case("Parameter", "top_predictions(k=2.5)", top_k_call(2.5), InvalidParameterError, "integer from 1"),
    Case("Parameter", "deletion_insertion_auc(target=-1)", auc_target(-1), InvalidParameterError, "target must be a class index"),
]


def labels_case(name: str, content: bytes, refused: bool, expect: str, names=("a.png",)) -> Case:
    def run(env: Env) -> str:
        from camlib.dataset import LabelLookup, list_images

        folder = env.folder / "images"
        for image in names:
            (folder / image).parent.mkdir(parents=True, exist_ok=True)
            (folder / image).write_bytes(encode(PHOTO))
        (folder / "labels.csv").write_bytes(content)
        files = list_images(folder)
        lookup = LabelLookup(folder, None, files=files, classes=1000)
        return " ".join(f"{path.relative_to(folder).as_posix()}: class {lookup(path)}." for path in files)

    return Case("Evaluation input", name, run, InvalidParameterError if refused else None, expect)


def results_config(layer: str = "conv_head") -> dict:
    from camlib.results import make_config

    return make_config(backbone="efficientnet_lite0", layer=layer, weights={"source": "package"}, method_params={"gradcam": {}},
                       target="predicted", insertion_steps=16)


RESULT_FIELDS = ["file", "target", "method", "base_score", "masked_score", "insertion_auc", "deletion_auc", "seconds", "error"]


def results_file(env: Env, name: str, layer: str = "conv_head", rows=("a.png", "b.png")) -> Path:
    from camlib.results import open_results

    path = env.folder / name
    with open_results(path, RESULT_FIELDS, results_config(layer), resume=False) as writer:
        for image in rows:
            writer.write({"file": image, "target": 1, "method": "gradcam", "base_score": 0.5, "masked_score": 0.25,
                          "insertion_auc": 0.5, "deletion_auc": 0.25, "seconds": 0.125, "error": ""})
    return path


def resume_other_layer(env: Env) -> str:
    from camlib.results import open_results

    open_results(results_file(env, "results.csv"), RESULT_FIELDS, results_config("bn2"), resume=True)
    return "Resumed."


def resume_truncated(env: Env) -> str:
    from camlib.results import open_results

    path = results_file(env, "results.csv")
    path.write_bytes(path.read_bytes()[:-9])  # cut inside the last row
    with open_results(path, RESULT_FIELDS, results_config(), resume=True) as writer:
        kept = sorted(name for name, _ in writer.done)
    return f"The cut-short last row was dropped; rows kept: {', '.join(kept)}; b.png is computed again."


def merge_other_layers(env: Env) -> str:
    from camlib.results import read_rows

    read_rows([results_file(env, "shard0.csv"), results_file(env, "shard1.csv", layer="bn2")])
    return "Merged."


HARDENING_EVALUATE_CASES = [
    labels_case("labels.csv with a byte-order mark (Excel)", b"\xef\xbb\xbffile,class_index\r\na.png,3\r\n", False, "a.png: class 3."),
    labels_case("labels.csv in Latin-1 ('café.png')", "file,class_index\ncafé.png,7\n".encode("latin-1"), False, "café.png: class 7.", names=("café.png",)),
    labels_case("labels.csv with class_index 'abc'", b"file,class_index\na.png,abc\n", True, "line 2: class_index must be a whole number"),
    labels_case("labels.csv with class_index 3.5", b"file,class_index\na.png,3.5\n", True, "got '3.5'"),
    labels_case("labels.csv row with a missing field", b"file,class_index\na.png\n", True, "got ''"),
    labels_case("labels.csv with class_index 1000", b"file,class_index\na.png,1000\n", True, "does not exist"),
    labels_case(
        "Two sub-folders with the same file name, labelled by relative path",
        b"file,class_index\ncats/1.png,281\ndogs/1.png,207\n",
        False,
        "cats/1.png: class 281. dogs/1.png: class 207.",
        names=("cats/1.png", "dogs/1.png"),
    ),
    labels_case(
        "Two sub-folders with the same file name, labelled by base name only",
        b"file,class_index\n1.png,281\n",
        True,
        "2 images have that name",
        names=("cats/1.png", "dogs/1.png"),
    ),
    Case("Evaluation input", "Resuming a results CSV of another layer", resume_other_layer, InvalidParameterError, "another configuration (layer 'conv_head' there, 'bn2'"),
    Case("Evaluation input", "Resuming a results CSV whose last line was cut short", resume_truncated, None, "rows kept: a.png;"),
    Case("Evaluation input", "Merging shard CSVs of two layers", merge_other_layers, InvalidParameterError, "another configuration"),
]


def cli(*argv: str, before: Callable[[Env], None] | None = None, model: bool = False) -> Callable[[Env], tuple[str, str]]:
    """Run ``camlib *argv`` in the scratch folder (in-process); the outcome is (exit status, output)."""

    def run(env: Env) -> tuple[str, str]:
        import contextlib
        import io
        from unittest import mock

        import camlib.cli

        env.file("photo.png", encode(PHOTO))
        if before is not None:
            before(env)
        out, err = io.StringIO(), io.StringIO()
        loader = (lambda *a, **k: env.effnet) if model else camlib.cli.load_model
        cwd = os.getcwd()
        os.chdir(env.folder)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), mock.patch.object(camlib.cli, "load_model", loader):
                code = camlib.cli.main(list(argv))
        finally:
            os.chdir(cwd)
        lines = err.getvalue().splitlines()
        if code == 0:
            return "exit 0", " ".join(line for line in out.getvalue().splitlines() if line.startswith(("Explaining", "Wrote")))
        assert len(lines) == 1, err.getvalue()
        return f"exit {code}", lines[0]

    return run


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def closed_pipe(env: Env) -> tuple[str, str]:
    import subprocess
    import sys

    path = results_file(env, "results.csv")
    read_end, write_end = os.pipe()
    os.close(read_end)
    process = subprocess.run(
        [sys.executable, "-m", "camlib", "evaluate-merge", str(path)],
        stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300, cwd=env.folder, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    os.close(write_end)
    return f"exit {process.returncode}", f"Nothing on stderr ({len(process.stderr)} characters): stops quietly, as Unix tools do."


def ctrl_c(env: Env) -> tuple[str, str]:
    from unittest import mock

    import camlib.cli

    with mock.patch.object(camlib.cli, "load_model", interrupt):
        return cli("explain", "photo.png", "--methods", "gradcam")(env)


NON_UTF8_OUT = b"gr\xe9id.png".decode("utf-8", "surrogateescape")

CLI_CASES = [
    Case("Command line", "--out without an extension", cli("explain", "photo.png", "--out", "grid"), None, "must end in"),
    Case("Command line", "--out with an unknown extension", cli("explain", "photo.png", "--out", "grid.xyz"), None, "must end in"),
    Case("Command line", "--out that is a directory", cli("explain", "photo.png", "--out", "."), None, "is a directory"),
    Case("Command line", "--out whose parent is a file", cli("explain", "photo.png", "--out", "photo.png/grid.png"), None, "is a file, not a folder"),
    Case("Command line", "--out naming the input image", cli("explain", "photo.png", "--out", "photo.png"), None, "is the input image"),
    Case("Command line", "--save-maps without .npz", cli("explain", "photo.png", "--save-maps", "maps"), None, "must end in .npz"),
    Case("Command line", "--out with a byte that is not UTF-8", cli("explain", "photo.png", "--methods", "gradcam", "--out", NON_UTF8_OUT, model=True), None, "Wrote gr\\xe9id.png"),
    Case("Command line", "--param gradpp_scorecam.top_k=2.5", cli("explain", "photo.png", "--methods", "gradpp_scorecam", "--param", "gradpp_scorecam.top_k=2.5"), None, "must be an integer"),
    Case("Command line", "--param smoothgradcampp.noise_level=nan", cli("explain", "photo.png", "--methods", "smoothgradcampp", "--param", "smoothgradcampp.noise_level=nan"), None, "finite"),
    Case("Command line", "--param for a method that is not running", cli("explain", "photo.png", "--methods", "gradcam", "--param", "scorecam.batch_size=8"), None, "not among the methods run"),
    Case("Command line", "--param without '='", cli("explain", "photo.png", "--param", "scorecam.batch_size"), None, "METHOD.NAME=VALUE"),
    Case("Command line", "--class cardigan", cli("explain", "photo.png", "--methods", "gradcam", "--class", "cardigan", model=True), None, "Wrote grid.png"),
    Case("Command line", "Missing argument (usage error)", cli("explain"), None, "required: image"),
    Case("Command line", "evaluate --limit -1", cli("evaluate", ".", "--limit", "-1"), None, "at least 1"),
    Case("Command line", "evaluate --limit 0", cli("evaluate", ".", "--limit", "0"), None, "at least 1"),
    Case("Command line", "evaluate --out onto an input image", cli("evaluate", ".", "--out", "photo.png"), None, "would overwrite an image"),
    Case("Command line", "Ctrl-C", ctrl_c, None, "interrupted (Ctrl-C)"),
    Case("Command line", "evaluate-merge into a closed pipe (| head)", closed_pipe, None, "Nothing on stderr (0 characters)"),
]

def damaged_results(first_line: str | None = None, cell: str = "0.5") -> Callable[[Env], None]:
    """Write ``r.csv``: a results CSV with one row whose base_score is ``cell`` (and ``first_line`` as its
    camlib-config line when given)."""

    def write(env: Env) -> None:
        config = [first_line] if first_line is not None else []
        rows = [",".join(RESULT_FIELDS), f"a.png,1,gradcam,{cell},0.25,0.5,0.25,0.125,"]
        env.file("r.csv", "\n".join(config + rows).encode() + b"\n")

    return write


def sparse_results(env: Env) -> None:
    with open(env.file("big.csv", b"file,method\n"), "r+b") as handle:
        handle.truncate(int(2.5 * 2**30))  # a hole: no disk used


def kubernetes_shard(env: Env) -> tuple[str, str]:
    from unittest import mock

    with mock.patch.dict(os.environ, {"JOB_COMPLETION_INDEX": "0"}):
        return cli("pointing-game", ".", "--shard", "auto")(env)


def fifo(name: str) -> Callable[[Env], None]:
    return lambda env: os.mkfifo(env.folder / name)


def symlink_loop(name: str) -> Callable[[Env], None]:
    return lambda env: os.symlink(env.folder / name, env.folder / name)


def weights_of_another_format(name: str) -> Callable[[Env], str]:
    def run(env: Env) -> str:
        from camlib.backbones.weights import read_state_dict

        path = env.folder / name
        np.save(path, np.zeros(3)) if name.endswith(".npy") else path.write_text('{"conv.weight": [1.0]}')
        read_state_dict(path)
        return "Loaded."

    return run


ROUND3_CASES = [
    Case("Results file", "evaluate-merge: a cell 'abc'", cli("evaluate-merge", "r.csv", before=damaged_results(cell="abc")), None, "not a number"),
    Case("Results file", "evaluate-merge: a 200,000-character cell", cli("evaluate-merge", "r.csv", before=damaged_results(cell="7" * 200_000)), None, "field larger than field limit"),
    Case("Results file", "evaluate-merge: a configuration line nested 100,000 deep", cli("evaluate-merge", "r.csv", before=damaged_results("# camlib-config: " + "[" * 100_000 + "]" * 100_000)), None, "nested deeper than 20"),
    Case("Results file", 'evaluate-merge: "params": "x" in the configuration line', cli("evaluate-merge", "r.csv", before=damaged_results('# camlib-config: {"params": "x"}')), None, '"params" must map'),
    Case("Results file", "evaluate-merge: an empty CSV", cli("evaluate-merge", "r.csv", before=lambda env: env.file("r.csv", b"")), None, "no result rows"),
    Case("Results file", "evaluate-merge: a 2.5 GB sparse CSV, refused from its size", cli("evaluate-merge", "big.csv", before=sparse_results), None, "larger than the 256 MiB"),
    Case("Results file", "evaluate-merge: a named pipe (FIFO)", cli("evaluate-merge", "p.csv", before=fifo("p.csv")), None, "named pipe"),
    Case("Results file", "pointing-game --out onto an input image", cli("pointing-game", ".", "--out", "photo.png"), None, "would overwrite an image"),
    Case("Results file", "pointing-game --size 4096", cli("pointing-game", ".", "--size", "4096"), None, "32..1024"),
    Case("Results file", "pointing-game --shard auto under a Kubernetes Job without --shards", kubernetes_shard, None, "needs --shards N"),
    Case("Path", "A symlink loop as the image", cli("explain", "loop.png", before=symlink_loop("loop.png")), None, "symlink loop"),
    Case("Path", "A symlink loop as --out", cli("explain", "photo.png", "--out", "loop.png", before=symlink_loop("loop.png")), None, "symlink loop"),
    Case("Path", "A named pipe (FIFO) as --weights", cli("explain", "photo.png", "--weights", "w.pth", before=fifo("w.pth")), None, "named pipe"),
    Case("Path", "/dev/zero as --weights", cli("explain", "photo.png", "--weights", "/dev/zero"), None, "is a device"),
    Case("Path", "A folder as --weights", cli("explain", "photo.png", "--weights", "."), None, "is a folder"),
    Case("Path", "A named pipe (FIFO) as --labels", cli("evaluate", ".", "--target", "label", "--labels", "l.csv", "--methods", "center", before=fifo("l.csv"), model=True), None, "named pipe"),
    Case("Path", "weights.json as weights", weights_of_another_format("weights.json"), WeightsError, "JSON or other text"),
    Case("Path", "arr.npy as weights", weights_of_another_format("arr.npy"), WeightsError, "a NumPy array"),
    Case("Command line", "--resolution 0", cli("explain", "photo.png", "--resolution", "0"), None, "32..1024"),
    Case("Command line", "--class with a Cyrillic look-alike ('c\u0430rdigan')", cli("explain", "photo.png", "--methods", "gradcam", "--class", "c\u0430rdigan", model=True), None, "U+0430 CYRILLIC SMALL LETTER A"),
    Case("Command line", "--class with a zero-width space", cli("explain", "photo.png", "--methods", "gradcam", "--class", "cardi\u200bgan", model=True), None, "U+200B ZERO WIDTH SPACE"),
    Case("Command line", "--save-maps /proc/m.npz: no grid left behind", cli("explain", "photo.png", "--methods", "gradcam", "--save-maps", "/proc/m.npz", model=True), None, "Could not write --save-maps /proc/m.npz"),
]

CASES = (
    IMAGE_CASES + HARDENING_IMAGE_CASES + WEIGHTS_CASES + HARDENING_WEIGHTS_CASES + PARAMETER_CASES
    + HARDENING_PARAMETER_CASES + HARDENING_EVALUATE_CASES + CLI_CASES + ROUND3_CASES
)


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
    result = "works"
    if isinstance(text, tuple):  # a command-line case: (exit status, what it printed)
        result, text = text
        text = env.sanitise(text)
    assert case.expect in text, f"{case.name}: {case.expect!r} not in {text!r}"
    return result, text


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: dict[str, list[tuple[str, str, str]]]) -> str:
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
        f"before any pixel is decoded; image files above {MAX_FILE_BYTES // 2**20} MiB (`camlib.images.MAX_FILE_BYTES`)",
        "from their size, before they are read. Weights files above",
        f"{MAX_WEIGHTS_BYTES // 2**30} GiB (`camlib.backbones.MAX_WEIGHTS_BYTES`), on disk or once unpacked, are refused before",
        f"`torch.load`; downloads give up after {DOWNLOAD_TIMEOUT_S} s without an answer. Results CSVs above",
        f"{MAX_RESULTS_BYTES // 2**20} MiB (`camlib.results.MAX_RESULTS_BYTES`) are refused from their size before they are read;",
        f"a cell is bounded by Python's csv field limit ({csv.field_size_limit():,} characters), a camlib-config line by",
        f"{MAX_CONFIG_CHARS:,} characters and {MAX_CONFIG_DEPTH} levels of nesting (checked before JSON parses it), and every",
        "column but file, method, error and kind must hold numbers. Labels files above",
        f"{MAX_LABELS_BYTES // 2**20} MiB (`camlib.dataset.MAX_LABELS_BYTES`) are refused from their size, and above {MAX_LABEL_ROWS:,}",
        "lines (`camlib.dataset.MAX_LABEL_ROWS`) from a count of their lines, before parsing. A path that is a folder, a",
        "named pipe, a device or a symlink loop is named for what it is and never opened. `pointing-game --size`",
        f"takes {MIN_SIZE}..{MAX_SIZE} pixels and `explain --resolution` {MIN_RESOLUTION}..{MAX_RESOLUTION}, both checked before any work.",
        "On the command line every refusal",
        'is one line on stderr with exit status 2 ("exit 2" below), Ctrl-C exits with 130.',
        "",
        "Also tested, beyond these rows:",
        "",
        "- `tests/test_images_fuzz.py` feeds the loader random bytes, valid headers with random bodies and",
        f"  mutated valid files of every format ({IMAGES_FUZZ_EXAMPLES} examples each, plus the inputs earlier",
        "  fuzzing found); only `ImageLoadError` or an RGB image may come out.",
        f"- `tests/test_cli_fuzz.py` draws {CLI_FUZZ_EXAMPLES} `camlib explain` argument lists (image and output paths,",
        "  names that are not UTF-8, directories, classes, layers, methods, parameters, speeds): each must exit 0",
        "  with its output written, or exit 2 with one line on stderr and nothing written.",
        "  The same file drives `camlib evaluate`, `camlib pointing-game` (sizes, grids, shards, outputs, and a",
        "  damaged CSV to resume) and `camlib evaluate-merge` (cut, non-numeric, huge-cell, deeply nested, empty",
        "  and binary CSVs) under the same contract.",
        f"- `tests/test_soak.py` runs {SOAK_THREADS} threads × {SOAK_EXPLANATIONS_PER_THREAD} explanations across all six",
        "  methods on one shared model: every map equals its single-thread map, no hook remains, no tensor is",
        f"  left alive, and resident memory grows by less than {SOAK_MEMORY_GROWTH_BOUND_MB} MB.",
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
