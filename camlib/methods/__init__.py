"""The CAM methods (the paper's six and nine more) and their registry."""

from camlib.methods.ablationcam import AblationCAM
from camlib.methods.base import BaseCAM, LayerCapture, ProgressCallback, resolve_layer
from camlib.methods.cam import CAM
from camlib.methods.eigencam import EigenCAM
from camlib.methods.gradcam import GradCAM
from camlib.methods.gradcampp import GradCAMpp
from camlib.methods.gradpp_scorecam import GradPPScoreCAM
from camlib.methods.layers import recommended_transformer_layer, spatial_layers
from camlib.methods.groupcam import GroupCAM
from camlib.methods.hirescam import HiResCAM
from camlib.methods.iscam import ISCAM
from camlib.methods.layercam import LayerCAM
from camlib.methods.map_ops import normalize_maps
from camlib.methods.masked_passes import MaskedPasses, MaskedPassOptions, masked_input_scores
from camlib.methods.reciprocam import ReciproCAM
from camlib.methods.registry import (
    FAMILIES,
    METHOD_GROUPS,
    METHODS,
    PAPER_METHODS,
    SPEED_SETTINGS,
    MethodInfo,
    method_info,
    parse_method_list,
    speed_params,
)
from camlib.methods.scorecam import ScoreCAM
from camlib.methods.smoothgradcampp import SmoothGradCAMpp
from camlib.methods.tokens import TokenGrid, channels_last_to_first
from camlib.methods.sscam import SSCAM
from camlib.methods.gradpp_weights import gradcampp_weights
from camlib.methods.xgradcam import XGradCAM

__all__ = [
    "CAM",
    "FAMILIES",
    "ISCAM",
    "METHODS",
    "METHOD_GROUPS",
    "PAPER_METHODS",
    "SPEED_SETTINGS",
    "SSCAM",
    "AblationCAM",
    "BaseCAM",
    "EigenCAM",
    "GradCAM",
    "GradCAMpp",
    "GradPPScoreCAM",
    "GroupCAM",
    "HiResCAM",
    "LayerCAM",
    "LayerCapture",
    "MaskedPassOptions",
    "MaskedPasses",
    "MethodInfo",
    "ProgressCallback",
    "ReciproCAM",
    "ScoreCAM",
    "SmoothGradCAMpp",
    "TokenGrid",
    "channels_last_to_first",
    "XGradCAM",
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
