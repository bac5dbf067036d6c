"""Named models in a small TOML file, for the CLI (``--model NAME``) and the app.

::

    [models.digits]
    architecture = "camlib.examples.digits:build"   # or "timm:resnet18", "torchvision:resnet50"
    weights = "digits.safetensors"                 # relative paths: relative to the TOML file's folder
    classes = "digits_classes.txt"                 # or "imagenet"
    display_name = "Digits CNN (example)"
    layer = "features.4"                           # optional
    input_size = 64                                # optional preprocessing overrides
    mean = [0.5, 0.5, 0.5]
    std = [0.5, 0.5, 0.5]
    interpolation = "bilinear"
    fixed_size = true                              # the model takes only input_size x input_size

The built-in file ``camlib/examples/models.toml`` is read when it exists; a user's file (``--models-file``
or the environment variable ``CAMLIB_MODELS``) is merged over it. Unknown keys are refused.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from camlib.backbones.spec import BACKBONES, IMAGENET_CLASSES, BackboneSpec, check_preprocessing_values, parse_model_text
from camlib.errors import InvalidParameterError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MODELS_ENV = "CAMLIB_MODELS"
BUILTIN_MODELS_FILE = Path(__file__).resolve().parent.parent / "examples" / "models.toml"
MAX_MODELS_FILE_BYTES = 1 << 20
ENTRY_KEYS = {
    "architecture", "weights", "classes", "display_name", "layer", "input_size", "mean", "std", "interpolation", "fixed_size",
}  # fmt: skip
INTERPOLATIONS = ("bilinear", "bicubic", "nearest")


def read_models_file(path: str | os.PathLike) -> dict[str, BackboneSpec]:
    """The models a TOML file names, as specs (weights and classes paths made absolute)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidParameterError(f"Models file not found: {path}")
    if path.stat().st_size > MAX_MODELS_FILE_BYTES:
        raise InvalidParameterError(f"Models file {path.name} is larger than 1 MiB.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InvalidParameterError(f"Models file {path.name} is not valid TOML: {error}.") from None
    unknown = set(data) - {"models"}
    if unknown or not isinstance(data.get("models", {}), dict):
        raise InvalidParameterError(f"Models file {path.name}: only [models.NAME] tables are allowed (found {', '.join(sorted(unknown)) or 'models'}).")
    return {name: _entry(name, entry, path) for name, entry in data.get("models", {}).items()}


def _entry(name: str, entry, path: Path) -> BackboneSpec:
    where = f"Models file {path.name}, [models.{name}]"
    if not isinstance(entry, dict):
        raise InvalidParameterError(f"{where} must be a table.")
    if name in BACKBONES or ":" in name:
        raise InvalidParameterError(f"{where}: '{name}' is a built-in backbone's key or holds ':'; choose another name.")
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        raise InvalidParameterError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(ENTRY_KEYS))}.")
    if not isinstance(entry.get("architecture"), str):
        raise InvalidParameterError(f"{where} needs architecture = \"timm:NAME\", \"torchvision:NAME\" or \"module:function\".")
    _check_types(entry, where)
    try:
        check_preprocessing_values(entry.get("input_size"), entry.get("mean"), entry.get("std"))
    except InvalidParameterError as error:
        raise InvalidParameterError(f"{where}: {error}") from None
    base = parse_model_text(entry["architecture"])
    classes = entry.get("classes")
    return dataclasses.replace(
        base,
        key=name,
        display_name=entry.get("display_name", name),
        default_layer=entry.get("layer", base.default_layer),
        input_size=entry.get("input_size", base.input_size),
        mean=tuple(entry["mean"]) if "mean" in entry else base.mean,
        std=tuple(entry["std"]) if "std" in entry else base.std,
        interpolation=entry.get("interpolation", base.interpolation),
        fixed_size=entry.get("fixed_size", base.fixed_size),
        weights=_relative(path, entry["weights"]) if "weights" in entry else None,
        classes=classes if classes in (None, IMAGENET_CLASSES) else _relative(path, classes),
        builtin=False,
        lite_package=False,
    )


def _check_types(entry: dict, where: str) -> None:
    for key in ("weights", "classes", "display_name", "layer", "interpolation"):
        if key in entry and not isinstance(entry[key], str):
            raise InvalidParameterError(f"{where}: {key} must be text.")
    if "fixed_size" in entry and not isinstance(entry["fixed_size"], bool):
        raise InvalidParameterError(f"{where}: fixed_size must be true or false.")
    if entry.get("interpolation", "bilinear") not in INTERPOLATIONS:
        raise InvalidParameterError(f"{where}: interpolation must be one of {', '.join(INTERPOLATIONS)}.")


def _relative(toml_path: Path, value: str) -> Path:
    given = Path(value).expanduser()
    return given if given.is_absolute() else (toml_path.parent / given).resolve()


def named_models(models_file: str | os.PathLike | None = None) -> dict[str, BackboneSpec]:
    """The built-in example file's models, with ``models_file`` (else ``$CAMLIB_MODELS``) merged over them."""
    models = read_models_file(BUILTIN_MODELS_FILE) if BUILTIN_MODELS_FILE.is_file() else {}
    user = models_file or os.environ.get(MODELS_ENV) or None
    if user:
        models.update(read_models_file(user))
    return models
