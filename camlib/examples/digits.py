"""A small CNN that reads handwritten digits: camlib's example of a model whose classes are not ImageNet's.

Trained by ``bench/train_digits.py`` on scikit-learn's ``load_digits`` (the UCI "Optical Recognition of
Handwritten Digits" set: 1797 images of 8 × 8 pixels, 17 grey levels, classes 0–9), drawn as dark ink
on light paper on a 32 × 32 canvas, with three identical colour channels so that an RGB photo goes in
as it is. The network ends in global average pooling and one linear layer, so CAM applies
(``CAM(model, "stage2", classifier_layer="fc")``) as well as every gradient and score method.

Load it with::

    from safetensors.torch import load_file
    from camlib.examples.digits import WEIGHTS_PATH, build
    model = build()
    model.load_state_dict(load_file(WEIGHTS_PATH))
    model.eval()

The drawing helpers below turn the 8 × 8 arrays into the pictures the model was trained and tested
on; training, the benchmark and the tests share them so all three see the same pictures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

EXAMPLES_DIR = Path(__file__).resolve().parent
WEIGHTS_PATH = EXAMPLES_DIR / "digits.safetensors"
CLASSES_PATH = EXAMPLES_DIR / "digits_classes.txt"

INPUT_SIZE = 32
MEAN = 0.5
STD = 0.5
TARGET_LAYER = "stage2"
CLASSIFIER_LAYER = "fc"
NUM_CLASSES = 10

PAPER = 1.0  # the canvas's grey level
INK = 0.0  # the grey level of full ink (load_digits' 16)
PAIR_DIGIT_FRACTION = 7 / 16  # a digit's side in a pair picture, as a fraction of the canvas


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DigitsCNN(nn.Module):
    """stem (32 px) → stage1 (16 px) → stage2 (8 px, the target layer) → global average pool → fc."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.stem = _conv_bn_relu(3, 16)
        self.stage1 = nn.Sequential(nn.MaxPool2d(2), _conv_bn_relu(16, 32), _conv_bn_relu(32, 32))
        self.stage2 = nn.Sequential(nn.MaxPool2d(2), _conv_bn_relu(32, 64), _conv_bn_relu(64, 64))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.stage2(self.stage1(self.stem(images)))
        return self.fc(torch.flatten(self.pool(features), 1))


def build(num_classes: int = NUM_CLASSES) -> DigitsCNN:
    """The architecture, with random weights (the trained ones are in ``digits.safetensors``)."""
    return DigitsCNN(num_classes)


def class_names() -> list[str]:
    return CLASSES_PATH.read_text(encoding="utf-8").splitlines()


def heldout_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, test images, train labels, test labels): ``load_digits`` split 80 / 20, stratified,
    ``random_state=0`` — 1437 images to train on, 360 never trained on. Needs scikit-learn (a
    development requirement: training, the benchmark and the tests use it, the model does not)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    return tuple(train_test_split(data.images, data.target, test_size=0.2, stratify=data.target, random_state=0))


# -- drawing load_digits' 8 × 8 arrays as pictures ------------------------------------------------------


def ink_at_size(digits: np.ndarray, size: int) -> np.ndarray:
    """Ink in [0, 1] of (N, 8, 8) load_digits arrays (values 0–16), resized bilinearly to (N, size, size)."""
    ink = torch.as_tensor(np.asarray(digits, dtype=np.float32).reshape(-1, 1, 8, 8) / 16.0)
    return F.interpolate(ink, size=(size, size), mode="bilinear", align_corners=False)[:, 0].clamp(0, 1).numpy()


def paint(ink: np.ndarray, paper: float | np.ndarray = PAPER, ink_level: float | np.ndarray = INK) -> np.ndarray:
    """Grey levels of ink on paper: paper where there is no ink, ``ink_level`` where it is full."""
    paper = np.asarray(paper, dtype=np.float32).reshape(-1, *([1] * (ink.ndim - 1)))
    ink_level = np.asarray(ink_level, dtype=np.float32).reshape(-1, *([1] * (ink.ndim - 1)))
    return (paper - ink * (paper - ink_level)).astype(np.float32)


def single_pictures(digits: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Each digit filling a size × size canvas, grey levels (N, size, size): the test pictures."""
    return paint(ink_at_size(digits, size))


def pair_pictures(left: np.ndarray, right: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Two digits side by side on a size × size canvas, each centred in its half, (N, size, size)."""
    digit = int(round(size * PAIR_DIGIT_FRACTION))
    half = size // 2
    top = (size - digit) // 2
    inset = (half - digit) // 2
    canvas = np.zeros((len(left), size, size), dtype=np.float32)
    canvas[:, top : top + digit, inset : inset + digit] = ink_at_size(left, digit)
    canvas[:, top : top + digit, half + inset : half + inset + digit] = ink_at_size(right, digit)
    return paint(canvas)


def to_inputs(pictures: np.ndarray) -> torch.Tensor:
    """Grey pictures (N, H, W) in [0, 1] as the model's normalised 3-channel inputs (N, 3, H, W)."""
    grey = torch.as_tensor(np.asarray(pictures, dtype=np.float32))[:, None]
    return ((grey - MEAN) / STD).expand(-1, 3, -1, -1).contiguous()
