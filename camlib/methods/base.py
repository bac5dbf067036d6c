"""The shared machinery of every CAM method.

:class:`BaseCAM` owns the passes, the choice of target classes, the weighted sum of the activation maps,
the upsampling and the normalisation. A method only says how it weights the channels of the target
layer, in :meth:`BaseCAM.channel_weights`, and always sees them as (N, K, h, w): the hook
(:mod:`camlib.methods.capture`) turns a Vision Transformer's tokens or a Swin's channels-last output into
that layout, for the activations and their gradients alike (:mod:`camlib.methods.tokens`).

Hooks live for one forward pass and are removed in ``finally``. They record only the passes of the
thread that registered them, so several threads (several app users) can explain with one model object
at the same time. Gradients are taken with :func:`torch.autograd.grad` with respect to the hooked
activation itself, so nothing is written into the parameters' ``.grad`` and no ``requires_grad`` flag
is changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from camlib.errors import InvalidParameterError, UnknownClassError, UnknownLayerError
from camlib.methods.capture import LayerCapture, LayerHook, Recorded, check_logits, eval_mode
from camlib.methods.layers import recommended_transformer_layer, resolve_layer, spatial_layers_hint
from camlib.methods.map_ops import normalize_maps
from camlib.methods.tokens import NotSpatialError, SpatialReshape

# LayerCapture, check_logits, eval_mode and resolve_layer live in capture and layers; they are imported from here too.
__all__ = [
    "BaseCAM", "LayerCapture", "ProgressCallback", "check_logits", "eval_mode", "input_channels", "model_device", "resolve_layer"
]

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while a long method runs."""


def _as_index_tensor(targets) -> Tensor:
    """Target classes as a long tensor; refuses fractions and booleans rather than truncating them."""
    try:
        values = targets if isinstance(targets, Tensor) else torch.as_tensor(np.asarray(list(targets) if not isinstance(targets, np.ndarray) else targets))
    except (TypeError, ValueError, RuntimeError):
        raise UnknownClassError(f"Target classes must be integers, got {targets!r}.") from None
    if values.dtype == torch.bool or values.is_floating_point() or values.is_complex():
        raise UnknownClassError(f"Target classes must be integers, got {values.reshape(-1)[:4].tolist()} ({values.dtype}).")
    return values.detach().to(dtype=torch.long).reshape(-1)


