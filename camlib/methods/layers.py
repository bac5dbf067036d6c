"""Target layers: finding one by name, and listing those whose output is a spatial map."""

from __future__ import annotations

import threading

import torch
from torch import Tensor, nn

from camlib.errors import UnknownLayerError
from camlib.methods.tokens import NotSpatialError, automatic_reshape, is_transformer


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    """Return the submodule named by a dotted path such as ``"layer4"`` or ``"features.29"``."""
    if isinstance(layer, nn.Module):
        if not any(module is layer for module in model.modules()):
            raise UnknownLayerError("The given layer module is not part of the model.")
        return layer
    if not isinstance(layer, str):
        raise UnknownLayerError(f"A layer is a dotted module name or a module of the model, not {type(layer).__name__} {layer!r}.")
    modules = dict(model.named_modules())
    if layer not in modules or layer == "":
        candidates = [name for name in modules if name and name.split(".")[0] == layer.split(".")[0]]
        hint = f" Layers under '{layer.split('.')[0]}': {', '.join(candidates[-5:])}." if candidates else ""
        raise UnknownLayerError(f"Unknown layer '{layer}'.{hint} Use a dotted module name from model.named_modules().")
    return modules[layer]


def layer_name(model: nn.Module, layer: nn.Module) -> str:
    """The dotted name of ``layer`` in ``model`` (``"the model"`` for the model itself)."""
    return next((name for name, module in model.named_modules() if module is layer), "") or "the model"


def recommended_transformer_layer(model: nn.Module) -> str | None:
    """The layer the peers recommend on a Vision Transformer or a Swin: the last block's first norm
    (timm: ``blocks.11.norm1`` on a ViT-B/16, ``layers.3.blocks.1.norm1`` on a Swin-T; torchvision:
    ``encoder.layers.encoder_layer_11.ln_1``, ``features.7.1.norm1``); ``None`` for other models."""
    if not is_transformer(model):
        return None
    names = [name for name, _module in model.named_modules() if name.endswith((".norm1", ".ln_1"))]
    return names[-1] if names else None


def spatial_layers(model: nn.Module, inputs: Tensor) -> list[str]:
    """The layers whose output for ``inputs`` is a spatial map larger than 1 × 1 by camlib's automatic
    rule (:func:`~camlib.methods.tokens.automatic_reshape`), in the order the forward pass finishes them.

    Runs one forward pass on the first image, without gradients; the hooks (which see only this thread's
    pass) are removed in ``finally``."""
    found: list[str] = []
    owner_thread = threading.get_ident()

    def record(name: str, module: nn.Module):
        def hook(_module: nn.Module, _inputs: tuple, output) -> None:
            if threading.get_ident() != owner_thread or not isinstance(output, Tensor) or name in found:
                return
            try:
                reshape = automatic_reshape(model, module, tuple(output.shape), inputs.shape[-2:])
                spatial = reshape(output) if reshape is not None else output
            except NotSpatialError:
                return
            if spatial.shape[-2:] != (1, 1):
                found.append(name)

        return hook

    handles = [module.register_forward_hook(record(name, module)) for name, module in model.named_modules() if name]
    try:
        with torch.inference_mode():
            model(inputs[:1])
    finally:
        for handle in handles:
            handle.remove()
    return found


def spatial_layers_hint(model: nn.Module, inputs: Tensor, shown: int = 5) -> str:
    """A sentence naming the spatial layers closest to the output, and the recommended one of a transformer."""
    try:
        names = spatial_layers(model, inputs)
    except Exception:  # noqa: BLE001 - only a hint for an error already being raised; the model may refuse a pass
        return ""
    if not names:
        return " The model has no layer with a spatial output for this input."
    recommended = recommended_transformer_layer(model)
    advice = f"; on this transformer the peers recommend '{recommended}'" if recommended in names else ""
    return f" Pick one of the layers with a spatial output, such as {', '.join(names[-shown:])}{advice}."
