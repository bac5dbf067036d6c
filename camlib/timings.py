"""Measured seconds per map: the one source of the timing figures that the app's labels (and the README) state.

Measured by ``OMP_NUM_THREADS=2 python -m bench.app_timings`` (see :data:`COMMAND`) on :data:`MACHINE`:
EfficientNet-Lite0 at ``conv_head`` on scikit-image's "chelsea" (451 × 300), one map per call. Rerun the
command and paste its output here when the methods, the settings or the machine change.
"""

from __future__ import annotations

COMMAND = "OMP_NUM_THREADS=2 python -m bench.app_timings"
MACHINE = "the project's 2-core x86-64 CPU runner (torch 2.14.1, CPU), shared with other jobs while measured"
BACKBONE = "EfficientNet-Lite0"

# Seconds per map at resolution 224 (a 337 × 224 input for this photo), by speed setting and method.
SECONDS_BY_SETTING: dict[str, dict[str, float]] = {}

# At the Fast setting, by resolution (the input's shorter side): (map height, map width), seconds per map.
SECONDS_BY_RESOLUTION: dict[int, tuple[tuple[int, int], dict[str, float]]] = {}


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
