"""The models every session shares: one per backbone and weights file.

There is no lock around a map or a prediction: camlib's methods are thread safe on a shared model (each
hook records only its own thread's pass and the train/eval mode is restored per thread; see
tests/test_hygiene.py), so one visitor's slow exact Score-CAM never holds up another's cheap maps or top-5.
"""

from __future__ import annotations

import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
import torch
from PIL import Image

from camlib.app.inputs import digest_of
from camlib.backbones import Backbone, default_device, load_backbone

WEIGHTS_TYPES = ["pth", "pt"]
MAX_CACHED_MODELS = 4
MAX_CACHED_PREDICTIONS = 256


@dataclass
class SharedModel:
    """A loaded backbone shared by every session; camlib's methods may use it from several threads at once."""

    backbone: Backbone
    # Not taken by the app's maps or predictions (see the module docstring); kept for callers that still
    # serialise on it (camlib/app/faithfulness.py), which therefore never hold up the other pages.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@st.cache_resource(max_entries=MAX_CACHED_MODELS, show_spinner=False)
def shared_model(backbone_key: str, weights_path: str | None = None) -> SharedModel:
    """Load a backbone once per process (never downloading); raises :class:`CamlibError` when it can't."""
    return SharedModel(load_backbone(backbone_key, weights_path=weights_path, allow_download=False))


def download_weights(backbone_key: str) -> None:
    """Fetch torchvision's weights into the torch hub cache (needs internet); raises WeightsUnavailableError."""
    load_backbone(backbone_key, allow_download=True, device="cpu")


def save_uploaded_weights(backbone_key: str, data: bytes, file_name: str) -> Path:
    """Write an uploaded state dict under a folder named by its hash, keeping the user's file name (so that
    every message about it names the file the user chose), for ``load_backbone(weights_path=...)``."""
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file_name).name).strip("._") or "weights.pth"
    folder = Path(tempfile.gettempdir()) / "camlib-app-weights" / f"{backbone_key}-{digest_of(data)[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe_name
    if not path.is_file():
        partial = folder / f".{safe_name}.part"
        partial.write_bytes(data)
        partial.replace(path)
    return path


def device_label() -> str:
    device = default_device()
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"


@st.cache_data(max_entries=MAX_CACHED_PREDICTIONS, show_spinner=False)
def top_predictions(
    image_digest: str, backbone_key: str, weights_path: str | None, _image: Image.Image, resolution: int = 224
) -> list[tuple[int, str, float]]:
    """The top-5 classes (index, name, probability) of an image at ``resolution`` (the input's shorter side)."""
    backbone = shared_model(backbone_key, weights_path).backbone
    return backbone.top_predictions(backbone.preprocess(_image, resolution), k=5)


@st.cache_data(max_entries=MAX_CACHED_PREDICTIONS, show_spinner=False)
def class_probability(
    image_digest: str, backbone_key: str, weights_path: str | None, _image: Image.Image, resolution: int, class_index: int
) -> float:
    """The softmax probability of one class, e.g. a typed class outside the top 5."""
    backbone = shared_model(backbone_key, weights_path).backbone
    return float(backbone.probabilities(backbone.preprocess(_image, resolution))[0, class_index])


def layer_options(model: SharedModel) -> list[str]:
    """The backbone's preset layers first, then every other named module (any can be chosen)."""
    spec = model.backbone.spec
    presets = list(dict.fromkeys([spec.default_layer, *spec.layer_presets]))
    return presets + [name for name in model.backbone.layer_names() if name not in presets]
