"""The registry of methods: display names, papers and costs, read by the CLI and the app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from camlib.errors import InvalidParameterError, UnknownMethodError, UnknownSpeedSettingError
from camlib.methods.ablationcam import AblationCAM
from camlib.methods.base import BaseCAM
from camlib.methods.cam import CAM
from camlib.methods.eigencam import EigenCAM
from camlib.methods.gradcam import GradCAM
from camlib.methods.gradcampp import GradCAMpp
from camlib.methods.gradpp_scorecam import GradPPScoreCAM
from camlib.methods.groupcam import GroupCAM
from camlib.methods.hirescam import HiResCAM
from camlib.methods.iscam import ISCAM
from camlib.methods.layercam import LayerCAM
from camlib.methods.params import check_params
from camlib.methods.reciprocam import ReciproCAM
from camlib.methods.scorecam import ScoreCAM
from camlib.methods.smoothgradcampp import SmoothGradCAMpp
from camlib.methods.sscam import SSCAM
from camlib.methods.xgradcam import XGradCAM

GRADIENT, ACTIVATION_SCORE, PERTURBATION = "gradient", "activation / score", "perturbation"
FAMILIES = (GRADIENT, ACTIVATION_SCORE, PERTURBATION)
"""How a method weighs what the layer holds: by gradients; by the activations or the scores of inputs
masked with them; or by removing parts of the layer's output and watching the score."""


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
    family: str = GRADIENT  # one of FAMILIES


METHODS: dict[str, MethodInfo] = {
    info.key: info
    for info in (
        MethodInfo(
            "cam", "CAM", CAM,
            "Zhou et al., Learning Deep Features for Discriminative Localization, CVPR 2016",
            "https://arxiv.org/abs/1512.04150",
            "1 forward", 1, False, ACTIVATION_SCORE,
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
            "1 forward + 1 backward + top_k masked forwards", 4, True, ACTIVATION_SCORE,
        ),
        MethodInfo(
            "scorecam", "Score-CAM", ScoreCAM,
            "Wang et al., Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural Networks, CVPRW 2020",
            "https://arxiv.org/abs/1910.01279",
            "1 forward + 1 masked forward per channel (fast setting: 128 measured, the others predicted)", 5, True,
            ACTIVATION_SCORE,
        ),
        MethodInfo(
            "hirescam", "HiResCAM", HiResCAM,
            "Draelos and Carin, Use HiResCAM instead of Grad-CAM for faithful explanations of convolutional neural "
            "networks, arXiv 2020",
            "https://arxiv.org/abs/2011.08891",
            "1 forward + 1 backward", 2, False, GRADIENT,
        ),
        MethodInfo(
            "xgradcam", "XGrad-CAM", XGradCAM,
            "Fu et al., Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation of CNNs, BMVC 2020",
            "https://arxiv.org/abs/2008.02312",
            "1 forward + 1 backward", 2, False, GRADIENT,
        ),
        MethodInfo(
            "layercam", "LayerCAM", LayerCAM,
            "Jiang et al., LayerCAM: Exploring Hierarchical Class Activation Maps for Localization, IEEE TIP 2021",
            "https://doi.org/10.1109/TIP.2021.3089943",
            "1 forward + 1 backward", 2, False, GRADIENT,
        ),
        MethodInfo(
            "eigencam", "Eigen-CAM", EigenCAM,
            "Muhammad and Yeasin, Eigen-CAM: Class Activation Map using Principal Components, IJCNN 2020",
            "https://arxiv.org/abs/2008.00299",
            "1 forward + 1 SVD (the same map for every class)", 1, False, ACTIVATION_SCORE,
        ),
        MethodInfo(
            "reciprocam", "Recipro-CAM", ReciproCAM,
            "Byun and Lee, Recipro-CAM: Fast gradient-free visual explanations for convolutional neural networks, CVPRW 2024",
            "https://arxiv.org/abs/2209.14074",
            "1 forward + h·w passes of the layers after the target layer", 3, True, PERTURBATION,
        ),
        MethodInfo(
            "groupcam", "Group-CAM", GroupCAM,
            "Zhang et al., Group-CAM: Group Score-Weighted Visual Explanations for Deep Convolutional Networks, arXiv 2021",
            "https://arxiv.org/abs/2103.13859",
            "1 forward + 1 backward + 1 blurred + groups (32) masked forwards", 4, True, ACTIVATION_SCORE,
        ),
        MethodInfo(
            "ablationcam", "Ablation-CAM", AblationCAM,
            "Desai and Ramaswamy, Ablation-CAM: Visual Explanations for Deep Convolutional Network via Gradient-free "
            "Localization, WACV 2020",
            "https://doi.org/10.1109/WACV45572.2020.9093360",
            "1 forward + 1 pass of the layers after the target layer per channel", 4, True, PERTURBATION,
        ),
        MethodInfo(
            "sscam", "SS-CAM", SSCAM,
            "Wang et al., SS-CAM: Smoothed Score-CAM for Sharper Visual Feature Localization, arXiv 2020",
            "https://arxiv.org/abs/2006.14255",
            "1 forward + n_samples (10) masked forwards per channel", 6, True, ACTIVATION_SCORE,
        ),
        MethodInfo(
            "iscam", "IS-CAM", ISCAM,
            "Naidu et al., IS-CAM: Integrated Score-CAM for axiomatic-based explanations, arXiv 2020",
            "https://arxiv.org/abs/2010.03023",
            "1 forward + n_samples (10) masked forwards per channel", 6, True, ACTIVATION_SCORE,
        ),
    )
}

PAPER_METHODS: tuple[str, ...] = ("cam", "gradcam", "gradcampp", "smoothgradcampp", "gradpp_scorecam", "scorecam")
"""The six methods of the Grad++ScoreCAM paper: what ``all`` means, and what the app and ``explain`` run
by default. ``every`` means all the methods of :data:`METHODS`."""


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


METHOD_GROUPS: dict[str, tuple[str, ...]] = {"all": PAPER_METHODS, "every": tuple(METHODS)}
"""Names for several methods: ``all`` the paper's six, ``every`` all of :data:`METHODS`."""


def parse_method_list(text: str) -> list[str]:
    """A comma-separated list of method keys and group names (``all``: the paper's six; ``every``: all
    the methods), in the order given, without repeats."""
    keys: list[str] = []
    for part in (part.strip().lower() for part in text.split(",") if part.strip()):
        keys.extend(METHOD_GROUPS[part] if part in METHOD_GROUPS else [method_info(part).key])
    if not keys:
        raise UnknownMethodError("No method given. Choose from: all, every, " + ", ".join(METHODS) + ".")
    return list(dict.fromkeys(keys))


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
