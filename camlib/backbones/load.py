"""Loading a model from its description: build, weights by name, classes, preprocessing, layer, checks.

Everything is checked before a :class:`Backbone` is returned (weights that fit, a head whose size
matches the class names, one dry forward pass at the input size with finite logits, the layer), so a
failure raises a :class:`CamlibError` and leaves nothing half-loaded.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from camlib.backbones import downloads, layers
from camlib.backbones.backbone import Backbone, resolve_device
from camlib.backbones.classes import class_names_for
from camlib.backbones.config import named_models
from camlib.backbones.preprocess import resolve_preprocessing
from camlib.backbones.spec import BACKBONES, DEFAULT_BACKBONE, BackboneSpec, backbone_spec, check_preprocessing_values, parse_model_text
from camlib.backbones.weights import apply_state_dict, apply_state_dict_by_position, classes_in_state, head_name, read_state_dict
from camlib.errors import CamlibError, ModelLoadError, UnknownBackboneError, WeightsError, WeightsUnavailableError

DRY_RUN_SEED = 0


def model_spec(spec_or_text: BackboneSpec | str, *, models_file: str | os.PathLike | None = None, allow_factory: bool = True) -> BackboneSpec:
    """A spec from a spec, a built-in key, a name in the models file(s), or ``timm:``/``torchvision:``/``module:function``."""
    if isinstance(spec_or_text, BackboneSpec):
        return spec_or_text
    text = str(spec_or_text).strip()
    if text in BACKBONES or ":" in text:
        return parse_model_text(text, allow_factory=allow_factory)
    named = named_models(models_file)  # an operator's list: its factories are allowed even for web visitors
    if text in named:
        return named[text]
    raise UnknownBackboneError(
        f"Unknown model '{text}'. Give a built-in key ({', '.join(BACKBONES)}), a name from the models file "
        f"({', '.join(named) or 'none given'}), timm:NAME, torchvision:NAME or module:function."
    )


def load_model(
    spec_or_text: BackboneSpec | str = DEFAULT_BACKBONE,
    *,
    weights: str | os.PathLike | None = None,
    classes=None,
    layer: str | None = None,
    device: str | torch.device | None = None,
    allow_download: bool = False,
    pretrained: bool = True,
    models_file: str | os.PathLike | None = None,
    allow_factory: bool = True,
    **preprocessing,
) -> Backbone:
    """Build a model, load its weights, and check it runs (see the module docstring).

    Args:
        spec_or_text: a :class:`BackboneSpec`, a built-in key, a name from the models file, or
            ``timm:NAME`` / ``torchvision:NAME`` / ``module:function``.
        weights: a state-dict file (``.pth``, ``.pt``, ``.bin``, ``.safetensors``), matched by name.
        classes: a class-names file (``.txt``, ``.json``, ``.csv``), a list of names, or ``"imagenet"``.
        layer: the target layer (default: chosen automatically, see :mod:`camlib.backbones.layers`).
        allow_download: let torchvision models download their pretrained weights once.
        pretrained: ``False`` keeps random weights (tests, timing).
        models_file: a TOML file of named models (default ``$CAMLIB_MODELS``).
        allow_factory: ``False`` refuses ``module:function`` (for text typed by a web visitor).
        preprocessing: ``input_size``, ``mean``, ``std``, ``interpolation``, ``fixed_size`` overrides.
    """
    spec = _with_overrides(model_spec(spec_or_text, models_file=models_file, allow_factory=allow_factory), weights, classes, layer, preprocessing)
    resolved_device = resolve_device(device)
    state = _state_for(spec, pretrained, allow_download)
    model = _build(spec, state)
    if state is not None:
        source = spec.weights.name if spec.weights is not None else f"the {spec.display_name} weights"
        load = apply_state_dict_by_position if spec.lite_package and spec.weights is None else apply_state_dict
        load(model, state, architecture=spec.display_name, source=source)
    model.requires_grad_(False)
    # Channels-last is the faster layout for convolutions on CPU and GPU alike; results are unchanged.
    model = model.to(resolved_device, memory_format=torch.channels_last).eval()
    spec = resolve_preprocessing(spec, model)
    backbone = _checked_backbone(spec, model, resolved_device, imagenet_weights=_imagenet_weights(spec, state, pretrained))
    backbone.random_weights = state is None and not pretrained and spec.architecture.startswith(("timm:", "torchvision:"))
    return backbone


def load_backbone(
    key: str = DEFAULT_BACKBONE,
    *,
    weights_path: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    allow_download: bool = False,
    pretrained: bool = True,
) -> Backbone:
    """One of the six built-in backbones (:data:`BACKBONES`), optionally with a state-dict file of the
    same architecture and 1000 classes; see :func:`load_model` for any other model."""
    return load_model(backbone_spec(key), weights=weights_path, device=device, allow_download=allow_download, pretrained=pretrained)


def _with_overrides(spec: BackboneSpec, weights, classes, layer, preprocessing: dict) -> BackboneSpec:
    allowed = {"input_size", "mean", "std", "interpolation", "fixed_size"}
    unknown = set(preprocessing) - allowed
    if unknown:
        raise TypeError(f"load_model() got unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    given = {key: value for key, value in preprocessing.items() if value is not None}
    check_preprocessing_values(given.get("input_size"), given.get("mean"), given.get("std"))
    changes = {key: tuple(value) if key in ("mean", "std") else value for key, value in given.items()}
    if weights is not None:
        changes["weights"] = Path(weights)
        if spec.builtin and classes is None:
            changes["classes"] = None  # ImageNet's names only if the file's head has 1000 classes
    if classes is not None:
        changes["classes"] = classes
    if layer:
        changes["default_layer"] = layer
    return dataclasses.replace(spec, **changes) if changes else spec


def _state_for(spec: BackboneSpec, pretrained: bool, allow_download: bool) -> dict[str, Tensor] | None:
    if spec.weights is not None:
        return read_state_dict(spec.weights)
    if not pretrained:
        return None
    if spec.lite_package:
        return read_state_dict(downloads.lite_package_weights(spec))
    if spec.architecture.startswith("torchvision:"):
        return downloads.torchvision_state_dict(spec, allow_download)
    if not spec.architecture.startswith("timm:"):
        return None  # a factory's model comes with the weights its code gives it
    raise WeightsUnavailableError(
        f"{spec.display_name} needs a weights file (a state dict: .pth, .pt, .bin or .safetensors); "
        "camlib downloads only torchvision's weights. (pretrained=False runs random weights.)"
    )


def _build(spec: BackboneSpec, state: dict[str, Tensor] | None) -> nn.Module:
    """The architecture with random weights, its head sized to ``state``'s classes (custom models only)."""
    model = _call_builder(spec, None)
    if state is None:
        return model
    wanted = classes_in_state(model, state)
    head = head_name(model)
    current = model.get_submodule(head).weight.shape[0] if head else None
    if wanted is not None and wanted != current:
        if spec.builtin:
            raise WeightsError(
                f"{spec.weights.name if spec.weights else 'The weights file'} holds a {wanted}-class head ({head}.weight), the built-in "
                f"{spec.key} has {current} classes: load it with --model {spec.architecture} (load_model('{spec.architecture}', ...)), "
                "which reads the number of classes from the file."
            )
        model = _call_builder(spec, wanted)
    return model


