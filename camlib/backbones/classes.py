"""Class names: from a file (``.txt``, ``.json``, ``.csv``), ImageNet's for ImageNet weights, else
``class 0`` … ``class N−1``; and turning what a user types into a class index."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from torch import Tensor

from camlib.errors import InvalidParameterError, UnknownClassError
from camlib.paths import regular_file

MAX_CLASSES_FILE_BYTES = 16 * 2**20
MAX_CLASS_NAME_CHARACTERS = 200
CLASS_FILE_SUFFIXES = (".txt", ".json", ".csv")


@lru_cache(maxsize=1)
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet class names, from torchvision's weights metadata (no download)."""
    import torchvision

    return tuple(torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def numbered_class_names(count: int) -> tuple[str, ...]:
    return tuple(f"class {index}" for index in range(count))


def read_class_names(path: str | os.PathLike) -> tuple[str, ...]:
    """Class names from ``path``: ``.txt`` one name a line (blank lines at the end ignored); ``.json`` a
    list or ``{"index": name}``; ``.csv`` with columns ``index,name`` (a header row is optional).
    Indices must be exactly 0..N−1 and names unique and non-empty."""
    path = Path(path)
    if path.suffix.lower() not in CLASS_FILE_SUFFIXES:
        raise InvalidParameterError(f"Classes file {path.name} must end in .txt, .json or .csv.")
    regular_file(path, "Classes file")
    if path.stat().st_size > MAX_CLASSES_FILE_BYTES:
        raise InvalidParameterError(f"Classes file {path.name} is larger than {MAX_CLASSES_FILE_BYTES // 2**20} MiB.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError) as error:
        raise InvalidParameterError(f"Classes file {path.name} is not readable UTF-8 text: {error}.") from None
    suffix = path.suffix.lower()
    by_index = _from_json(text, path.name) if suffix == ".json" else _from_csv(text, path.name) if suffix == ".csv" else None
    names = [line.strip() for line in text.splitlines()] if by_index is None else _ordered(by_index, path.name)
    while names and not names[-1]:
        names.pop()
    _check_names(names, path.name)
    return tuple(names)


def _from_json(text: str, shown: str) -> dict[int, str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidParameterError(f"Classes file {shown} is not valid JSON: {error}.") from None
    if isinstance(data, list):
        return {index: data[index] for index in range(len(data))}
    if isinstance(data, dict):
        return {_index(key, shown): value for key, value in data.items()}
    raise InvalidParameterError(f"Classes file {shown} must hold a list of names or an object {{\"0\": name, ...}}.")


def _from_csv(text: str, shown: str) -> dict[int, str]:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if rows and not rows[0][0].strip().isdigit():
        rows = rows[1:]  # a header, e.g. index,name
    by_index: dict[int, str] = {}
    for row in rows:
        if len(row) < 2:
            raise InvalidParameterError(f"Classes file {shown}: each row needs an index and a name, got {row!r}.")
        index = _index(row[0], shown)
        if index in by_index:
            raise InvalidParameterError(f"Classes file {shown} gives class {index} twice.")
        by_index[index] = ",".join(row[1:])
    return by_index


def _index(value, shown: str) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise InvalidParameterError(f"Classes file {shown}: '{text[:40]}' is not a class index (0, 1, 2, ...).")
    return int(text)


def _ordered(by_index: dict[int, object], shown: str) -> list[str]:
    if sorted(by_index) != list(range(len(by_index))):
        gaps = sorted(set(range(max(by_index, default=-1) + 1)) - set(by_index))[:3]
        raise InvalidParameterError(f"Classes file {shown} must give every index from 0 to N−1 once; missing {gaps}.")
    names = [by_index[index] for index in range(len(by_index))]
    if not all(isinstance(name, str) for name in names):
        raise InvalidParameterError(f"Classes file {shown}: every class name must be text.")
    return [name.strip() for name in names]


def _check_names(names: list[str], shown: str) -> None:
    if not names:
        raise InvalidParameterError(f"Classes file {shown} holds no class names.")
    empty = [i for i, name in enumerate(names) if not name]
    if empty:
        raise InvalidParameterError(f"Classes file {shown}: class {empty[0]} has an empty name.")
    long = [i for i, name in enumerate(names) if len(name) > MAX_CLASS_NAME_CHARACTERS]
    if long:
        raise InvalidParameterError(f"Classes file {shown}: the name of class {long[0]} is longer than {MAX_CLASS_NAME_CHARACTERS} characters.")
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise InvalidParameterError(f"Classes file {shown}: classes {seen[name]} and {index} are both named '{name}'.")
        seen[name] = index


def class_names_for(classes, count: int, *, imagenet_weights: bool) -> tuple[str, ...]:
    """The names of a head with ``count`` outputs: from ``classes`` (a file, a sequence, or ``"imagenet"``),
    else ImageNet's for ImageNet weights, else numbered. A list whose length is not ``count`` is refused."""
    if classes is None:
        names = imagenet_class_names() if imagenet_weights and count == 1000 else numbered_class_names(count)
        source = "ImageNet"
    elif isinstance(classes, str) and classes == "imagenet":
        names, source = imagenet_class_names(), "ImageNet's class list"
    elif isinstance(classes, str | os.PathLike):
        names, source = read_class_names(classes), f"Classes file {Path(classes).name}"
    else:
        names, source = tuple(str(name) for name in classes), "The class list"
        _check_names(list(names), source)
    if len(names) != count:
        raise InvalidParameterError(f"{source} has {len(names)} names, but the model's head has {count} outputs.")
    return tuple(names)


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


def class_index_in(names: Sequence[str], value, model_name: str = "the model") -> int:
    """A class index from an integer (Python, numpy or a one-element tensor), a numeric string, or a
    class name. An exact name wins over a case-insensitive match (``cardigan`` is the sweater,
    ``Cardigan`` the corgi); a name that matches several classes lists them."""
    index = as_class_index(value)
    if index is None:
        if not isinstance(value, str):
            raise UnknownClassError(f"A class must be an integer index or a class name, not {type(value).__name__} {value!r}.")
        if _INTEGER_TEXT.fullmatch(value.strip()):
            index = int(value.strip())
    if index is not None:
        if 0 <= index < len(names):
            return index
        raise UnknownClassError(f"Class index {index} does not exist: {model_name} has classes 0 to {len(names) - 1}.")
    return class_by_name(tuple(names), value)


def _shown_name(value: str) -> str:
    """A name as typed, with invisible or look-alike characters spelled out (``'c\\u0430t'``, U+0430 CYRILLIC ...)."""
    odd = [c for c in dict.fromkeys(value) if not (c.isascii() and c.isprintable())]
    if not odd:
        return f"'{value}'"
    import unicodedata

    named = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in odd[:4])
    return f"{ascii(value)} (it holds {named})"


def class_by_name(names: tuple[str, ...], value: str) -> int:
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
    raise UnknownClassError(f"No class named {_shown_name(value)}. Give an index 0-{len(names) - 1} or one of the model's class names.")
