"""The model's layers seen by one dry forward pass: output shapes, the automatic target layer, and the
adapter for models whose output is not a plain tensor.

Automatic layer: for a transformer, the first norm of its last block (``blocks.11.norm1`` in timm's
ViT / DeiT, ``layers.3.blocks.1.norm1`` in Swin, ``encoder.layers.encoder_layer_11.ln_1`` in
torchvision's ViT), as pytorch-grad-cam recommends; for a CNN, the last module whose output is a
spatial (N, C, h, w) map with h·w > 1, skipping pooling, identity and dropout modules and any module
whose output *is* a pooling layer's (VGG's ``features`` ends in max pooling: ``features.29`` is chosen;
ConvNeXt's ``norm_pre`` is an identity: ``stages.3`` is chosen).

Outputs: a model that returns a tuple or list (its first element), a dict (``"logits"``, else its
only tensor) or an object with ``.logits`` (Hugging Face) gets a subclass of its own class whose
``forward`` returns that tensor (:func:`adapt_output`). Module names, parameters, state dict and
hooks are unchanged, so every layer name stays what the user knows.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor, nn

from camlib import cache_limits
from camlib.errors import InvalidParameterError, UnknownLayerError

TRANSFORMER_NORMS = ("norm1", "ln_1", "layernorm_before")
_POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
_PASS_THROUGH = (*_POOLING, nn.Identity, nn.Dropout, nn.Dropout2d)  # never the automatic layer: pooled, or a copy of the one before


@dataclass(frozen=True)
class LayerOutput:
    name: str
    shape: tuple[int, ...]
    after_pooling: bool  # its output is the output of a pooling layer


def logits_of(output) -> Tensor:
    """The logits tensor in a model's output: a tensor, a tuple / list's first element, a dict's
    ``"logits"`` (or its only tensor), an object's ``.logits``."""
    if isinstance(output, Tensor):
        return output
    if isinstance(output, tuple | list) and output and isinstance(output[0], Tensor):
        return output[0]
    if isinstance(output, dict):
        tensors = [value for value in output.values() if isinstance(value, Tensor)]
        if isinstance(output.get("logits"), Tensor):
            return output["logits"]
        if len(tensors) == 1:
            return tensors[0]
    if isinstance(getattr(output, "logits", None), Tensor):
        return output.logits
    raise InvalidParameterError(
        f"The model returned a {type(output).__name__}, not logits: camlib reads a tensor, a tuple's first "
        "element, a dict's 'logits' or an object's .logits."
    )


@lru_cache(maxsize=cache_limits.LOGITS_CLASSES)
def _logits_class(cls: type) -> type:
    def forward(self, *args, **kwargs):
        return logits_of(cls.forward(self, *args, **kwargs))

    return type(cls.__name__, (cls,), {"forward": forward, "__doc__": cls.__doc__, "__module__": cls.__module__,
                                       "__qualname__": f"{cls.__qualname__}[logits]"})  # fmt: skip


def adapt_output(model: nn.Module, output) -> nn.Module:
    """``model`` made to return plain logits when ``output`` (what it returned) is not a tensor."""
    if not isinstance(output, Tensor):
        logits_of(output)  # refuses an output with no logits in it
        model.__class__ = _logits_class(type(model))
    return model


def dry_run(model: nn.Module, inputs: Tensor, maps: dict | None = None) -> tuple[object, list[LayerOutput]]:
    """One forward pass without gradients, recording each module's output shape in the order the
    modules finish (and, into ``maps`` when given, each 4-D output). The hooks are removed in ``finally``."""
    names = {module: name for name, module in model.named_modules() if name}
    recorded: list[tuple[str, Tensor, nn.Module]] = []
    pooled: set[int] = set()
    own_thread = threading.get_ident()  # a model shared by the app's sessions: record only this pass

    def record(module: nn.Module, _inputs, output) -> None:
        if isinstance(output, Tensor) and threading.get_ident() == own_thread:
            recorded.append((names[module], output, module))
            if isinstance(module, _POOLING):
                pooled.add(id(output))

    handles = [module.register_forward_hook(record) for module in names]
    try:
        with torch.no_grad():
            output = model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    layers = {}
    for name, tensor, module in recorded:  # a module called twice (a shared ReLU) keeps its last output
        if maps is not None and tensor.ndim == 4:
            maps[name] = tensor
        layers.pop(name, None)
        layers[name] = LayerOutput(name, tuple(tensor.shape), id(tensor) in pooled and not isinstance(module, _POOLING))
    return output, list(layers.values())


