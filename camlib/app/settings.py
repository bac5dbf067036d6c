"""The speed presets of the Score-CAM family, the parameters each method runs with, and how the pages name them."""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field

from camlib import timings
from camlib.backbones import RESOLUTIONS
from camlib.measured import fast_setting_text
from camlib.methods import METHODS, method_info, speed_params
from camlib.methods.registry import FAST_SAMPLED_CHANNELS

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
            "test",
            "Quick test",
            f"Set by {FAST_TEST_ENV}=1 for automated tests: every perturbation pass at 64×64, "
            "32 measured channels for Score-CAM, 16 channels for Grad++ScoreCAM, 2 noisy samples for "
            "SmoothGrad-CAM++. Not for judging maps.",
            {
                "scorecam": {"perturbation_size": 64, "batch_size": 128, "sampled_channels": 32},
                "gradpp_scorecam": {"top_k": 16, "perturbation_size": 64},
                "smoothgradcampp": {"n_samples": 2},
            },
        ),
    )
}


def speed_options() -> list[str]:
    """The presets offered, the default first: fast, or the quick test preset under ``CAMLIB_APP_FAST_TEST=1``.

    camlib's ``lowres`` setting is not offered: on a CPU it is no faster than Fast and its Score-CAM maps are
    further from the exact ones (README, "The speed settings"); the CLI keeps it, with that said in its help."""
    if os.environ.get(FAST_TEST_ENV, "") not in ("", "0"):
        return ["test", "fast", "exact"]
    return ["fast", "exact"]


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


# -- the settings a page runs with, and how they are named -----------------------------------------

# Plain names for the parameters people can change (the header and figures name changes with these).
PARAM_LABELS = {
    "perturbation_size": "masked-pass size",
    "score": "channel score",
    "sampled_channels": "channels measured",
    "top_k": "channels scored",
    "combination": "combination",
    "n_samples": "noisy samples",
    "noise_level": "noise level",
}
COMBINATION_LABELS = {
    "softmax_w": "softmax(C_k) × w_k / max w (default)",
    "softmax": "softmax(C_k) only: Score-CAM on the chosen channels",
    "relu_w": "ReLU(C_k) × w_k / max w",
}
SCORE_LABELS = {"logit": "softmax of the logit increases", "probability": "class probability (authors' code)"}
FULL_SIZE = 0  # the masked-pass size that means "the input's own size" (None in camlib)
PERTURBATION_SIZES = (FULL_SIZE, 160, 112, 64)


def value_label(name: str, value) -> str:
    if name == "perturbation_size":
        return "the input's" if value is None else f"{value} px"
    if name in ("sampled_channels", "top_k") and value is None:
        return "all"
    return {**COMBINATION_LABELS, **SCORE_LABELS}.get(value, str(value)) if isinstance(value, str) else str(value)


def param_key(speed: str, method_key: str, name: str) -> str:
    """The session-state key of a parameter's widget: one per preset, so each preset keeps its own changes."""
    return f"camlib_param::{speed}::{method_key}::{name}"


def perturbation_size_options(method_key: str, speed: str) -> tuple[list[int], int]:
    """The masked-pass sizes offered (:data:`FULL_SIZE` for the input's own) and the preset's, added when not among them."""
    current = effective_param(method_key, "perturbation_size", speed) or FULL_SIZE
    sizes = list(PERTURBATION_SIZES)
    return (sizes if current in sizes else [*sizes, current]), current


def perturbation_size_label(size: int) -> str:
    return "the input's own size (exact)" if size == FULL_SIZE else f"{size} px"


@dataclass(frozen=True)
class MethodSettings:
    """The methods chosen (cheapest first), the speed preset, the user's parameter overrides and the resolution."""

    methods: list[str]
    speed: str
    overrides: dict[str, dict]
    resolution: int = 224  # the shorter side of the model input, in pixels

    def params(self, method_key: str) -> Params:
        return method_params(method_key, self.speed, self.overrides)

    def label(self) -> str:
        """The setting as the header and the exported figures name it, with any changed parameter."""
        text = SPEED_PRESETS[self.speed].label
        changes = [f"{METHODS[key].display_name} {PARAM_LABELS.get(name, name)} = {value_label(name, value)}"
                   for key, params in self.overrides.items() for name, value in params.items()]
        return f"{text}, changed: {'; '.join(changes)}" if changes else text


def speed_caption(speed: str, overrides: dict[str, dict]) -> str:
    """The line under the speed setting: the preset's description, then what the user changed, with the values in use
    (so "128 channels" is never the last word when every channel is measured)."""
    if not overrides:
        return SPEED_PRESETS[speed].description
    changes = [f"{METHODS[key].display_name} {PARAM_LABELS.get(name, name)} = {value_label(name, value)}"
               + (" (every channel, as in Exact)" if name == "sampled_channels" and value is None else "")
               for key, params in overrides.items() for name, value in params.items()]
    return f"**In use: {'; '.join(changes)}** (changed from {SPEED_PRESETS[speed].label}). " + SPEED_PRESETS[speed].description


def resolution_timing_text() -> str | None:
    """The measured seconds of all six methods at Fast for each resolution, or ``None`` when none was measured."""
    measured = [f"{r} px: {timings.seconds_text(timings.resolution_seconds(r))}" for r in RESOLUTIONS if timings.resolution_seconds(r)]
    if not measured:
        return None
    return f"All six methods at Fast, measured on {timings.THREADS} threads of an idle 2-core CPU: " + ", ".join(measured) + "."
