"""The six CAM methods and their registry."""

from camlib.methods.base import BaseCAM, LayerCapture, ProgressCallback, resolve_layer
from camlib.methods.cam import CAM
from camlib.methods.gradcam import GradCAM
from camlib.methods.gradcampp import GradCAMpp
from camlib.methods.gradpp_scorecam import GradPPScoreCAM
from camlib.methods.maps import normalize_maps
from camlib.methods.masked_passes import MaskedPasses, MaskedPassOptions, masked_input_scores
from camlib.methods.registry import METHODS, SPEED_SETTINGS, MethodInfo, method_info, parse_method_list, speed_params
from camlib.methods.scorecam import ScoreCAM
from camlib.methods.smoothgradcampp import SmoothGradCAMpp
from camlib.methods.weights import gradcampp_weights

__all__ = [
    "CAM",
    "METHODS",
    "SPEED_SETTINGS",
    "BaseCAM",
    "GradCAM",
    "GradCAMpp",
    "GradPPScoreCAM",
    "LayerCapture",
    "MaskedPassOptions",
    "MaskedPasses",
    "MethodInfo",
    "ProgressCallback",
    "ScoreCAM",
    "SmoothGradCAMpp",
    "gradcampp_weights",
    "masked_input_scores",
    "method_info",
    "normalize_maps",
    "parse_method_list",
    "resolve_layer",
    "speed_params",
]
