"""The target layer: the loader's default and candidates (with their output shapes) first, then every other
module; and the grid a layer's output lays over the input, from which the multi-object page reads the stride
(input pixels per cell) instead of assuming 32.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch
from PIL import Image

from camlib import cache_limits
from camlib.app.models import ModelChoice, SharedModel, shared_model
from camlib.errors import CamlibError, InvalidParameterError


def candidate_layers(model: SharedModel) -> list[tuple[str, tuple[int, ...], bool]]:
    """(name, output shape, is the default) for the layers with a spatial or token output: the default first,
    then the others from the deepest (the usual choices) to the shallowest."""
    rows = list(reversed(model.backbone.candidate_layers()))
    return sorted(rows, key=lambda row: not row[2])


def default_layer(model: SharedModel) -> str:
    return model.backbone.default_layer


def layer_options(model: SharedModel) -> list[str]:
    """The default layer, the other candidates, then every other named module (any can be chosen)."""
    candidates = list(dict.fromkeys([default_layer(model), *(name for name, _, _ in candidate_layers(model))]))
    return candidates + [name for name in model.backbone.layer_names() if name not in candidates]


def layer_labels(model: SharedModel) -> dict[str, str]:
    """How the layer box names each candidate: "layer4 · 512 × 7 × 7 (default)"; other layers by name only."""
    chosen = default_layer(model)
    labels = {}
    for name, shape, _ in candidate_layers(model):
        shape_text = f" · {' × '.join(str(size) for size in shape[1:])}" if shape else ""
        labels[name] = f"{name}{shape_text}{' (default)' if name == chosen else ''}"
    labels.setdefault(chosen, f"{chosen} (default)")
    return labels


def layer_caption(model: SharedModel, layer: str) -> str:
    """The line under the layer box: which layer camlib chose, and how many others there are."""
    candidates = [name for name, _, _ in candidate_layers(model)]
    others = len(candidates) - (default_layer(model) in candidates)
    text = f"camlib chose `{default_layer(model)}`" + (f"; {others} other candidates listed first" if others > 0 else "")
    return text + ("." if layer == default_layer(model) else f"; you chose `{layer}`.")


@st.cache_data(max_entries=cache_limits.LAYER_GRIDS, show_spinner=False)
def layer_grid(choice: ModelChoice, layer: str, resolution: int) -> tuple[int, int]:
    """(height, width) of the grid ``layer``'s output lays over a square grey image at ``resolution``;
    raises :class:`CamlibError` with one line when the layer has no spatial output."""
    backbone = shared_model(choice).backbone
    inputs = backbone.preprocess(Image.fromarray(np.full((resolution, resolution, 3), 128, np.uint8)), resolution)
    return _spatial_size(backbone.model, layer, _layer_output(backbone.model, layer, inputs))


def stride(choice: ModelChoice, layer: str, resolution: int) -> int:
    """Pixels of the shown image (shorter side ``resolution``) per cell of ``layer``'s output: 32 at a CNN's last
    stage, 16 at a ResNet's layer3 or in a ViT with 16-pixel patches. A fixed-size model's maps are stretched
    to the shown image, so its cell is the shown size over the grid, not its own input's pixels per cell."""
    grid_height, _ = layer_grid(choice, layer, resolution)
    return max(1, round(resolution / grid_height))


def _layer_output(model: torch.nn.Module, layer: str, inputs: torch.Tensor):
    modules = dict(model.named_modules())
    if layer not in modules:
        raise InvalidParameterError(f"The model has no layer named {layer!r}.")
    seen = []
    handle = modules[layer].register_forward_hook(lambda _module, _inputs, output: seen.append(output))
    try:
        with torch.inference_mode():
            model(inputs)
    finally:
        handle.remove()
    if not seen:
        raise InvalidParameterError(f"Layer {layer} is not used when the model runs: choose another layer.")
    output = seen[0]
    return output[0] if isinstance(output, tuple | list) and output else output


def _spatial_size(model: torch.nn.Module, layer: str, output) -> tuple[int, int]:
    """The (height, width) of the grid the output lays over the image: channels first (N, C, h, w), channels
    last (N, h, w, C, as Swin's), or tokens (N, T, C) on the model's patch grid."""
    shape = tuple(output.shape) if isinstance(output, torch.Tensor) else ()
    if len(shape) == 4:
        channels_last = shape[1] == shape[2] and shape[3] != shape[2]
        return (shape[1], shape[2]) if channels_last else (shape[2], shape[3])
    grid = getattr(getattr(model, "patch_embed", None), "grid_size", None)
    if len(shape) == 3 and grid is not None:
        return int(grid[0]), int(grid[1])
    raise InvalidParameterError(
        f"Layer {layer} has no spatial output (its output is {shape or type(output).__name__}): class activation maps "
        "need a layer whose output covers the image, such as a convolution stage or a transformer block. Choose another layer."
    )


def layer_problem(choice: ModelChoice, layer: str, resolution: int) -> str | None:
    """Why maps cannot be made at ``layer``, in one line, or ``None`` when they can."""
    try:
        layer_grid(choice, layer, resolution)
    except CamlibError as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - a user's model may raise anything
        return f"The model fails at {resolution} px: {type(error).__name__}: {error}"
    return None
