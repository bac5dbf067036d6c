"""A layer's output as a spatial map (N, C, h, w), read from the model: tokens to a grid, channels last to first.

Every method combines maps (N, K, h, w). A Vision Transformer's layers output tokens (N, T, C): the
prefix tokens (class, distillation, register) and then one token per patch, row by row. Swin's layers in
timm output (N, h, w, C). :func:`automatic_reshape` says how to turn a layer's output into (N, C, h, w)
from what the model itself declares, never from a square root of the token count:

- tokens: the patch grid and the number of prefix tokens of timm's Vision Transformers (ViT, DeiT, and
  the others built on timm's ``PatchEmbed``): ``model.patch_embed.grid_size`` (or its size for this
  input when the model takes several sizes) and ``model.num_prefix_tokens``; of torchvision's
  ``VisionTransformer``: ``image_size // patch_size`` a side and its one class token. The prefix tokens
  are dropped; a token count that is neither ``prefix + h·w`` nor ``h·w`` is refused;
- channels last: a layer that declares ``output_fmt = "NHWC"`` (timm's ``PatchEmbed``), or any layer
  but a convolution, batch norm, pooling or permutation to channels-first inside a model that declares
  it (timm's Swin) or is torchvision's ``SwinTransformer``.

The same rearrangement is applied to the activations and to their gradients (it is a permutation, so the
gradient of the rearranged map is the rearranged gradient). For a model these rules cannot read, a method
takes ``reshape=``: any callable from the layer's output to (N, C, h, w), such as :class:`TokenGrid` or
:func:`channels_last_to_first`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from torch import Tensor, nn
from torchvision.models import SwinTransformer, VisionTransformer

from camlib.errors import UnknownLayerError

SpatialReshape = Callable[[Tensor], Tensor]
"""Turns a layer's output into a spatial map (N, C, h, w)."""

CHANNELS_FIRST_LAYERS = (
    nn.Conv2d,
    nn.BatchNorm2d,
    nn.modules.pooling._AvgPoolNd,
    nn.modules.pooling._MaxPoolNd,
    nn.modules.pooling._AdaptiveAvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd,
)


class NotSpatialError(UnknownLayerError):
    """The layer's output cannot be read as a spatial map; the message says why."""


@dataclass(frozen=True)
class TokenGrid:
    """Tokens (N, prefix_tokens + height·width, C) to a map (N, C, height, width), the prefix tokens dropped.

    The patches are in row-major order (as timm's and the original ViT's ``flatten(2)`` leaves them).
    ``TokenGrid(14, 14, prefix_tokens=1)`` is a ViT-B/16's at 224 × 224, which is pytorch-grad-cam's
    ``vit_reshape_transform``.
    """

    height: int
    width: int
    prefix_tokens: int = 0

    def __call__(self, tokens: Tensor) -> Tensor:
        patches = self.height * self.width
        if tokens.ndim != 3 or tokens.shape[1] not in (patches, self.prefix_tokens + patches):
            raise NotSpatialError(
                f"{tuple(tokens.shape)} is not (N, {self.prefix_tokens} prefix tokens + {self.height}×{self.width} patches, C)"
            )
        batch, count, channels = tokens.shape
        grid = tokens[:, count - patches :].reshape(batch, self.height, self.width, channels)
        return grid.permute(0, 3, 1, 2)


def channels_last_to_first(output: Tensor) -> Tensor:
    """(N, h, w, C) to (N, C, h, w)."""
    if output.ndim != 4:
        raise NotSpatialError(f"{tuple(output.shape)} is not a channels-last map (N, h, w, C)")
    return output.permute(0, 3, 1, 2)


def _declares_channels_last(module: nn.Module) -> bool:
    fmt = getattr(module, "output_fmt", None)
    return str(getattr(fmt, "value", fmt)) == "NHWC" or isinstance(module, SwinTransformer)


def _outputs_channels_first(layer: nn.Module) -> bool:
    """A layer whose 4-D output is (N, C, h, w) even inside a channels-last model (torchvision's Swin permutes
    back with ``Permute([0, 3, 1, 2])`` before its pooling)."""
    return isinstance(layer, CHANNELS_FIRST_LAYERS) or list(getattr(layer, "dims", ())) == [0, 3, 1, 2]


def patch_embedding(model: nn.Module) -> nn.Module | None:
    """The model's patch embedding, if it says its grid (timm's ``PatchEmbed``: ``grid_size``, ``patch_size``)."""
    for module in model.modules():
        if hasattr(module, "grid_size") and hasattr(module, "patch_size"):
            return module
    return None


def model_token_grid(model: nn.Module, input_size: Sequence[int]) -> TokenGrid | None:
    """The grid of patches and the prefix tokens the model declares for an input of ``input_size`` (H, W)."""
    if isinstance(model, VisionTransformer):  # torchvision's: square inputs of image_size, one class token
        side = model.image_size // model.patch_size
        return TokenGrid(side, side, 1)
    embedding = patch_embedding(model)
    if embedding is None:
        return None
    dynamic = getattr(model, "dynamic_img_size", False) and hasattr(embedding, "dynamic_feat_size")
    height, width = embedding.dynamic_feat_size(tuple(input_size)) if dynamic else embedding.grid_size
    return TokenGrid(int(height), int(width), int(getattr(model, "num_prefix_tokens", 0) or 0))


def is_token_model(model: nn.Module) -> bool:
    """Whether the model turns images into a sequence of patch tokens (a Vision Transformer)."""
    return isinstance(model, VisionTransformer) or (patch_embedding(model) is not None and not _declares_channels_last(model))


def is_transformer(model: nn.Module) -> bool:
    """A Vision Transformer, or a Swin (timm's, torchvision's): a model whose layers this module can read."""
    return is_token_model(model) or _declares_channels_last(model)


def automatic_reshape(
    model: nn.Module, layer: nn.Module, shape: Sequence[int], input_size: Sequence[int]
) -> SpatialReshape | None:
    """How ``layer``'s output of ``shape`` becomes (N, C, h, w), from the model's declarations; ``None`` when
    it already is. Raises :class:`NotSpatialError` with the reason when it cannot be read as a map."""
    if len(shape) == 4:
        channels_last = _declares_channels_last(layer) or (
            _declares_channels_last(model) and not _outputs_channels_first(layer)
        )
        return channels_last_to_first if channels_last else None
    if len(shape) != 3:
        raise NotSpatialError("it is neither a map (N, K, h, w) nor tokens (N, T, C)")
    grid = model_token_grid(model, input_size)
    if grid is None:
        raise NotSpatialError(
            "tokens (N, T, C) of a model that does not declare its patch grid (timm's patch_embed.grid_size); "
            "pass reshape=TokenGrid(height, width, prefix_tokens) to the method"
        )
    patches = grid.height * grid.width
    if shape[1] not in (patches, grid.prefix_tokens + patches):
        raise NotSpatialError(
            f"{shape[1]} tokens, but the model declares {grid.prefix_tokens} prefix tokens and a "
            f"{grid.height}×{grid.width} grid of patches"
        )
    return grid
