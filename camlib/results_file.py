"""Reading one results CSV without trusting it: its size, its camlib-config line and its cells are bounded
and checked before anything is built from them (see :func:`read_results_file`). :mod:`camlib.results`
builds resume, merge and the configuration checks on this."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

from camlib.errors import InvalidParameterError
from camlib.paths import printable as _printable
from camlib.paths import regular_file

MAX_RESULTS_BYTES = 256 * 2**20
"""Largest results CSV read (256 MiB, checked before reading; the 50,000 ImageNet validation images with
six methods and three baselines take about 150 MB). Each cell is bounded by Python's csv field limit
(131,072 characters)."""
MAX_CONFIG_CHARS = 1_000_000
MAX_CONFIG_DEPTH = 20
"""Longest and deepest camlib-config line (camlib's own nest 3 levels and take a few kilobytes)."""
TEXT_COLUMNS = frozenset({"file", "method", "error", "kind"})
"""The columns of a results CSV that hold text; every other one holds a number or nothing."""

CONFIG_PREFIX = "# camlib-config: "
class ResultsError(InvalidParameterError):
    """A results CSV is damaged, or was computed with another configuration than the one asked for."""


class ResultsFile:
    """One results CSV as read: its configuration, header, complete rows and whether a cut-short last
    line was left out (``dropped_partial_line``)."""

    def __init__(self, path: Path, config: dict | None, fields: list[str], rows: list[dict], dropped_partial_line: bool, body_end: int) -> None:
        self.path = path
        self.config = config
        self.fields = fields
        self.rows = rows
        self.dropped_partial_line = dropped_partial_line
        self.body_end = body_end  # bytes up to the end of the last complete line


def read_results_file(path: str | os.PathLike) -> ResultsFile:
    """Read one results CSV, leaving out a last line that has no newline (written in part).

    Bounded before parsing: the file's size (:data:`MAX_RESULTS_BYTES`), the configuration line's length
    and nesting, each cell's length (the csv module's field limit); every column but :data:`TEXT_COLUMNS` must
    hold numbers. Anything else is a :class:`ResultsError` naming the file and the line."""
    path = Path(path)
    shown = _printable(path)
    regular_file(path, "Results file", ResultsError)
    size = path.stat().st_size
    if size > MAX_RESULTS_BYTES:
        raise ResultsError(f"{shown} is {size:,} bytes, larger than the {MAX_RESULTS_BYTES // 2**20} MiB camlib reads as a results CSV.")
    with open(path, "rb") as handle:
        data = handle.read(min(size, MAX_RESULTS_BYTES) + 1)  # a file that grew since stat() is still bounded
    if len(data) > MAX_RESULTS_BYTES:
        raise ResultsError(f"{shown} grew past the {MAX_RESULTS_BYTES // 2**20} MiB camlib reads as a results CSV.")
    end = len(data) if not data or data.endswith(b"\n") else data.rfind(b"\n") + 1
    text = data[:end].decode("utf-8", "surrogateescape")  # image names that are not UTF-8 stay byte for byte
    lines = io.StringIO(text, newline="")
    config = None
    first = lines.readline()
    if first.startswith(CONFIG_PREFIX):
        config = _parse_config(first[len(CONFIG_PREFIX) :], shown)
    else:
        lines.seek(0)
    header, rows = _parse_rows(lines, shown, config is not None)
    return ResultsFile(path, config, header, rows, end < len(data), end)


def _parse_rows(lines: io.StringIO, shown: str, offset: int) -> tuple[list[str], list[dict]]:
    reader = csv.reader(lines)
    rows: list[dict] = []
    try:
        header = next(reader, None)
        if header is None:
            return [], []
        if not {"file", "method"} <= set(header):
            raise ResultsError(f"{shown} is not a camlib results CSV: its header has no 'file' and 'method' columns.")
        numeric = [i for i, name in enumerate(header) if name not in TEXT_COLUMNS]
        for values in reader:
            if not values:
                continue
            where = f"{shown}, line {reader.line_num + offset}"
            if len(values) != len(header):
                raise ResultsError(f"{where}: {len(values)} fields where the header has {len(header)}; the file is damaged.")
            for i in numeric:
                if values[i] and not _is_number(values[i]):
                    raise ResultsError(f"{where}: column {header[i]} holds {_printable(values[i][:40])!r}, not a number; the file is damaged.")
            rows.append(dict(zip(header, values)))
    except csv.Error as error:
        raise ResultsError(f"{shown}, line {reader.line_num + offset}: not a readable CSV ({error}); the file is damaged.") from None
    return header, rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_config(text: str, shown: str) -> dict:
    """The camlib-config line as a dict of the expected shape, or a :class:`ResultsError`."""
    damaged = f"{shown}: its camlib-config line is damaged"
    if len(text) > MAX_CONFIG_CHARS:
        raise ResultsError(f"{damaged} (longer than {MAX_CONFIG_CHARS:,} characters).")
    if _nesting(text) > MAX_CONFIG_DEPTH:
        raise ResultsError(f"{damaged} (nested deeper than {MAX_CONFIG_DEPTH} levels).")
    try:
        config = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError):
        raise ResultsError(f"{damaged} (not JSON).") from None
    if not isinstance(config, dict):
        raise ResultsError(f"{damaged} (not a JSON object).")
    params = config.get("params", {})
    if not isinstance(params, dict) or not all(isinstance(value, dict) for value in params.values()):
        raise ResultsError(f"{damaged} (\"params\" must map each method to its settings, got {shown_value(params)[:60]}).")
    return config


def _nesting(text: str) -> int:
    """How deep brackets nest in ``text`` (strings ignored), counted without recursion."""
    depth = deepest = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif mark in "]}":
            depth -= 1
    return deepest


def shown_value(value) -> str:
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
