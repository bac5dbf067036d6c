"""The models every session shares: one per backbone and weights file, each with the lock to hold while it computes."""

from __future__ import annotations

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
    """A loaded backbone shared by every session, with the lock to hold while using it."""

    backbone: Backbone
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@st.cache_resource(max_entries=MAX_CACHED_MODELS, show_spinner=False)
def shared_model(backbone_key: str, weights_path: str | None = None) -> SharedModel:
    """Load a backbone once per process (never downloading); raises :class:`CamlibError` when it can't."""
    return SharedModel(load_backbone(backbone_key, weights_path=weights_path, allow_download=False))


def download_weights(backbone_key: str) -> None:
    """Fetch torchvision's weights into the torch hub cache (needs internet); raises WeightsUnavailableError."""
    load_backbone(backbone_key, allow_download=True, device="cpu")


def save_uploaded_weights(backbone_key: str, data: bytes) -> Path:
    """Write an uploaded state dict to a temporary file named by its hash, for ``load_backbone(weights_path=...)``."""
    folder = Path(tempfile.gettempdir()) / "camlib-app-weights"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{backbone_key}-{digest_of(data)[:16]}.pth"
    if not path.is_file():
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
    return path


def device_label() -> str:
    device = default_device()
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"


@st.cache_data(max_entries=MAX_CACHED_PREDICTIONS, show_spinner=False)
def top_predictions(image_digest: str, backbone_key: str, weights_path: str | None, _image: Image.Image) -> list[tuple[int, str, float]]:
    """The top-5 classes (index, name, probability) of an image."""
    model = shared_model(backbone_key, weights_path)
    with model.lock:
        return model.backbone.top_predictions(model.backbone.preprocess(_image), k=5)


def layer_options(model: SharedModel) -> list[str]:
    """The backbone's preset layers first, then every other named module (any can be chosen)."""
    spec = model.backbone.spec
    presets = list(dict.fromkeys([spec.default_layer, *spec.layer_presets]))
    return presets + [name for name in model.backbone.layer_names() if name not in presets]
