"""A model whose right answer is known: one class per colour, for the pointing-game tests.

Shared by tests/test_hardening_pointing.py and tests/test_cli_fuzz.py (tests/test_pointing.py has its own
copy with a 3×3 convolution)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from PIL import Image

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "black": (0, 0, 0)}


class ColourNet(torch.nn.Module):
    """Red -> class 0, green -> 1, blue -> 2, nothing bright -> 3 (a bias): four confidently classified classes.
    ``features`` copies the (normalised) image, ReLU keeps the bright channels, the classifier reads the mean."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Conv2d(3, 3, 1, bias=False)
        self.act = torch.nn.ReLU()
        self.fc = torch.nn.Linear(3, 5)
        with torch.no_grad():
            self.features.weight.copy_(torch.eye(3)[:, :, None, None])
            self.fc.weight.zero_()
            self.fc.weight[:3, :3] = 10 * torch.eye(3)
            self.fc.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 5.0, -5.0]))

    def forward(self, x):
        return self.fc(self.act(self.features(x)).mean(dim=(2, 3)))


def colour_backbone():
    """A :class:`camlib.backbones.Backbone` around :class:`ColourNet`: 32-pixel inputs, layer ``features``."""
    from camlib.backbones import BACKBONES, Backbone, imagenet_class_names

    spec = dataclasses.replace(
        BACKBONES["efficientnet_lite0"], input_size=32, default_layer="features", cam_layer="features", cam_classifier="fc"
    )
    return Backbone(spec=spec, model=ColourNet().eval(), device=torch.device("cpu"), class_names=imagenet_class_names()[:5])


def colour_folder(folder: Path, copies: int = 3, side: int = 16) -> Path:
    """``copies`` plain pictures of each colour in ``folder`` (made if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for colour, rgb in COLOURS.items():
        for copy in range(copies):
            Image.fromarray(np.full((side, side, 3), rgb, np.uint8)).save(folder / f"{colour}{copy}.png")
    return folder
