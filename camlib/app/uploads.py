"""A visitor's own model: a timm or torchvision architecture named in a box, with an uploaded state dict and
class-names file. On by default; the operator turns uploads off with ``CAMLIB_APP_UPLOADS=0``.

Sizes are bounded before anything is written; weights are read by camlib's loader (``weights_only=True``, or
safetensors), never unpickled; a visitor can name only ``timm:`` and ``torchvision:`` architectures, never a
Python factory (``module:function`` is for the operator's models file).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from camlib.app.models import ModelChoice
from camlib.errors import InvalidParameterError

UPLOADS_ENV = "CAMLIB_APP_UPLOADS"  # "0", "false", "no" or "off": no model uploads
MAX_WEIGHTS_MB_ENV = "CAMLIB_APP_MAX_WEIGHTS_MB"
DEFAULT_MAX_WEIGHTS_MB = 600  # a VGG16 state dict is 528 MB
MAX_CLASSES_MB = 2
WEIGHTS_TYPES = ["pth", "pt", "bin", "safetensors"]
CLASSES_TYPES = ["txt", "json", "csv"]
ARCHITECTURE_SOURCES = ("timm", "torchvision")
_ARCHITECTURE = re.compile(r"(timm|torchvision):[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}")
UPLOAD_FOLDER = Path(tempfile.gettempdir()) / "camlib-app-uploads"
MAX_FOLDER_MB_ENV = "CAMLIB_APP_MAX_UPLOADS_MB"
DEFAULT_MAX_FOLDER_MB = 4096  # all saved uploads together; the oldest go first


def uploads_enabled() -> bool:
    """Whether visitors may upload a model (on unless the operator sets ``CAMLIB_APP_UPLOADS=0``)."""
    return os.environ.get(UPLOADS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def max_weights_mb() -> int:
    """The largest state dict accepted, in MB: ``CAMLIB_APP_MAX_WEIGHTS_MB`` or 600."""
    text = os.environ.get(MAX_WEIGHTS_MB_ENV, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_WEIGHTS_MB


def architecture_text(text: str) -> str:
    """``timm:NAME`` or ``torchvision:NAME`` as typed (spaces trimmed); raises with one line for anything else."""
    cleaned = (text or "").strip()
    if not _ARCHITECTURE.fullmatch(cleaned):
        raise InvalidParameterError(
            f"{cleaned or 'An empty name'!r} is not an architecture the app can build: write timm:NAME "
            "(e.g. timm:resnet18) or torchvision:NAME (e.g. torchvision:resnet50)."
        )
    return cleaned


def check_size(data: bytes, file_name: str, limit_mb: int, what: str) -> None:
    if not data:
        raise InvalidParameterError(f"{file_name} is empty (0 bytes).")
    if len(data) > limit_mb * 2**20:
        raise InvalidParameterError(
            f"{file_name} is {len(data) / 2**20:.0f} MB: {what} files are limited to {limit_mb} MB on this server."
        )


def save_upload(data: bytes, file_name: str, *, root: Path | None = None) -> Path:
    """Write an upload under a folder named by its hash, keeping the user's file name (cleaned), so that every
    message about it names the file the user chose. Written to a partial file and renamed: never half a file.
    The saved uploads together stay under ``CAMLIB_APP_MAX_UPLOADS_MB`` (4096 MB): the oldest are removed first."""
    root = root or UPLOAD_FOLDER
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file_name).name).strip("._") or "upload"
    folder = root / hashlib.sha256(data).hexdigest()[:24]
    path = folder / safe_name
    if not path.is_file():
        make_room(root, len(data), _max_folder_bytes())
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{safe_name}.part"
        partial.write_bytes(data)
        partial.replace(path)
    return path


def _max_folder_bytes() -> int:
    text = os.environ.get(MAX_FOLDER_MB_ENV, "").strip()
    return (int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_FOLDER_MB) * 2**20


def make_room(root: Path, needed: int, limit: int) -> None:
    """Remove the oldest saved uploads until ``needed`` more bytes fit under ``limit``."""
    saved = [path for path in root.glob("*/*") if path.is_file()] if root.is_dir() else []
    files = sorted(saved, key=lambda path: path.stat().st_mtime)
    total = sum(path.stat().st_size for path in files)
    for path in files:
        if total + needed <= limit:
            return
        total -= path.stat().st_size
        path.unlink(missing_ok=True)


def uploaded_choice(architecture: str, weights: tuple[str, bytes] | None, classes: tuple[str, bytes] | None) -> ModelChoice:
    """The model choice for an architecture and uploaded ``(file name, bytes)`` files, after checking the name and
    the sizes; raises :class:`InvalidParameterError` with one line."""
    spec = architecture_text(architecture)
    if weights is None:
        raise InvalidParameterError(
            f"Upload a state dict for {spec} (.pth, .pt, .bin or .safetensors): random weights explain nothing."
        )
    check_size(weights[1], weights[0], max_weights_mb(), "weights")
    if classes is not None:
        check_size(classes[1], classes[0], MAX_CLASSES_MB, "class-name")
    weights_path = save_upload(weights[1], weights[0])
    classes_path = save_upload(classes[1], classes[0]) if classes is not None else None
    return ModelChoice(spec, str(weights_path), str(classes_path) if classes_path else None)


def save_uploaded_weights(backbone_key: str, data: bytes, file_name: str) -> Path:
    """A built-in backbone's uploaded state dict, saved as :func:`save_upload` does (after the size check)."""
    check_size(data, file_name, max_weights_mb(), "weights")
    return save_upload(data, file_name)


def choice_label(choice: ModelChoice) -> str:
    """How the model box names an uploaded model: "timm:resnet18 · my_weights.pth"."""
    return f"{choice.spec} · {choice.weights_name}" if choice.weights else choice.spec