def _call_builder(spec: BackboneSpec, num_classes: int | None) -> nn.Module:
    try:
        model = spec.build(num_classes)
    except CamlibError:
        raise
    except Exception as error:  # the user's factory (or timm) may raise anything: one line, never a traceback
        raise ModelLoadError(f"Building {spec.display_name} failed: {type(error).__name__}: {_first_line(error)}") from None
    if not isinstance(model, nn.Module):
        raise ModelLoadError(f"{spec.architecture} returned a {type(model).__name__}, not a torch nn.Module.")
    return model


def _imagenet_weights(spec: BackboneSpec, state, pretrained: bool) -> bool:
    if spec.builtin:
        return state is not None or not pretrained
    return spec.weights is None and pretrained and spec.architecture.startswith("torchvision:")


def _checked_backbone(spec: BackboneSpec, model: nn.Module, device: torch.device, *, imagenet_weights: bool) -> Backbone:
    """Run the model once at its input size: finite (1, K) logits, the classes, the layer, CAM's head."""
    size = spec.input_size
    inputs = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(DRY_RUN_SEED)).to(device)
    maps: dict = {}
    try:
        output, outputs = layers.dry_run(model, inputs, maps)
    except CamlibError:
        raise
    except Exception as error:
        raise ModelLoadError(f"{spec.display_name} refuses a {size}×{size} input: {type(error).__name__}: {_first_line(error)}") from None
    model = layers.adapt_output(model, output)
    logits = layers.logits_of(output)
    if logits.ndim != 2 or logits.shape[0] != 1:
        raise ModelLoadError(f"{spec.display_name} returned a tensor of shape {tuple(logits.shape)}, not (1, classes) logits.")
    if not torch.isfinite(logits).all():
        raise ModelLoadError(f"{spec.display_name} outputs NaN or infinite logits on a test input; its weights may be corrupt.")
    class_names = class_names_for(spec.classes, logits.shape[1], imagenet_weights=imagenet_weights)
    layer = spec.default_layer or layers.automatic_layer(model, outputs)
    layers.check_layer(layer, outputs, model)
    spec = dataclasses.replace(spec, default_layer=layer, **_cam_fields(spec, model, layer, maps, logits))
    return Backbone(spec=spec, model=model, device=device, class_names=class_names, weights_path=spec.weights, layer_outputs=outputs)


def _cam_fields(spec: BackboneSpec, model: nn.Module, layer: str, maps: dict, logits: Tensor) -> dict:
    if spec.builtin or spec.cam_layer is not None or spec.cam_unavailable_reason is not None:
        return {}
    head = layers.cam_head(model, layer, head_name(model), maps, logits)
    if head is not None:
        return {"cam_layer": layer, "cam_classifier": head}
    return {"cam_unavailable_reason": (
        f"CAM is not applicable to {spec.display_name} at {layer}: CAM needs the layer's map to feed global average "
        "pooling and then one linear layer, and this model's logits are not that. Grad-CAM generalises CAM and works here."
    )}  # fmt: skip


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]
