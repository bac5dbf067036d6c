"""How a photo becomes the model's input: size, mean, std and interpolation, read from the model's own
configuration (timm's ``pretrained_cfg``, torchvision's weights transforms) unless the spec sets them.

Most CNNs end in global pooling and take any size: the whole photo is resized with its aspect ratio
kept (:func:`model_input_size`). A model with a fixed input size (a Vision Transformer's position
embeddings) gets the photo squeezed to ``input_size`` × ``input_size``; its maps are resized back to
the photo's proportions (:func:`resize_map`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from camlib.backbones.spec import IMAGENET_MEAN, IMAGENET_STD, BackboneSpec
from camlib.errors import InvalidParameterError

MIN_RESOLUTION, MAX_RESOLUTION = 32, 1024  # the shorter side of the model input, in pixels
MAX_ASPECT_RATIO = 2.0  # the longer side is at most twice the shorter: a wider image is squeezed to 2:1
RESOLUTIONS = (224, 320, 448)  # the shorter sides the app offers; 224 is every backbone's default
INTERPOLATIONS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC, "nearest": Image.Resampling.NEAREST}


def model_input_size(width: int, height: int, resolution: int = 224) -> tuple[int, int]:
    """(width, height) of the model input for a ``width`` × ``height`` image: the shorter side at
    ``resolution``, the aspect ratio kept up to :data:`MAX_ASPECT_RATIO` (so the input holds at most
    2 × ``resolution``² pixels). Raises :class:`InvalidParameterError` outside 32–1024."""
    if not isinstance(resolution, int) or not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise InvalidParameterError(
            f"resolution must be a whole number of pixels from {MIN_RESOLUTION} to {MAX_RESOLUTION}, not {resolution!r}."
        )
    if width < 1 or height < 1:
        raise InvalidParameterError(f"An image of {width} × {height} pixels has nothing to resize.")
    longer = round(resolution * min(max(width, height) / min(width, height), MAX_ASPECT_RATIO))
    return (longer, resolution) if width >= height else (resolution, longer)


def resolve_preprocessing(spec: BackboneSpec, model: nn.Module) -> BackboneSpec:
    """``spec`` with input size, mean, std, interpolation and fixed size filled in: what the spec sets,
    else the model's own configuration, else 224 px, ImageNet's mean and std, bilinear, any size."""
    if None not in (spec.input_size, spec.mean, spec.std, spec.interpolation, spec.fixed_size):
        return spec
    found = _timm_config(model) or _torchvision_config(spec) or {}
    fixed = spec.fixed_size
    if fixed is None:
        fixed = bool(found.get("fixed_size")) or _is_torchvision_vit(model)
    interpolation = spec.interpolation or found.get("interpolation") or "bilinear"
    if interpolation not in INTERPOLATIONS:
        interpolation = "bilinear"
    return dataclasses.replace(
        spec,
        input_size=spec.input_size or found.get("input_size") or 224,
        mean=tuple(spec.mean or found.get("mean") or IMAGENET_MEAN),
        std=tuple(spec.std or found.get("std") or IMAGENET_STD),
        interpolation=interpolation,
        fixed_size=fixed,
    )


def _timm_config(model: nn.Module) -> dict | None:
    config = getattr(model, "pretrained_cfg", None)
    if not isinstance(config, dict) or "input_size" not in config:
        return None
    from timm.data import resolve_data_config

    data = resolve_data_config({}, model=model)
    return {
        "input_size": int(data["input_size"][-1]),
        "mean": tuple(float(v) for v in data["mean"]),
        "std": tuple(float(v) for v in data["std"]),
        "interpolation": data.get("interpolation"),
        "fixed_size": bool(config.get("fixed_input_size", False)),
    }


def _torchvision_config(spec: BackboneSpec) -> dict | None:
    if not spec.architecture.startswith("torchvision:"):
        return None
    from camlib.backbones.downloads import torchvision_weights_enum

    weights = torchvision_weights_enum(spec)
    if weights is None:
        return None
    transform = weights.transforms()
    return {
        "input_size": int(transform.crop_size[0]),
        "mean": tuple(transform.mean),
        "std": tuple(transform.std),
        "interpolation": getattr(transform.interpolation, "value", None),
    }


def _is_torchvision_vit(model: nn.Module) -> bool:
    import torchvision

    return isinstance(model, torchvision.models.VisionTransformer)


def input_pixels_size(spec: BackboneSpec, width: int, height: int, resolution: int | None) -> tuple[int, int]:
    """(width, height) the model is fed: fixed models always ``input_size`` square."""
    if spec.fixed_size:
        return spec.input_size, spec.input_size
    return model_input_size(width, height, spec.input_size if resolution is None else resolution)


def resized_rgb(spec: BackboneSpec, image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    rgb = image.convert("RGB")
    return np.asarray(rgb.resize(size, INTERPOLATIONS[spec.interpolation or "bilinear"]))


def normalise(spec: BackboneSpec, rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """(H, W, 3) uint8 -> normalised (1, 3, H, W) tensor on ``device``."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or 0 in rgb.shape:
        shape = rgb.shape if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise InvalidParameterError(f"to_tensor takes an RGB array of shape (H, W, 3), got {shape}.")
    tensor = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).float().div(255.0)
    mean = torch.tensor(spec.mean)[:, None, None]
    std = torch.tensor(spec.std)[:, None, None]
    return ((tensor - mean) / std)[None].to(device)


def resize_map(saliency: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """An (h, w) map bilinearly resized to ``shape`` (H, W), its range kept; unchanged when the shapes agree."""
    saliency = np.asarray(saliency, dtype=np.float32)
    if saliency.shape == tuple(shape):
        return saliency
    resized = F.interpolate(torch.from_numpy(saliency)[None, None], size=tuple(shape), mode="bilinear", align_corners=False)
    return resized[0, 0].clamp(float(saliency.min()), float(saliency.max())).numpy()
