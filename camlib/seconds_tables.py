"""Tables of seconds per map, read for the leaderboard: a CSV of timed maps (``bench/leaderboard_runs.sh``'s
``evaluate`` rows or any file with the columns ``method`` and ``seconds``) or ``bench/app_timings.py``'s JSON.
Both bounded before they are parsed (64 MiB, a million rows)."""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Hashable
from pathlib import Path

from camlib.errors import InvalidParameterError

MAX_TIMING_ROWS = 1_000_000


def read_seconds_table(path: str | os.PathLike, backbone: str) -> dict[tuple[str, str | None], dict[Hashable, float]]:
    """Seconds per map -> (method, speed or None) -> {row: seconds}. A CSV has the columns ``method`` and
    ``seconds`` (one row per map), optional ``speed``, ``backbone`` (rows of other models are skipped) and
    ``file`` (the image); a JSON is ``bench/app_timings.py``'s (one timing per method and speed)."""
    if Path(path).stat().st_size > 64 * 2**20:
        raise InvalidParameterError(f"{path}: larger than 64 MiB; not a seconds-per-map table.")
    if str(path).endswith(".json"):
        return _seconds_json(path, backbone)
    table: dict[tuple[str, str | None], dict[Hashable, float]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(line for line in handle if not line.startswith("#"))
        if not {"method", "seconds"} <= set(reader.fieldnames or ()):
            raise InvalidParameterError(f"{path}: a seconds-per-map table needs the columns method and seconds.")
        for number, row in enumerate(reader):
            if number >= MAX_TIMING_ROWS:
                raise InvalidParameterError(f"{path}: more than {MAX_TIMING_ROWS:,} rows; not a seconds-per-map table.")
            if row.get("backbone") not in (None, "", backbone):
                continue
            key = (row["method"], row.get("speed") or None)
            table.setdefault(key, {})[row.get("file") or number] = _seconds(row["seconds"], f"{path}, row {number + 2}")
    return table


def _seconds(value, where: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise InvalidParameterError(f"{where}: seconds is {value!r}, not a number of seconds.")
    return seconds


def _seconds_json(path: str | os.PathLike, backbone: str) -> dict[tuple[str, str | None], dict[Hashable, float]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        by_setting = data["seconds_by_setting"]
        named = str(data.get("backbone", backbone)).lower().replace("efficientnet-", "efficientnet_")
        table = {
            (method, speed): {"timing": _seconds(s, str(path))} for speed, row in by_setting.items() for method, s in row.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InvalidParameterError(f"{path}: not a timing file of bench/app_timings.py (no seconds_by_setting).") from None
    return table if named == backbone else {}
