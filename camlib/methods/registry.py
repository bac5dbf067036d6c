"""The registry of methods: display names, papers and costs, read by the CLI and the app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from camlib.errors import InvalidParameterError, UnknownMethodError, UnknownSpeedSettingError
from camlib.methods.base import BaseCAM
from camlib.methods.cam import CAM
from camlib.methods.gradcam import GradCAM
from camlib.methods.gradcampp import GradCAMpp
from camlib.methods.gradpp_scorecam import GradPPScoreCAM
from camlib.methods.params import check_params
from camlib.methods.scorecam import ScoreCAM
from camlib.methods.smoothgradcampp import SmoothGradCAMpp


@dataclass(frozen=True)
class MethodInfo:
    key: str
    display_name: str
    method_class: type[BaseCAM]
    paper: str
    paper_url: str
    cost: str  # passes per image, for people
    relative_cost: int  # 1 is the cheapest; orders the app's grid and its progress
    scores_masked_inputs: bool  # runs many masked passes and reports progress


METHODS: dict[str, MethodInfo] = {
    info.key: info
    for info in (
        MethodInfo(
            "cam", "CAM", CAM,
            "Zhou et al., Learning Deep Features for Discriminative Localization, CVPR 2016",
            "https://arxiv.org/abs/1512.04150",
            "1 forward", 1, False,
        ),
        MethodInfo(
            "gradcam", "Grad-CAM", GradCAM,
            "Selvaraju et al., Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization, ICCV 2017",
            "https://arxiv.org/abs/1610.02391",
            "1 forward + 1 backward", 2, False,
        ),
        MethodInfo(
            "gradcampp", "Grad-CAM++", GradCAMpp,
            "Chattopadhay et al., Grad-CAM++: Improved Visual Explanations for Deep Convolutional Networks, WACV 2018",
            "https://arxiv.org/abs/1710.11063",
            "1 forward + 1 backward", 2, False,
        ),
        MethodInfo(
            "smoothgradcampp", "SmoothGrad-CAM++", SmoothGradCAMpp,
            "Omeiza et al., Smooth Grad-CAM++: An Enhanced Inference Level Visualization Technique, 2019",
            "https://arxiv.org/abs/1908.01224",
            "1 forward + n_samples × (forward + backward)", 3, False,
        ),
        MethodInfo(
            "gradpp_scorecam", "Grad++ScoreCAM", GradPPScoreCAM,
            "Grad++ScoreCAM: Enhancing Visual Explanations of Deep Convolutional Networks Using Incremented "
            "Gradient and Score-Weighted Methods, IEEE Access 2024",
            "https://doi.org/10.1109/ACCESS.2024.3392853",
            "1 forward + 1 backward + top_k masked forwards", 4, True,
        ),
        MethodInfo(
            "scorecam", "Score-CAM", ScoreCAM,
            "Wang et al., Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural Networks, CVPRW 2020",
            "https://arxiv.org/abs/1910.01279",
            "1 forward + 1 masked forward per channel (fast setting: 128 measured, the others predicted)", 5, True,
        ),
    )
}


FAST_SAMPLED_CHANNELS = 128
LOWRES_PERTURBATION_SIZE = 112

SPEED_SETTINGS: dict[str, dict[str, dict]] = {
    "exact": {},
    "fast": {
        "scorecam": {"sampled_channels": FAST_SAMPLED_CHANNELS, "mixed_precision": True},
        "gradpp_scorecam": {"mixed_precision": True},
    },
    "lowres": {
        "scorecam": {"perturbation_size": LOWRES_PERTURBATION_SIZE, "mixed_precision": True},
        "gradpp_scorecam": {"perturbation_size": LOWRES_PERTURBATION_SIZE, "mixed_precision": True},
    },
}
"""Named settings for the methods that score masked inputs, as parameters per method.

- ``exact``: every method at its published setting; masked passes at the input's resolution, in float32.
- ``fast``: Score-CAM measures 128 channels and predicts the other channels' scores from their masks
  (``ScoreCAM(sampled_channels=128)``); masked passes in float16 autocast on CUDA. How its maps score
  against the exact ones is measured, not stated here: :func:`camlib.measured.fast_setting_text`.
- ``lowres``: the masked passes run on the input with its shorter side at 112, as the Grad++ScoreCAM
  paper reduces the input to save work, and in float16 on CUDA; an approximation (labelled so in the app).

The other methods are the same under every setting.
"""


def speed_params(key: str, speed: str) -> dict:
    """The parameters that the named speed setting gives method ``key`` (none for most methods)."""
    if speed not in SPEED_SETTINGS:
        raise UnknownSpeedSettingError(f"Unknown speed setting '{speed}'. Choose from: {', '.join(SPEED_SETTINGS)}.")
    method_info(key)
    return dict(SPEED_SETTINGS[speed].get(key, {}))


def method_info(key: str) -> MethodInfo:
    if key not in METHODS:
        raise UnknownMethodError(f"Unknown method '{key}'. Choose from: {', '.join(METHODS)}.")
    return METHODS[key]


def parse_method_list(text: str) -> list[str]:
    """``"all"`` or a comma-separated list of method keys, in the order given."""
    if text.strip().lower() == "all":
        return list(METHODS)
    keys = [part.strip().lower() for part in text.split(",") if part.strip()]
    for key in keys:
        method_info(key)
    if not keys:
        raise UnknownMethodError("No method given. Choose from: all, " + ", ".join(METHODS) + ".")
    return keys


def validate_method_params(key: str, params: Mapping[str, object] | None, *, from_text: bool = False) -> dict[str, object]:
    """Check ``params`` for method ``key`` and return them as the constructor takes them.

    With ``from_text`` the values are strings as typed on a command line (``"128"``, ``"none"``,
    ``"true"``, ``"probability"``) and are converted by the parameter's annotation.

    Raises:
        InvalidParameterError: an unknown name, a name camlib sets itself, a value of the wrong type, a
            non-finite number or a number outside :data:`PARAM_BOUNDS`.
    """
    return check_params(method_info(key).method_class, params, key=key, from_text=from_text)


def validate_params_for_methods(
    methods: list[str], params: Mapping[str, Mapping] | None, *, refuse_idle: bool = False
) -> dict[str, dict]:
    """Check ``{method: {name: value}}`` for a run of ``methods`` and return the parameters of those methods.

    Every key must be a known method and every value pass :func:`validate_method_params`. With
    ``refuse_idle`` (the CLI, where the user typed them) parameters for a method that does not run are
    refused rather than ignored; a library caller may pass one dict for all methods and run a few.
    """
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidParameterError(f"Method parameters must be a mapping {{method: {{name: value}}}}, not a {type(params).__name__}.")
    checked = {}
    for key, values in params.items():
        method_info(key)
        checked[key] = validate_method_params(key, values)
    idle = [key for key, values in checked.items() if values and key not in methods]
    if idle and refuse_idle:
        raise InvalidParameterError(
            f"Parameters were given for {', '.join(idle)}, which is not among the methods run "
            f"({', '.join(methods)}); add it to the methods or drop its parameters."
        )
    return {key: values for key, values in checked.items() if key in methods}
