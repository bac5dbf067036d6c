"""The six CAM methods and their registry."""

from camlib.methods.base import BaseCAM, LayerCapture, ProgressCallback, resolve_layer
from camlib.methods.cam import CAM
from camlib.methods.gradcam import GradCAM
from camlib.methods.gradcampp import GradCAMpp
from camlib.methods.gradpp_scorecam import GradPPScoreCAM
from camlib.methods.layers import recommended_transformer_layer, spatial_layers
from camlib.methods.maps import normalize_maps
from camlib.methods.masked_passes import MaskedPasses, MaskedPassOptions, masked_input_scores
from camlib.methods.registry import METHODS, SPEED_SETTINGS, MethodInfo, method_info, parse_method_list, speed_params
from camlib.methods.scorecam import ScoreCAM
from camlib.methods.smoothgradcampp import SmoothGradCAMpp
from camlib.methods.tokens import TokenGrid, channels_last_to_first
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
    "TokenGrid",
    "channels_last_to_first",
    "gradcampp_weights",
    "masked_input_scores",
    "method_info",
    "normalize_maps",
    "parse_method_list",
    "recommended_transformer_layer",
    "resolve_layer",
    "spatial_layers",
    "speed_params",
]
