"""Shared fixtures: the real offline EfficientNet-Lite0 (and Lite1, Lite2), a real photo, small random models, shared data.

Nothing here downloads: ``CAMLIB_OFFLINE`` is set for the whole session, EfficientNet-Lite0's weights
ship in a pip package, and every other model is built with random weights. Nothing is written into the
repository: tests write under their temporary folders, and Hypothesis's cache goes to a temporary folder.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import os
import shutil
import tempfile

os.environ["CAMLIB_OFFLINE"] = "1"
if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
    # Hypothesis keeps a cache (.hypothesis/) in the working directory, the repository; tests write only
    # under temporary folders, so it goes to one that is removed at exit.
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = tempfile.mkdtemp(prefix="camlib-hypothesis-")
    atexit.register(shutil.rmtree, os.environ["HYPOTHESIS_STORAGE_DIRECTORY"], ignore_errors=True)

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from camlib.methods import METHODS

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"  # the ImageNet sample (research use only, never in the repository)
DATA_DIR = Path(__file__).resolve().parent / "data"
PHOTOS_DIR = REPO_ROOT / "camlib" / "data" / "photos"  # pytorch-grad-cam's MIT photos, shipped with camlib


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two maps, flattened."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    assert a.std() > 0 and b.std() > 0, "a constant map has no correlation; the test input is degenerate"
    return float(np.corrcoef(a, b)[0, 1])


def _load_reference_maps_script():
    """``tests/data/make_reference_maps.py``, loaded as a module (it lives beside the data it makes)."""
    spec = importlib.util.spec_from_file_location("make_reference_maps", DATA_DIR / "make_reference_maps.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE_MAPS_SCRIPT = _load_reference_maps_script()


class TinyGapNet(REFERENCE_MAPS_SCRIPT.TinyNet):
    """conv -> ReLU -> conv (``features``) -> ReLU -> global average pooling -> one linear layer.

    Small enough that Score-CAM's one pass per channel costs nothing, and CAM applies to it
    (``features`` feeds the pooling, ``fc`` is the single linear layer after it). The layers are those of
    the network the saved reference maps were made with (``tests/data/make_reference_maps.py``), so the
    two cannot drift apart. This one defaults to 8 channels and has a ``flatten`` module that the forward
    pass does not use (the CLI fuzz test offers ``flatten`` as a layer that gives no map).
    """

    def __init__(self, channels: int = 8, classes: int = 5) -> None:
        super().__init__(channels, classes)
        self.flatten = nn.Flatten()


def make_tiny_gap_net(seed: int = 0, channels: int = 8, classes: int = 5) -> TinyGapNet:
    torch.manual_seed(seed)
    return TinyGapNet(channels, classes).eval()


CHEAP_METHOD_PARAMS: dict[str, dict] = {
    "smoothgradcampp": {"n_samples": 2},
    "scorecam": {"batch_size": 3},
    "gradpp_scorecam": {"top_k": 6, "batch_size": 3},
    "sscam": {"n_samples": 2, "batch_size": 3},
    "iscam": {"n_samples": 2, "batch_size": 3},
    "ablationcam": {"batch_size": 3},
    "reciprocam": {"batch_size": 3},
    "groupcam": {"groups": 4, "batch_size": 3},
}
"""Settings that keep the slow methods cheap on tiny models (usable as ``explain``'s ``method_params``)."""


def make_method(key: str, model: nn.Module, layer: str = "act2", **params):
    """Method ``key`` on ``model`` at ``layer`` with :data:`CHEAP_METHOD_PARAMS`, which ``params`` override.

    CAM's classifier is ``fc`` (TinyGapNet's) unless ``classifier_layer`` is given.
    """
    defaults = {"classifier_layer": "fc"} if key == "cam" else CHEAP_METHOD_PARAMS.get(key, {})
    return METHODS[key].method_class(model, layer, **{**defaults, **params})


def make_every_method(model: nn.Module, layer: str = "act2", **params_by_key: dict) -> dict:
    """One instance of each method of the registry (:func:`make_method`), keyed by method; ``params_by_key``
    overrides one method's settings, e.g. ``gradpp_scorecam={"top_k": None}``."""
    return {key: make_method(key, model, layer, **params_by_key.get(key, {})) for key in METHODS}


def make_tiny_backbone(model: nn.Module | None = None, classes: int = 1000):
    """A :class:`camlib.backbones.Backbone` around a :class:`TinyGapNet` with ``classes`` classes (or around
    ``model``), standing in for EfficientNet-Lite0: 32-pixel inputs, target and CAM layer ``features``, CAM
    classifier ``fc``, the first ``classes`` ImageNet class names."""
    from camlib.backbones import BACKBONES, Backbone, imagenet_class_names

    spec = dataclasses.replace(
        BACKBONES["efficientnet_lite0"], input_size=32, default_layer="features", cam_layer="features", cam_classifier="fc"
    )
    model = make_tiny_gap_net(classes=classes) if model is None else model
    return Backbone(spec=spec, model=model, device=torch.device("cpu"), class_names=imagenet_class_names()[:classes])


METHOD_FACTORIES = {key: partial(make_method, key) for key in METHODS}
"""``(model, layer="act2", **params) -> method`` for each method of the registry (:func:`make_method`)."""

GENERATOR_SEED = 7


def random_inputs(*shape: int, seed: int = GENERATOR_SEED) -> torch.Tensor:
    """Standard normal inputs of ``shape`` from their own generator (the global seed is untouched)."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def tiny_activations(model: TinyGapNet, inputs: torch.Tensor, layer: str) -> np.ndarray:
    """(N, K, h, w) float64 output of ``layer`` ("features" or "act2") of a :class:`TinyGapNet`, by running
    its modules in turn (no hook, none of camlib's code)."""
    with torch.no_grad():
        features = model.features(model.act(model.stem(inputs)))
        return (features if layer == "features" else F.relu(features)).double().numpy()


def assert_no_hooks(model: nn.Module) -> None:
    """No forward, forward-pre, backward or backward-pre hook is left on any module of ``model``."""
    for name, module in model.named_modules():
        for hooks in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            assert not getattr(module, hooks), f"{hooks} left on '{name or 'the model'}'"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder (``../shared``) that holds the ImageNet sample; a user's clone does not have
    it (the images are for research use only and never ship with camlib), so tests that need it skip."""
    if not (SHARED_DIR / "imagenet-sample").is_dir():
        pytest.skip(f"the ImageNet sample ({SHARED_DIR / 'imagenet-sample'}) is not on this machine: it is research data that camlib does not ship")
    return SHARED_DIR


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """camlib's sample photos (``camlib/data/photos``, from pytorch-grad-cam's examples, MIT): always present."""
    assert (PHOTOS_DIR / "LICENSE-pytorch-grad-cam").is_file(), f"{PHOTOS_DIR} is incomplete"
    return PHOTOS_DIR


@pytest.fixture(scope="session")
def effnet():
    """The real EfficientNet-Lite0 with its offline ImageNet weights, loaded once (treat as read-only)."""
    from camlib.backbones import load_backbone

    return load_backbone("efficientnet_lite0", device="cpu")


@pytest.fixture(scope="session")
def effnet_lite1():
    """The real EfficientNet-Lite1 (input 240) with its offline ImageNet weights, loaded once (read-only)."""
    from camlib.backbones import load_backbone

    return load_backbone("efficientnet_lite1", device="cpu")


@pytest.fixture(scope="session")
def effnet_lite2():
    """The real EfficientNet-Lite2 (input 260) with its offline ImageNet weights, loaded once (read-only)."""
    from camlib.backbones import load_backbone

    return load_backbone("efficientnet_lite2", device="cpu")


@pytest.fixture(scope="session")
def chelsea_image() -> Image.Image:
    """A real photo of a cat (scikit-image's ``chelsea``), no shared data needed."""
    from skimage import data

    return Image.fromarray(data.chelsea())


@pytest.fixture(scope="session")
def chelsea_png(tmp_path_factory, chelsea_image) -> Path:
    path = tmp_path_factory.mktemp("images") / "chelsea.png"
    chelsea_image.save(path)
    return path
