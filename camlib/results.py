"""Per-image result rows on disk: the CSV that ``evaluate`` appends to, resumes from and merges.

The first line of a results CSV records how its rows were computed::

    # camlib-config: {"backbone": "efficientnet_lite0", "camlib": "0.1.0", "layer": "conv_head", ...}

followed by the CSV header and one row per image and method. ``--resume`` and ``evaluate-merge`` refuse,
with one line, to mix rows of another backbone, layer, weights file, target, insertion steps, camlib
version or method parameters (see :func:`check_config`). A last line cut short by a crash or a full disk
(no final newline) is dropped when the file is read or resumed, never glued to the next row.

The API, used by :mod:`camlib.evaluate`:

- :func:`make_config` and :func:`weights_identity` describe a run;
- :func:`open_results` starts or resumes a CSV and returns a :class:`ResultsWriter`;
- :func:`read_results` / :func:`read_rows` read one or more CSVs whose configurations agree;
- :func:`write_results` writes merged rows with their configuration.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Self

from camlib.paths import printable as _printable
from camlib.results_file import (  # noqa: F401 - re-exported: the reading half of this module's API
    CONFIG_PREFIX,
    MAX_CONFIG_CHARS,
    MAX_CONFIG_DEPTH,
    MAX_RESULTS_BYTES,
    TEXT_COLUMNS,
    ResultsError,
    ResultsFile,
    read_results_file,
    shown_value,
)

INFORMATIONAL_KEYS = ("speed",)
"""Configuration keys recorded for people but not compared: ``speed`` only names a set of method
parameters, and the parameters themselves are compared."""


# -- describing a run ----------------------------------------------------------------------------------------


def weights_identity(weights_path: str | os.PathLike | None, default: str) -> dict:
    """What identifies the weights: for a file its name, size and SHA-256 (so a renamed copy still
    matches and a retrained file with the same name does not); else ``default``, a description of the
    backbone's own weights (e.g. ``"torchvision ResNet50_Weights.IMAGENET1K_V2"``)."""
    if weights_path is None:
        return {"source": default}
    path = Path(weights_path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def make_config(
    *,
    backbone: str,
    layer: str,
    weights: Mapping,
    method_params: Mapping[str, Mapping],
    target: str | None = None,
    insertion_steps: int | None = None,
    speed: str | None = None,
    **extra,
) -> dict:
    """The configuration of an evaluate (or pointing-game) run, as recorded in the first line of its CSV.
    ``method_params`` are the parameters each method ran with (after ``--speed`` and ``--param``);
    ``target`` and ``insertion_steps`` (evaluate's) are left out when None."""
    from camlib import __version__

    config = {
        "camlib": __version__,
        "backbone": backbone,
        "layer": layer,
        "weights": dict(weights),
        "target": target,
        "insertion_steps": insertion_steps,
        "params": {key: dict(values or {}) for key, values in method_params.items()},
        **extra,
    }
    if speed is not None:
        config["speed"] = speed
    return _normalised({key: value for key, value in config.items() if value is not None or key not in ("target", "insertion_steps")})


def check_config(found: Mapping | None, expected: Mapping | None, *, where: str, expected_from: str = "this run") -> None:
    """Raise :class:`ResultsError` when ``found`` (the configuration of ``where``) and ``expected``
    differ in anything that changes the numbers: every key but :data:`INFORMATIONAL_KEYS`, and the
    parameters of each method that both hold. ``None`` (no configuration recorded) matches only ``None``."""
    if found is None and expected is None:
        return
    if found is None or expected is None:
        missing = where if found is None else expected_from
        raise ResultsError(
            f"{missing} has no camlib-config line (written by an older camlib?), so it cannot be checked against "
            f"{expected_from if found is None else where}; write the results to a new file."
        )
    differences = []
    for key in sorted(set(found) | set(expected)):
        if key in INFORMATIONAL_KEYS or key == "params":
            continue
        if found.get(key) != expected.get(key):
            differences.append(f"{key} {shown_value(found.get(key))} there, {shown_value(expected.get(key))} in {expected_from}")
    found_params, expected_params = found.get("params", {}), expected.get("params", {})
    for method in sorted(set(found_params) & set(expected_params)):
        if found_params[method] != expected_params[method]:
            differences.append(
                f"{method} parameters {shown_value(found_params[method])} there, {shown_value(expected_params[method])} in {expected_from}"
            )
    if differences:
        raise ResultsError(
            f"{where} was computed with another configuration ({'; '.join(differences)}); its rows cannot be mixed "
            "with these: use another output file, or the same settings."
        )


def merged_config(first: Mapping | None, second: Mapping | None) -> dict | None:
    """Two compatible configurations as one: the parameters of every method of either."""
    if first is None or second is None:
        return None if first is None and second is None else dict(first or second)
    merged = dict(first)
    merged["params"] = {**second.get("params", {}), **first.get("params", {})}
    return _normalised(merged)


# -- reading ------------------------------------------------------------------------------------------------


def read_results(
    paths: Iterable[str | os.PathLike], *, expect_config: Mapping | None = None, key: Callable[[dict], tuple] | None = None
) -> tuple[list[dict], dict | None]:
    """Rows of one or more result CSVs and their common configuration. A row whose ``key`` (default
    (file, method)) was seen before replaces it. Raises :class:`ResultsError` when the files'
    configurations differ from each other or from ``expect_config``."""
    paths, key = list(paths), key or (lambda row: (row["file"], row["method"]))
    rows: dict[tuple, dict] = {}
    config = None
    first_path = None
    for path in paths:
        result = read_results_file(path)
        if expect_config is not None:
            check_config(result.config, expect_config, where=_printable(result.path))
        if first_path is None:
            config, first_path = result.config, result.path
        else:
            check_config(result.config, config, where=_printable(result.path), expected_from=_printable(first_path))
            config = merged_config(config, result.config)
        for row in result.rows:
            rows[key(row)] = row
    return list(rows.values()), config


def check_some_rows(rows: list[dict], paths: Iterable[str | os.PathLike]) -> None:
    """A merge of files without a single row is refused: an empty table would look like a result."""
    if not rows:
        raise ResultsError(f"{', '.join(_printable(path) for path in paths)} hold(s) no result rows: nothing to merge or summarise.")


def read_rows(paths: Iterable[str | os.PathLike], *, expect_config: Mapping | None = None) -> list[dict]:
    """The rows of :func:`read_results`."""
    return read_results(paths, expect_config=expect_config)[0]


def completed_rows(out: str | os.PathLike, *, include_errors: bool = True) -> set[tuple[str, str]]:
    """(file, method) of the complete rows in ``out`` (none if it does not exist). Error rows count as
    done unless ``include_errors`` is false, so that a resumed run does not stop again on a broken image."""
    out = Path(out)
    if not out.is_file():
        return set()
    return {(row["file"], row["method"]) for row in read_results_file(out).rows if include_errors or not row.get("error")}


def rows_on_common_images(rows: list[dict]) -> list[dict]:
    """Only the rows of images that every method scored without error, for a like-for-like table."""
    methods = {row["method"] for row in rows}
    scored: dict[str, set[str]] = {}
    for row in rows:
        if not row.get("error"):
            scored.setdefault(row["file"], set()).add(row["method"])
    common = {name for name, done in scored.items() if done == methods}
    return [row for row in rows if row["file"] in common]


# -- writing ------------------------------------------------------------------------------------------------


class ResultsWriter:
    """Appends rows to a results CSV, each flushed as soon as it is written. ``done`` holds the
    (file, method) pairs the file already had when it was resumed. Use as a context manager."""

    def __init__(self, path: Path, fields: Sequence[str], done: set[tuple[str, str]], rows: list[dict] | None = None) -> None:
        self.path = path
        self.rows = rows or []  # the complete rows the file held when it was resumed
        self.fields = list(fields)
        self.done = done
        self._handle = open(path, "a", newline="", encoding="utf-8", errors="surrogateescape")  # noqa: SIM115 - closed by close()
        self._writer = csv.DictWriter(self._handle, fieldnames=self.fields, extrasaction="raise")

    def write(self, row: Mapping) -> None:
        """Write one row (missing fields are left empty) and flush it to the file."""
        self._writer.writerow({field: _one_line(row.get(field, "")) for field in self.fields})
        self._handle.flush()
        self.done.add((str(row.get("file", "")), str(row.get("method", ""))))

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_results(out: str | os.PathLike, fields: Sequence[str], config: Mapping | None, *, resume: bool) -> ResultsWriter:
    """Start ``out`` (its configuration line and header), or with ``resume`` continue it.

    Resuming checks that the file's columns and configuration match (:func:`check_config`; a method new
    to the file adds its parameters to the configuration line) and drops a last line written in part.

    Raises:
        ResultsError: another configuration or other columns, or a damaged file.
    """
    out = Path(out)
    config = _normalised(config) if config is not None else None
    existing = check_resumable(out, fields, config) if resume else None
    if existing is not None:
        combined = merged_config(existing.config, config) if existing.config is not None else config
        if combined != existing.config or not existing.fields:
            _rewrite(out, combined, fields, existing.rows)
        elif existing.dropped_partial_line:
            with open(out, "r+b") as handle:
                handle.truncate(existing.body_end)
        done, rows = {(row["file"], row["method"]) for row in existing.rows}, existing.rows
    else:
        _rewrite(out, config, fields, [])
        done, rows = set(), []
    return ResultsWriter(out, fields, done, rows)


def check_resumable(out: str | os.PathLike, fields: Sequence[str], config: Mapping | None) -> ResultsFile | None:
    """The file ``out`` as read, when a run with ``fields`` and ``config`` may resume it (None when there
    is nothing to resume); else :class:`ResultsError`. Writes nothing, so it can run before any work."""
    out = Path(out)
    if not out.is_file() or out.stat().st_size == 0:
        return None
    existing = read_results_file(out)
    if existing.fields and list(existing.fields) != list(fields):
        raise ResultsError(f"{_printable(out)} has other columns ({', '.join(existing.fields)}); it was not written by this command.")
    if existing.rows or existing.config is not None:
        check_config(existing.config, _normalised(config) if config is not None else None, where=_printable(out))
    return existing


def write_results(out: str | os.PathLike, fields: Sequence[str], rows: Iterable[Mapping], config: Mapping | None) -> None:
    """Write ``rows`` (merged shards, say) to ``out`` with their configuration line, replacing it whole."""
    _rewrite(Path(out), _normalised(config) if config is not None else None, fields, list(rows))


def _rewrite(out: Path, config: Mapping | None, fields: Sequence[str], rows: list[Mapping]) -> None:
    """Write the whole file next to ``out`` and move it into place, so that ``out`` is never half-written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    try:
        with open(temporary, "w", newline="", encoding="utf-8", errors="surrogateescape") as handle:
            if config is not None:
                handle.write(CONFIG_PREFIX + json.dumps(config, sort_keys=True, ensure_ascii=True) + "\n")
            writer = csv.DictWriter(handle, fieldnames=list(fields))
            writer.writeheader()
            writer.writerows({field: _one_line(row.get(field, "")) for field in fields} for row in rows)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)


# -- helpers ------------------------------------------------------------------------------------------------


def _normalised(config: Mapping) -> dict:
    """The configuration as it reads back from JSON (tuples become lists, keys sorted)."""
    return json.loads(json.dumps(config, sort_keys=True))


def _one_line(value) -> str:
    """A cell on one line: an error message with a newline would otherwise span CSV lines."""
    return " ".join(str(value).splitlines()) if isinstance(value, str) else value
