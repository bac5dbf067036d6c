"""Labels given by class name: a ``labels.csv`` row's ``class_name`` turned into the model's class index.

A name matches exactly, else case-insensitively, and must match one class. Substrings never match (a
typo must not pick a class). Where a row gives a ``class_index`` it wins and ``class_name`` is not read:
labels files often carry a name for people beside the index (ImageNet's ``labels.csv`` does).
"""

from __future__ import annotations

from camlib.errors import InvalidParameterError


def index_of_class_name(record: dict, value: str, names: list[str] | None, where: str, printable=str) -> str:
    """``value`` (the class_index text), or the index of the row's ``class_name`` among ``names``."""
    name = (record.get("class_name") or "").strip()
    if value or not name:
        return value
    if names is None:
        raise InvalidParameterError(f"{where}: a class_name needs the model's class names to be turned into an index.")
    matches = [i for i, known in enumerate(names) if known == name] or [i for i, known in enumerate(names) if known.lower() == name.lower()]
    if len(matches) != 1:
        problem = "matches several classes" if matches else "is not one of the model's classes"
        raise InvalidParameterError(f"{where}: class_name '{printable(name)}' {problem}.")
    return str(matches[0])
