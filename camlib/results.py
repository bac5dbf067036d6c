"""Per-image result rows on disk: the CSV that ``evaluate`` appends to, resumes from and merges."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

from camlib.errors import InvalidParameterError


def completed_rows(out: Path) -> set[tuple[str, str]]:
    if not out.is_file():
        return set()
    with open(out, newline="") as handle:
        return {(row["file"], row["method"]) for row in csv.DictReader(handle)}


def read_rows(paths: Iterable[str | os.PathLike]) -> list[dict]:
    """Rows of one or more result CSVs; a (file, method) pair seen twice keeps its last row."""
    rows: dict[tuple[str, str], dict] = {}
    for path in paths:
        if not Path(path).is_file():
            raise InvalidParameterError(f"No such results file: {path}")
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows[(row["file"], row["method"])] = row
    return list(rows.values())


def rows_on_common_images(rows: list[dict]) -> list[dict]:
    """Only the rows of images that every method scored without error, for a like-for-like table."""
    methods = {row["method"] for row in rows}
    scored: dict[str, set[str]] = {}
    for row in rows:
        if not row.get("error"):
            scored.setdefault(row["file"], set()).add(row["method"])
    common = {name for name, done in scored.items() if done == methods}
    return [row for row in rows if row["file"] in common]
