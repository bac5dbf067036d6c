"""Measured seconds per map: the one source of the timing figures that the app's labels (and the README) state.

Measured by ``OMP_NUM_THREADS=1 python -m bench.app_timings`` (see :data:`COMMAND`) on :data:`MACHINE`:
EfficientNet-Lite0 at ``conv_head`` on scikit-image's "chelsea" (451 × 300), one map per call. Rerun the
command and paste its output here when the methods, the settings or the machine change.
"""

from __future__ import annotations

COMMAND = "OMP_NUM_THREADS=1 python -m bench.app_timings"
MACHINE = (
    "one thread of the project's 2-core x86-64 CPU runner, torch 2.14.1, while other jobs kept it busy "
    "(load average 3-7); with 2 threads on the busy machine every operation was 10-100x slower (OpenMP threads "
    "waiting for each other), so these figures use 1 thread"
)
THREADS = 1
BACKBONE = "EfficientNet-Lite0"

# Seconds per map at resolution 224 (a 337 × 224 input for this photo), by speed setting and method.
SECONDS_BY_SETTING: dict[str, dict[str, float]] = {
    "fast": {"cam": 0.03, "gradcam": 0.05, "gradcampp": 0.08, "smoothgradcampp": 0.56, "gradpp_scorecam": 1.16, "scorecam": 8.08},
    "exact": {"cam": 0.08, "gradcam": 0.08, "gradcampp": 0.08, "smoothgradcampp": 0.6, "gradpp_scorecam": 1.05, "scorecam": 55.3},
    "lowres": {"cam": 0.03, "gradcam": 0.04, "gradcampp": 0.04, "smoothgradcampp": 0.32, "gradpp_scorecam": 0.2, "scorecam": 8.17},
}

# At the Fast setting, by resolution (the input's shorter side): (map height, map width), seconds per map.
SECONDS_BY_RESOLUTION: dict[int, tuple[tuple[int, int], dict[str, float]]] = {
    224: ((224, 337), {"cam": 0.03, "gradcam": 0.05, "gradcampp": 0.08, "smoothgradcampp": 0.56, "gradpp_scorecam": 1.16, "scorecam": 8.08}),
    320: ((320, 481), {"cam": 0.07, "gradcam": 0.07, "gradcampp": 0.07, "smoothgradcampp": 0.52, "gradpp_scorecam": 1.54, "scorecam": 7.88}),
    448: ((448, 673), {"cam": 0.1, "gradcam": 0.1, "gradcampp": 0.1, "smoothgradcampp": 0.87, "gradpp_scorecam": 2.76, "scorecam": 18.08}),
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
