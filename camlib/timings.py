"""Measured seconds per map: the one source of the timing figures that the app's labels (and the README) state.

They are read from ``docs/results/app_timings.json``, the file that ``OMP_NUM_THREADS=2 python -m bench.app_timings
--repeats 3 --out docs/results/app_timings.json`` writes (see :data:`COMMAND`) on :data:`MACHINE`: EfficientNet-Lite0
at its default layer (``bn2``) on scikit-image's "chelsea" (451 × 300), one map per call. Rerun the command when the
methods, the settings or the machine change; nothing here is typed by hand. Without the file nothing is claimed
(every figure reads "not measured").
"""

from __future__ import annotations

import json
from pathlib import Path

from camlib.resources import resource_path

TIMINGS_FILE = resource_path("results") / "app_timings.json"  # package data: a copy of docs/results/app_timings.json


def _load(path: Path = TIMINGS_FILE) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


_MEASURED = _load()
COMMAND: str = _MEASURED.get("command", "OMP_NUM_THREADS=2 python -m bench.app_timings --repeats 3 --out docs/results/app_timings.json")
MACHINE: str = _MEASURED.get("machine", "not measured")
THREADS: int = int(_MEASURED.get("threads", 2))
BACKBONE: str = _MEASURED.get("backbone", "EfficientNet-Lite0")

# Seconds per map at resolution 224 (a 337 × 224 input for this photo), by speed setting and method.
SECONDS_BY_SETTING: dict[str, dict[str, float]] = dict(_MEASURED.get("seconds_by_setting", {}))

# At the Fast setting, by resolution (the input's shorter side): (map height, map width), seconds per map.
SECONDS_BY_RESOLUTION: dict[int, tuple[tuple[int, int], dict[str, float]]] = {
    int(resolution): (tuple(entry["map_size"]), dict(entry["seconds"]))
    for resolution, entry in _MEASURED.get("seconds_by_resolution", {}).items()
}


def setting_seconds(speed: str, methods=None) -> float | None:
    """Seconds for the given methods (default: all six) at ``speed`` and 224, or ``None`` if not measured."""
    row = SECONDS_BY_SETTING.get(speed)
    if not row:
        return None
    return sum(seconds for key, seconds in row.items() if methods is None or key in methods)


def method_seconds(speed: str, method_key: str) -> float | None:
    return SECONDS_BY_SETTING.get(speed, {}).get(method_key)


def resolution_seconds(resolution: int) -> float | None:
    """Seconds for all six methods at the Fast setting at ``resolution``, or ``None`` if not measured."""
    measured = SECONDS_BY_RESOLUTION.get(resolution)
    return sum(measured[1].values()) if measured else None


def map_size(resolution: int) -> tuple[int, int] | None:
    measured = SECONDS_BY_RESOLUTION.get(resolution)
    return measured[0] if measured else None


def seconds_text(seconds: float | None) -> str:
    if seconds is None:
        return "not measured"
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
