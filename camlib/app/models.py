"""The models every session shares: one per model choice (architecture or named model, weights, classes).

There is no lock around a map or a prediction: camlib's methods are thread safe on a shared model (each
hook records only its own thread's pass and the train/eval mode is restored per thread; see
tests/test_hygiene.py), so one visitor's slow exact Score-CAM never holds up another's cheap maps or top-5.

A model is loaded and checked (one forward pass on a grey image, whose outputs must be finite) before it
is shared: a model that refuses its input size or outputs NaN is refused with one message, and the
session keeps the model it had.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st
import torch
from PIL import Image

from camlib.backbones import Backbone, default_device, load_backbone
from camlib.errors import CamlibError, InvalidParameterError

MAX_CACHED_MODELS = 4
MAX_CACHED_PREDICTIONS = 256


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
    """Build and load the model of ``choice`` through camlib's loader, never downloading."""
    try:
        from camlib.backbones import load_model
    except ImportError:  # a camlib without load_model: only the built-in backbones
        if choice.classes is not None:
            raise InvalidParameterError("This camlib cannot read class-name files.") from None
        return load_backbone(choice.spec, weights_path=choice.weights, allow_download=False)
    return load_model(choice.spec, weights=choice.weights, classes=choice.classes, allow_download=False)


def check_runs(backbone: Backbone) -> None:
    """One forward pass on a grey image at the model's own input size: raises :class:`CamlibError` with one line
    when the model refuses it or its outputs are not finite numbers."""
    size = getattr(backbone.spec, "input_size", None) or 224
    grey = Image.fromarray(np.full((size, size, 3), 128, np.uint8))
    try:
        backbone.probabilities(backbone.preprocess(grey))
    except CamlibError:
        raise
    except Exception as error:  # noqa: BLE001 - a user's model may raise anything; it becomes one line
        raise InvalidParameterError(
            f"{display_name(backbone)} does not run on a {size} × {size} image: {type(error).__name__}: {_first_line(error)}"
        ) from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]


@st.cache_resource(max_entries=MAX_CACHED_MODELS, show_spinner=False)
def shared_model(choice: ModelChoice) -> SharedModel:
    """Load and check a model once per process (never downloading); raises :class:`CamlibError` when it can't."""
    backbone = load_choice(choice)
    check_runs(backbone)
    return SharedModel(backbone)


def download_weights(backbone_key: str) -> None:
    """Fetch torchvision's weights into the torch hub cache (needs internet); raises WeightsUnavailableError."""
    load_backbone(backbone_key, allow_download=True, device="cpu")


def display_name(backbone: Backbone) -> str:
    """The model's name for people: the loader's, else its spec's."""
    return getattr(backbone, "display_name", None) or backbone.spec.display_name


def is_imagenet(class_names) -> bool:
    """Whether a model's classes are ImageNet's 1000 (the sample photos' known classes are ImageNet indices)."""
    from camlib.backbones import imagenet_class_names

    return len(class_names) == 1000 and tuple(class_names) == imagenet_class_names()


def device_label() -> str:
    device = default_device()
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"


@st.cache_data(max_entries=MAX_CACHED_PREDICTIONS, show_spinner=False)
def top_predictions(image_digest: str, choice: ModelChoice, _image: Image.Image, resolution: int = 224) -> list[tuple[int, str, float]]:
    """The top classes (index, name, probability) of an image at ``resolution`` (the input's shorter side):
    five, or every class of a model with fewer."""
    backbone = shared_model(choice).backbone
    return backbone.top_predictions(backbone.preprocess(_image, resolution), k=min(5, len(backbone.class_names)))


@st.cache_data(max_entries=MAX_CACHED_PREDICTIONS, show_spinner=False)
def class_probability(image_digest: str, choice: ModelChoice, _image: Image.Image, resolution: int, class_index: int) -> float:
    """The softmax probability of one class, e.g. a typed class outside the top 5."""
    backbone = shared_model(choice).backbone
    return float(backbone.probabilities(backbone.preprocess(_image, resolution))[0, class_index])
