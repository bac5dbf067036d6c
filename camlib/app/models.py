"""The models every session shares: one per model choice (architecture or named model, weights, classes).

There is no lock around a map or a prediction: camlib's methods are thread safe on a shared model (each
hook records only its own thread's pass and the train/eval mode is restored per thread; see
tests/test_hygiene.py), so one visitor's slow exact Score-CAM never holds up another's cheap maps or top-5.

A model is loaded and checked by camlib's loader (weights that fit, class names as many as the head's outputs,
one forward pass at its input size with finite outputs) before it is shared: a model that fails any of these
is refused with one message, and the session keeps the model it had.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
import torch
from PIL import Image

from camlib import cache_limits
from camlib.backbones import Backbone, default_device, load_backbone, load_model
from camlib.errors import CamlibError, InvalidParameterError
from camlib.lru import BoundedCache


@dataclass(frozen=True)
class ModelChoice:
    """What decides a model: the text camlib's model loader reads (a built-in key such as ``efficientnet_lite0``,
    a named model of the models file, ``timm:NAME`` or ``torchvision:NAME``), and files on the server (an
    upload is saved under its hash first) for its weights and class names. Hashable: part of every cache key."""

    spec: str
    weights: str | None = None
    classes: str | None = None

    @property
    def weights_name(self) -> str | None:
        return Path(self.weights).name if self.weights else None


@dataclass
class SharedModel:
    """A loaded backbone shared by every session; camlib's methods may use it from several threads at once."""

    backbone: Backbone
    # Not taken by the app's maps or predictions (see the module docstring); kept for callers that still
    # serialise on it (camlib/app/faithfulness.py), which therefore never hold up the other pages.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def load_choice(choice: ModelChoice) -> Backbone:
    """Build, load and check the model of ``choice`` through :func:`camlib.backbones.load_model` (weights by name,
    class names against the head, one dry pass with finite outputs), never downloading. Only the models file's
    named models may be Python factories: any text with a colon must be ``timm:`` or ``torchvision:``."""
    return load_model(choice.spec, weights=choice.weights, classes=choice.classes, allow_download=False,
                      allow_factory=":" not in choice.spec)


def model_bytes(model: SharedModel) -> int:
    """The bytes of a shared model's parameters and buffers."""
    return sum(tensor.numel() * tensor.element_size() for tensor in model.backbone.model.state_dict(keep_vars=True).values())


MODELS: BoundedCache[SharedModel] = BoundedCache(cache_limits.MODELS, cache_limits.MODELS_BYTES, sizer=model_bytes)


def shared_model(choice: ModelChoice) -> SharedModel:
    """Load and check a model once per process (never downloading); raises :class:`CamlibError` when it can't,
    and nothing is cached then. The least recently used models go beyond :data:`camlib.cache_limits.MODELS`
    models or ``MODELS_BYTES`` bytes (a session still using one keeps it until it is done)."""
    return MODELS.get(choice, lambda: SharedModel(load_choice(choice)))


def download_weights(backbone_key: str) -> None:
    """Fetch torchvision's weights into the torch hub cache (needs internet); raises WeightsUnavailableError."""
    load_backbone(backbone_key, allow_download=True, device="cpu")


def display_name(backbone: Backbone) -> str:
    """The model's name for people (the model box says which built-in weights work offline; the pages need not)."""
    return backbone.display_name.removesuffix(" (offline)")


def is_imagenet(class_names) -> bool:
    """Whether a model's classes are ImageNet's 1000 (the sample photos' known classes are ImageNet indices)."""
    from camlib.backbones import imagenet_class_names

    return len(class_names) == 1000 and tuple(class_names) == imagenet_class_names()


def device_label() -> str:
    device = default_device()
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"


def _runs_on(backbone: Backbone, resolution: int, compute):
    """``compute()``, with anything a user's model raises on this input turned into one line."""
    try:
        return compute()
    except CamlibError:
        raise
    except Exception as error:  # noqa: BLE001 - a user's model may raise anything; it becomes one line
        first_line = (str(error).strip().splitlines() or [""])[0][:300]
        raise InvalidParameterError(
            f"{backbone.display_name} does not run on this image at {resolution} px ({type(error).__name__}: {first_line}). "
            "Try another resolution, or give the model's input size in the models file."
        ) from None


@st.cache_data(max_entries=cache_limits.PREDICTIONS, show_spinner=False)
def top_predictions(
    image_digest: str, choice: ModelChoice, _image: Image.Image, resolution: int = 224
) -> list[tuple[int, str, float]]:
    """The top classes (index, name, probability) of an image at ``resolution`` (the input's shorter side):
    five, or every class of a model with fewer. Raises :class:`CamlibError` when the model fails on it."""
    backbone = shared_model(choice).backbone
    k = min(5, len(backbone.class_names))
    return _runs_on(backbone, resolution, lambda: backbone.top_predictions(backbone.preprocess(_image, resolution), k=k))


@st.cache_data(max_entries=cache_limits.PREDICTIONS, show_spinner=False)
def class_probability(image_digest: str, choice: ModelChoice, _image: Image.Image, resolution: int, class_index: int) -> float:
    """The softmax probability of one class, e.g. a typed class outside the top 5."""
    backbone = shared_model(choice).backbone
    probabilities = _runs_on(backbone, resolution, lambda: backbone.probabilities(backbone.preprocess(_image, resolution)))
    return float(probabilities[0, class_index])
