"""What one forward pass records at the target layer, as the spatial map every method combines.

:class:`LayerHook` hooks the target layer for one pass and records its output; :meth:`LayerHook.spatial`
turns that output, or its gradient, into (N, K, h, w) by the same rule: the method's ``reshape=`` when
given, otherwise :func:`~camlib.methods.tokens.automatic_reshape` (tokens to a grid, channels last to
first, read from the model). Hooks record only the passes of the thread that registered them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from torch import Tensor, nn

from camlib.errors import InvalidParameterError, UnknownLayerError
from camlib.methods.layers import layer_name
from camlib.methods.tokens import NotSpatialError, SpatialReshape, TokenGrid, automatic_reshape, channels_last_to_first


@dataclass
class LayerCapture:
    """What one forward pass recorded at the target layer."""

    activations: Tensor  # (N, K, h, w)
    logits: Tensor  # (N, num_classes)
    gradients: Tensor | None = None  # d logit[target] / d activations, (N, K, h, w)
    layout: str = "map"  # how the layer's output became (N, K, h, w): "map", "channels_last", "tokens" or "reshape"


def check_logits(logits) -> Tensor:
    """The model's output, if it is finite logits (N, num_classes); otherwise a clear error."""
    if not isinstance(logits, Tensor) or logits.ndim != 2:
        raise InvalidParameterError("The model must return logits of shape (N, num_classes).")
    if not logits.isfinite().all():
        raise InvalidParameterError("The model produced non-finite outputs (NaN or inf) for this input.")
    return logits


@contextmanager
def eval_mode(model: nn.Module):
    """Put the model in eval mode for the block and restore every submodule's mode afterwards, even on
    error (a frozen BatchNorm inside a training model stays in eval mode).

    A model that is already in eval mode throughout (every model camlib loads) is left untouched, so
    threads that share it never race on the mode.
    """
    training = [module for module in model.modules() if module.training]
    if training:
        model.eval()
    try:
        yield
    finally:
        for module in training:
            module.training = True


def _layout(reshape: SpatialReshape | None, given: bool) -> str:
    if given:
        return "reshape"
    if reshape is None:
        return "map"
    return "tokens" if isinstance(reshape, TokenGrid) else "channels_last" if reshape is channels_last_to_first else "reshape"


@dataclass
class Recorded:
    """The target layer's output in one pass (a leaf that autograd can reach when gradients are wanted)."""

    output: Tensor
    reshape: SpatialReshape | None
    layout: str


class LayerHook:
    """Records the target layer's output, checked to be (or to become) a spatial map larger than 1 × 1."""

    def __init__(self, model: nn.Module, layer: nn.Module, reshape: SpatialReshape | None = None) -> None:
        self.model = model
        self.layer = layer
        self.reshape = reshape

    @property
    def name(self) -> str:
        return layer_name(self.model, self.layer)

    def rule(self, output, input_size: Sequence[int]) -> SpatialReshape | None:
        """The reshape of this output to (N, K, h, w); raises :class:`NotSpatialError` when there is none."""
        if not isinstance(output, Tensor):
            raise NotSpatialError(
                f"Layer '{self.name}' outputs a {type(output).__name__}: not a spatial map (N, K, h, w)."
            )
        if self.reshape is not None:
            return self.reshape
        try:
            return automatic_reshape(self.model, self.layer, tuple(output.shape), input_size)
        except NotSpatialError as error:
            shape = tuple(output.shape)
            raise NotSpatialError(f"Layer '{self.name}' outputs shape {shape}: not a spatial map ({error}).") from None

    def spatial(self, recorded: Recorded, tensor: Tensor, *, contiguous: bool = True) -> Tensor:
        """``tensor`` (the recorded output or its gradient) as (N, K, h, w)."""
        if recorded.reshape is None:
            return tensor
        try:
            spatial = recorded.reshape(tensor)
        except NotSpatialError:
            raise
        except Exception as error:  # noqa: BLE001 - a caller's reshape= failing is reported as the caller's error
            raise NotSpatialError(f"reshape= failed on layer '{self.name}''s output {tuple(tensor.shape)}: {error}") from None
        if not isinstance(spatial, Tensor) or spatial.ndim != 4:
            shape = tuple(spatial.shape) if isinstance(spatial, Tensor) else type(spatial).__name__
            raise NotSpatialError(
                f"reshape= turned layer '{self.name}''s output {tuple(tensor.shape)} into {shape}, not (N, K, h, w)."
            )
        return spatial.contiguous() if contiguous else spatial

    @contextmanager
    def hooked(self, input_size: Sequence[int], *, as_leaf: bool = False):
        """Hook the layer for the block; yields the list its passes are recorded into."""
        recorded: list[Recorded] = []
        owner_thread = threading.get_ident()

        def record(_module: nn.Module, _inputs: tuple, output):
            if threading.get_ident() != owner_thread:
                return None
            reshape = self.rule(output, input_size)
            entry = Recorded(output.detach(), reshape, _layout(reshape, self.reshape is not None))
            spatial_shape = tuple(self.spatial(entry, entry.output, contiguous=False).shape)
            if spatial_shape[-2:] == (1, 1):
                raise UnknownLayerError(
                    f"The target layer's output is 1×1 ({spatial_shape}): one value per channel has no "
                    "position, so the map would be rounding noise. Choose an earlier layer, or give a larger input."
                )
            recorded.append(entry)
            if not as_leaf:
                return None
            # A leaf copy lets autograd.grad reach the activation without gradients for the parameters;
            # the clone keeps later in-place layers (ReLU(inplace=True)) from touching the leaf.
            entry.output = output.detach().requires_grad_(True)
            return entry.output.clone()

        handle = self.layer.register_forward_hook(record)
        try:
            yield recorded
        finally:
            handle.remove()

    @staticmethod
    def last(recorded: list[Recorded]) -> Recorded:
        if not recorded:
            raise UnknownLayerError("The target layer was not used by the model's forward pass.")
        # A layer that runs twice in one pass keeps its last output, the one closest to the classifier.
        return recorded[-1]
