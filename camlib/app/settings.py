"""The speed presets of the Score-CAM family and the parameters each method runs with."""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field

from camlib import timings
from camlib.measured import fast_setting_text
from camlib.methods import METHODS, method_info, speed_params
from camlib.methods.registry import FAST_SAMPLED_CHANNELS, LOWRES_PERTURBATION_SIZE

FAST_TEST_ENV = "CAMLIB_APP_FAST_TEST"

Params = tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class SpeedPreset:
    key: str
    label: str
    description: str
    params: dict[str, dict] = field(default_factory=dict)


def _library_setting(speed: str) -> dict[str, dict]:
    """camlib's named speed setting, as parameters per method."""
    return {key: params for key in METHODS if (params := speed_params(key, speed))}


def timing_text(speed: str) -> str:
    """The measured seconds for a setting, from :mod:`camlib.timings` (the one source of these figures)."""
    scorecam, total = timings.method_seconds(speed, "scorecam"), timings.setting_seconds(speed)
    if total is None:
        return ""
    return (
        f" Measured on {timings.BACKBONE} at 224 px, {timings.THREADS} threads of an idle 2-core CPU: Score-CAM "
        f"{timings.seconds_text(scorecam)}, all six methods {timings.seconds_text(total)} per image (a GPU is far faster)."
    )


SPEED_PRESETS: dict[str, SpeedPreset] = {
    preset.key: preset
    for preset in (
        SpeedPreset(
            "fast",
            "Fast",
            f"Score-CAM measures {FAST_SAMPLED_CHANNELS} channels and predicts the other channels' scores from "
            "their masks (float16 on CUDA). Every other method is exact." + fast_setting_text() + timing_text("fast"),
            _library_setting("fast"),
        ),
        SpeedPreset(
            "exact",
            "Exact",
            "Every method at its published setting: Score-CAM scores every channel, masked passes at full "
            "resolution in float32." + timing_text("exact"),
            _library_setting("exact"),
        ),
        SpeedPreset(
            "lowres",
            "Low-res",
            f"Score-CAM and Grad++ScoreCAM run their masked passes with the shorter side at {LOWRES_PERTURBATION_SIZE} "
            "instead of the input's, as the Grad++ScoreCAM paper reduces the input. Only an approximation: at that "
            "size EfficientNet's last feature map shrinks to 4 × 4 and the channels' scores drift from the full-size "
            "ones, so prefer Fast."
            + timing_text("lowres"),
            _library_setting("lowres"),
        ),
        SpeedPreset(
            "test",
            "Quick test",
            f"Set by {FAST_TEST_ENV}=1 for automated tests: every perturbation pass at 64×64, "
            "16 channels for Grad++ScoreCAM, 2 noisy samples for SmoothGrad-CAM++. Not for judging maps.",
            {
                "scorecam": {"perturbation_size": 64, "batch_size": 128},
                "gradpp_scorecam": {"top_k": 16, "perturbation_size": 64},
                "smoothgradcampp": {"n_samples": 2},
            },
        ),
    )
}


def speed_options() -> list[str]:
    """The presets offered, the default first: fast, or the quick test preset under ``CAMLIB_APP_FAST_TEST=1``."""
    if os.environ.get(FAST_TEST_ENV, "") not in ("", "0"):
        return ["test", "fast", "exact", "lowres"]
    return ["fast", "exact", "lowres"]


def method_default(method_key: str, name: str):
    """The default of a method's constructor parameter, read from its signature."""
    return inspect.signature(method_info(method_key).method_class.__init__).parameters[name].default


def effective_param(method_key: str, name: str, speed: str):
    return SPEED_PRESETS[speed].params.get(method_key, {}).get(name, method_default(method_key, name))


def method_params(method_key: str, speed: str, overrides: dict[str, dict] | None = None) -> Params:
    """The parameters one method runs with: its preset's, then the user's overrides; hashable, sorted."""
    params = {**SPEED_PRESETS[speed].params.get(method_key, {}), **(overrides or {}).get(method_key, {})}
    return tuple(sorted(params.items()))


def changed_params(overrides: dict[str, dict], speed: str) -> dict[str, dict]:
    """Keep only the overrides that differ from the preset, so equal settings share cache entries."""
    kept: dict[str, dict] = {}
    for method_key, params in overrides.items():
        changed = {name: value for name, value in params.items() if value != effective_param(method_key, name, speed)}
        if changed:
            kept[method_key] = changed
    return kept