def is_spatial(shape: tuple[int, ...]) -> bool:
    """A (N, C, h, w) map with more than one cell, or (N, tokens, C) transformer tokens."""
    return (len(shape) == 4 and shape[-1] * shape[-2] > 1) or (len(shape) == 3 and shape[1] > 1)


def automatic_layer(model: nn.Module, layers: list[LayerOutput]) -> str:
    """The target layer when none is given (see the module docstring)."""
    order = {layer.name: index for index, layer in enumerate(layers)}
    norms = [name for name, _ in model.named_modules() if name.rsplit(".", 1)[-1] in TRANSFORMER_NORMS
             and re.search(r"\.\w*?\d+\.", f".{name}") and name in order]  # fmt: skip
    if norms:
        return norms[-1]
    maps = [layer for layer in layers if len(layer.shape) == 4 and layer.shape[-1] * layer.shape[-2] > 1]
    chosen = [layer for layer in maps if not layer.after_pooling and not isinstance(model.get_submodule(layer.name), _PASS_THROUGH)]
    if chosen:
        return _outermost_single_resolution(chosen, layers)
    raise UnknownLayerError("The model has no layer with a spatial output (N, C, h, w) to explain; give one with --layer.")


def _outermost_single_resolution(chosen: list[LayerOutput], layers: list[LayerOutput]) -> str:
    """The last map is often the output of nested modules (``layer4``, ``layer4.1``, ``layer4.1.act2``;
    ``stages``, ``stages.3``, ...): take the outermost whose children's maps all have its resolution, so a
    stage (``layer4``, ``stages.3``) rather than the container of all stages (``stages``)."""
    final = chosen[-1]
    order = {layer.name: index for index, layer in enumerate(chosen)}
    nested = [layer for layer in chosen if layer.shape == final.shape and (layer is final or layer.name.startswith(final.name + "."))]
    for layer in sorted(nested, key=lambda item: (item.name.count("."), -order[item.name])):
        inside = [other.shape[-2:] for other in layers if len(other.shape) == 4 and other.name.rpartition(".")[0] == layer.name]
        if all(size == layer.shape[-2:] for size in inside):
            return layer.name
    return final.name


def check_layer(name: str, layers: list[LayerOutput], model: nn.Module) -> None:
    """Refuse a layer that does not exist or whose output is not spatial."""
    by_name = {layer.name: layer for layer in layers}
    if name not in by_name:
        known = dict(model.named_modules())
        if name not in known or name == "":
            raise UnknownLayerError(f"Unknown layer '{name}'. `camlib layers --model ...` lists the layers with their output shapes.")
        raise UnknownLayerError(f"Layer '{name}' is not used when the model runs (no output recorded); choose another.")
    shape = by_name[name].shape
    if not is_spatial(shape):
        raise UnknownLayerError(
            f"Layer '{name}' outputs {shape}, not a spatial map (N, C, h, w) or tokens (N, T, C): it cannot be explained."
        )


def candidate_layers(layers: list[LayerOutput], default: str | None) -> list[tuple[str, tuple[int, ...], bool]]:
    """(name, output shape, is_default) of every layer with a spatial or token output, in forward order."""
    return [(layer.name, layer.shape, layer.name == default) for layer in layers if is_spatial(layer.shape)]


def cam_head(model: nn.Module, layer: str, head: str | None, maps: dict, logits: Tensor) -> str | None:
    """``head`` when CAM is exact for ``layer``: the logits equal the spatial mean of ``layer``'s map
    times ``head``'s weights plus its bias (checked on the dry pass's numbers); else None."""
    module = model.get_submodule(head) if head else None
    activation = maps.get(layer)
    if not isinstance(module, nn.Linear) or activation is None or activation.shape[1] != module.in_features:
        return None
    predicted = activation.float().mean(dim=(2, 3)) @ module.weight.float().T
    if module.bias is not None:
        predicted = predicted + module.bias.float()
    if predicted.shape != logits.shape:
        return None
    scale = float(logits.abs().max()) + 1e-6
    return head if float((predicted - logits.float()).abs().max()) <= 1e-3 * scale else None
