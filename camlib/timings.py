"""Measured seconds per map: the one source of the timing figures that the app's labels (and the README) state.

Measured by ``OMP_NUM_THREADS=2 python -m bench.app_timings --repeats 3`` (see :data:`COMMAND`) on :data:`MACHINE`:
EfficientNet-Lite0 at its default layer (``bn2``) on scikit-image's "chelsea" (451 × 300), one map per call. Rerun the
command and paste its output here when the methods, the settings or the machine change.
"""

from __future__ import annotations

COMMAND = "OMP_NUM_THREADS=2 python -m bench.app_timings --repeats 3"
MACHINE = "the project's 2-core x86-64 CPU runner with nothing else running, 2 threads, torch 2.14.1"
THREADS = 2
BACKBONE = "EfficientNet-Lite0"

# Seconds per map at resolution 224 (a 337 × 224 input for this photo), by speed setting and method.
SECONDS_BY_SETTING: dict[str, dict[str, float]] = {
    "fast": {"cam": 0.03, "gradcam": 0.03, "gradcampp": 0.03, "smoothgradcampp": 0.24, "gradpp_scorecam": 0.46, "scorecam": 2.06},
    "exact": {"cam": 0.02, "gradcam": 0.02, "gradcampp": 0.02, "smoothgradcampp": 0.19, "gradpp_scorecam": 0.42, "scorecam": 9.9},
    "lowres": {"cam": 0.03, "gradcam": 0.03, "gradcampp": 0.03, "smoothgradcampp": 0.27, "gradpp_scorecam": 0.19, "scorecam": 2.31},
}

# At the Fast setting, by resolution (the input's shorter side): (map height, map width), seconds per map.
SECONDS_BY_RESOLUTION: dict[int, tuple[tuple[int, int], dict[str, float]]] = {
    224: ((224, 337), {"cam": 0.03, "gradcam": 0.03, "gradcampp": 0.03, "smoothgradcampp": 0.24, "gradpp_scorecam": 0.46, "scorecam": 2.06}),
    320: ((320, 481), {"cam": 0.04, "gradcam": 0.04, "gradcampp": 0.04, "smoothgradcampp": 0.33, "gradpp_scorecam": 0.83, "scorecam": 3.89}),
    448: ((448, 673), {"cam": 0.08, "gradcam": 0.07, "gradcampp": 0.07, "smoothgradcampp": 0.62, "gradpp_scorecam": 3.04, "scorecam": 11.86}),
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