def input_channels(model: nn.Module) -> int | None:
    """The channels the model's first convolution takes, if it starts with one."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
    return None


def model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


class BaseCAM:
    """Base class of the CAM methods. Subclasses override :meth:`channel_weights`.

    Args (every method takes these; a method's docstring lists only its own):
        model: a classifier that maps (N, 3, H, W) images to (N, num_classes) logits.
        target_layer: the layer whose activations are combined, a module or its dotted name; its
            output must be a spatial map (N, K, h, w), or one that the model's own description turns into
            one (:mod:`camlib.methods.tokens`: a Vision Transformer's tokens, a Swin's channels-last maps).
        progress: optional ``progress(done, total)`` callback for long methods (the others ignore it).
        reshape: optional callable from the layer's output to (N, K, h, w), for a model whose layout
            camlib cannot read (e.g. :class:`~camlib.methods.tokens.TokenGrid`); applied to the
            activations and their gradients alike. A method's own constructor passes it on.

    Calling the method with images (N, 3, H, W) and one target class per image (or ``None`` for the
    top-1 prediction) returns float32 maps (N, H, W) in [0, 1] at the input's resolution. Every method
    is called the same way (the examples of all six):

    >>> import torch, torchvision
    >>> from camlib.methods import CAM, GradCAM, GradCAMpp, GradPPScoreCAM, ScoreCAM, SmoothGradCAMpp
    >>> model = torchvision.models.resnet18(num_classes=10).eval()
    >>> methods = [GradCAM(model, "layer4"), GradCAMpp(model, "layer4"), CAM(model, "layer4", classifier_layer="fc"),
    ...            ScoreCAM(model, "layer4", batch_size=64), GradPPScoreCAM(model, "layer4", top_k=16),
    ...            SmoothGradCAMpp(model, "layer4", n_samples=2)]
    >>> [method(torch.rand(1, 3, 64, 64), targets=[3]).shape for method in methods]
    [(1, 64, 64), (1, 64, 64), (1, 64, 64), (1, 64, 64), (1, 64, 64), (1, 64, 64)]
    >>> maps = CAM(model, "layer4", classifier_layer="fc")(torch.rand(2, 3, 64, 64), targets=[3, 7])
    >>> maps.shape, maps.dtype.name
    ((2, 64, 64), 'float32')
    """

    key: ClassVar[str] = ""
    uses_gradients: ClassVar[bool] = False

    def __init_subclass__(cls, *, key: str | None = None, uses_gradients: bool | None = None, **kwargs) -> None:
        """A method declares its key, and whether :meth:`compute` must capture gradients for
        :meth:`channel_weights`, in its class statement:
        ``class GradCAM(BaseCAM, key="gradcam", uses_gradients=True)``."""
        super().__init_subclass__(**kwargs)
        if key is not None:
            cls.key = key
        if uses_gradients is not None:
            cls.uses_gradients = uses_gradients

    def __init__(
        self,
        model: nn.Module,
        target_layer: str | nn.Module,
        *,
        progress: ProgressCallback | None = None,
        reshape: SpatialReshape | None = None,
    ) -> None:
        if reshape is not None and not callable(reshape):
            raise InvalidParameterError(f"reshape must be a callable from the layer's output to (N, K, h, w), not {reshape!r}.")
        self.model = model
        self.target_layer = resolve_layer(model, target_layer)
        self.layer_hook = LayerHook(model, self.target_layer, reshape)
        self.progress = progress
        self.notices: list[str] = []
        self.raw_ranges: list[tuple[float, float]] = []  # per map of the last call: (min, max) before normalisation

    # -- what a method overrides ---------------------------------------------------------------------

    def channel_weights(self, inputs: Tensor, targets: Tensor, capture: LayerCapture) -> Tensor:
        """Return the weight of each channel, (N, K), for the given inputs and target classes."""
        raise NotImplementedError

    def combine(self, weights: Tensor, activations: Tensor) -> Tensor:
        """Weighted sum of the activation maps followed by ReLU, (N, h, w)."""
        return F.relu(torch.einsum("nk,nkhw->nhw", weights, activations))

    # -- the work shared by all methods --------------------------------------------------------------

    def __call__(self, inputs: Tensor, targets: int | Sequence[int] | Tensor | None = None) -> np.ndarray:
        return self.compute(inputs, targets).cpu().numpy()

    def compute(self, inputs: Tensor, targets: int | Sequence[int] | Tensor | None = None) -> Tensor:
        """Like calling the method, but returns a float32 tensor on the model's device."""
        inputs = self.check_inputs(inputs)
        self.notices = []
        with eval_mode(self.model):
            capture = self.capture(inputs, targets, with_gradients=self.uses_gradients)
            target_tensor = self._resolve_targets(targets, capture.logits)
            if capture.gradients is None and self.uses_gradients:
                raise RuntimeError("gradient capture failed")
            weights = self.channel_weights(inputs, target_tensor, capture).detach().float()
            return self.maps_from_weights(weights, capture.activations, inputs.shape[-2:])

    def maps_from_weights(self, weights: Tensor, activations: Tensor, size: Sequence[int]) -> Tensor:
        """The last steps of every call: :meth:`combine` the channels (N, K, h, w) with their weights (N, K),
        upsample to ``size`` (H, W), record :attr:`raw_ranges`, and normalise each map to [0, 1]."""
        with torch.inference_mode():
            low_resolution = self.combine(weights.detach().float(), activations.float())
            maps = F.interpolate(low_resolution[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
            flat = maps.flatten(1)
            # each map's (min, max) before normalisation, in the method's own units: for a common scale
            self.raw_ranges = list(zip(flat.min(dim=1).values.tolist(), flat.max(dim=1).values.tolist()))
            return normalize_maps(maps)

    def capture(
        self,
        inputs: Tensor,
        targets: int | Sequence[int] | Tensor | None,
        *,
        with_gradients: bool,
    ) -> LayerCapture:
        """Run one forward pass, recording the target layer as (N, K, h, w); with gradients of the target
        logits too. A layer whose output is no spatial map raises an error that lists the layers that are."""
        try:
            if not with_gradients:
                with torch.inference_mode(), self.layer_hook.hooked(inputs.shape[-2:]) as recorded:
                    logits = self.model(inputs)
                entry = self.layer_hook.last(recorded)
                return LayerCapture(self.layer_hook.spatial(entry, entry.output), check_logits(logits), layout=entry.layout)
            entry, logits, gradients = self._gradient_pass(inputs, targets)
            return self._with_gradients(entry, logits, gradients)
        except NotSpatialError as error:
            raise UnknownLayerError(f"{error}{spatial_layers_hint(self.model, inputs)}") from None

    def _gradient_pass(self, inputs: Tensor, targets) -> tuple[Recorded, Tensor, Tensor]:
        """One forward and backward pass: the recorded layer, the logits and d logit[target] / d output."""
        # Autograd must be on even when the caller is inside torch.no_grad() or torch.inference_mode();
        # the clones make inputs and targets created in inference mode normal tensors that autograd can use.
        with torch.inference_mode(False), torch.enable_grad():
            with self.layer_hook.hooked(inputs.shape[-2:], as_leaf=True) as recorded:
                logits = self.model(inputs.clone())
            entry = self.layer_hook.last(recorded)
            logits = check_logits(logits)
            target_tensor = self._resolve_targets(targets, logits.detach()).clone()
            if not logits.requires_grad:
                raise UnknownLayerError("The target layer's output does not reach the model's output, so it has no gradient.")
            selected = logits.gather(1, target_tensor[:, None]).sum()
            (gradients,) = torch.autograd.grad(selected, entry.output)
        return entry, logits.detach(), gradients.detach()

    def _with_gradients(self, entry: Recorded, logits: Tensor, gradients: Tensor) -> LayerCapture:
        spatial_gradients = self.layer_hook.spatial(entry, gradients)
        if entry.layout == "tokens" and gradients.any() and not spatial_gradients.any():
            recommended = recommended_transformer_layer(self.model)
            raise UnknownLayerError(
                f"Layer '{self.layer_hook.name}': only its prefix (class) tokens reach the model's output, not its "
                f"patch tokens, so every map would be empty. Pick an earlier layer"
                + (f", such as '{recommended}'." if recommended else ".")
            )
        return LayerCapture(self.layer_hook.spatial(entry, entry.output.detach()), logits, spatial_gradients, entry.layout)

    def notify(self, message: str) -> None:
        """Record something the user should be told about the last call (read ``notices``)."""
        self.notices.append(message)

    def report_progress(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    # -- helpers -------------------------------------------------------------------------------------

    def check_inputs(self, inputs: Tensor) -> Tensor:
        """The inputs as float32 on the model's device, after refusing anything but a non-empty real (N, C, H, W) batch."""
        if not isinstance(inputs, Tensor) or inputs.ndim != 4:
            raise InvalidParameterError("Inputs must be a tensor of shape (N, C, H, W).")
        if inputs.shape[0] == 0:
            raise InvalidParameterError("The input batch is empty.")
        if inputs.device.type == "meta":
            raise InvalidParameterError("Inputs are on the meta device (shapes without values); move them to the CPU or a GPU.")
        expected = input_channels(self.model)
        if expected is not None and inputs.shape[1] != expected:
            raise InvalidParameterError(
                f"Inputs have {inputs.shape[1]} channels ({tuple(inputs.shape)}) but the model's first layer takes {expected}."
            )
        if inputs.is_complex():
            raise InvalidParameterError(f"Inputs must be real numbers, got {inputs.dtype}.")
        return inputs.detach().to(model_device(self.model), dtype=torch.float32)

    @staticmethod
    def resolve_targets(targets, logits: Tensor) -> Tensor:
        """The target classes as a long tensor (N,): the given ones, checked, or the top-1 of ``logits``."""
        return BaseCAM._resolve_targets(targets, logits)

    @staticmethod
    def _resolve_targets(targets, logits: Tensor) -> Tensor:
        batch, num_classes = logits.shape
        if targets is None:
            return logits.argmax(dim=1)
        if isinstance(targets, int | np.integer) and not isinstance(targets, bool | np.bool_):
            targets = [int(targets)] * batch
        target_tensor = _as_index_tensor(targets)
        target_tensor = target_tensor.reshape(-1).to(logits.device)
        if target_tensor.numel() != batch:
            raise InvalidParameterError(f"Got {target_tensor.numel()} target classes for a batch of {batch} images.")
        bad = [int(t) for t in target_tensor if not 0 <= int(t) < num_classes]
        if bad:
            raise UnknownClassError(f"Class index {bad[0]} does not exist: the model has classes 0 to {num_classes - 1}.")
        return target_tensor
