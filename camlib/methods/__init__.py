"""The six CAM methods and their registry."""

from camlib.methods.activation import CAM
from camlib.methods.base import BaseCAM, LayerCapture, ProgressCallback, normalize_maps, resolve_layer
from camlib.methods.gradient import GradCAM, GradCAMpp, SmoothGradCAMpp
from camlib.methods.registry import METHODS, SPEED_SETTINGS, MethodInfo, method_info, parse_method_list, speed_params
from camlib.methods.score import GradPPScoreCAM, ScoreCAM, masked_input_scores

__all__ = [
    "CAM",
    "METHODS",
    "SPEED_SETTINGS",
    "BaseCAM",
    "GradCAM",
    "GradCAMpp",
    "GradPPScoreCAM",
    "LayerCapture",
    "MethodInfo",
    "ProgressCallback",
    "ScoreCAM",
    "SmoothGradCAMpp",
    "masked_input_scores",
    "method_info",
    "normalize_maps",
    "parse_method_list",
    "resolve_layer",
    "speed_params",
]
