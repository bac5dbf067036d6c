"""Make ``reference_maps.npz``: the six methods' maps as camlib computed them before the issue-14 refactor.

``tests/test_reference_maps.py`` recomputes every case below and requires the same float32 maps to within
1e-5 (any CPU's rounding, far below a planted change), so a change that only moves code can be shown to
change no map. Every method gets its layer and
every parameter explicitly (nothing rests on a default, which may change), including ``batch_size``:
the masked passes' batch size is otherwise chosen by timing.

Run from the repository root (about half a minute)::

    python tests/data/make_reference_maps.py

Torch runs on one thread here and in the test: EfficientNet-Lite0's maps differ by about 1e-6 between
one and two threads (the order of the convolutions' sums changes), the tiny model's do not.

Cases: scikit-image's ``chelsea`` resized to 224 × 224 on the real EfficientNet-Lite0 (offline weights)
at ``conv_head`` and ``bn2`` (exact Score-CAM at 64 x 64); and a tiny random-weight GAP network (two images, two targets) that also
covers Score-CAM's probability score, the surrogate and ``perturbation_size``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from camlib.methods import CAM, GradCAM, GradCAMpp, GradPPScoreCAM, ScoreCAM, SmoothGradCAMpp

OUTPUT = Path(__file__).resolve().parent / "reference_maps.npz"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHELSEA_TARGET = 285  # Egyptian cat, EfficientNet-Lite0's top-1 for chelsea at 224 x 224
TINY_TARGETS = [1, 3]

EXACT_SCORECAM_SIZE = 64
"""Exact Score-CAM runs one pass per channel (1280 at both layers): minutes at 224 x 224 on two cores, so
its cases take chelsea at 64 x 64 (``lite0_small_*``)."""

Case = Callable[[nn.Module, torch.Tensor], np.ndarray]


def chelsea_inputs(size: int = 224) -> torch.Tensor:
    """chelsea resized (bilinear) to size x size, ImageNet-normalised, (1, 3, size, size)."""
    from skimage import data

    rgb = np.asarray(Image.fromarray(data.chelsea()).resize((size, size), Image.Resampling.BILINEAR))
    tensor = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float().div(255.0)
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    return ((tensor - mean) / std)[None]


class TinyNet(nn.Module):
    """conv -> ReLU -> conv (``features``) -> ReLU (``act2``) -> GAP -> linear (``fc``), random weights.

    Like ``conftest.TinyGapNet``, but a copy on purpose: the saved maps must not move when the test
    fixtures change.
    """

    def __init__(self, channels: int = 16, classes: int = 5) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.act = nn.ReLU()
        self.features = nn.Conv2d(6, channels, 3, padding=1)
        self.act2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act2(self.features(self.act(self.stem(x))))
        return self.fc(self.pool(x).flatten(1))


def tiny_model() -> TinyNet:
    torch.manual_seed(5)
    return TinyNet().eval()


def tiny_inputs() -> torch.Tensor:
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(9))


def _lite0_cases() -> dict[str, Case]:
    target = [CHELSEA_TARGET]
    cases: dict[str, Case] = {
        "lite0_cam_bn2": lambda m, x: CAM(m, "bn2", classifier_layer="classifier")(x, target),
    }
    for layer in ("conv_head", "bn2"):
        cases |= {
            f"lite0_gradcam_{layer}": lambda m, x, layer=layer: GradCAM(m, layer)(x, target),
            f"lite0_gradcampp_{layer}": lambda m, x, layer=layer: GradCAMpp(m, layer)(x, target),
            f"lite0_smoothgradcampp_{layer}": lambda m, x, layer=layer: SmoothGradCAMpp(
                m, layer, n_samples=8, noise_level=0.15, seed=0
            )(x, target),
            f"lite0_gradpp_scorecam_{layer}": lambda m, x, layer=layer: GradPPScoreCAM(
                m, layer, top_k=16, combination="softmax_w", batch_size=16, perturbation_size=None, mixed_precision=False
            )(x, target),
            f"lite0_scorecam_sampled128_{layer}": lambda m, x, layer=layer: ScoreCAM(
                m, layer, score="logit", sampled_channels=128, seed=0, batch_size=16, perturbation_size=None,
                mixed_precision=False,
            )(x, target),
        }
    return cases


def _lite0_small_cases() -> dict[str, Case]:
    """Cases on chelsea at EXACT_SCORECAM_SIZE."""
    return {
        f"lite0_small_scorecam_exact_{layer}": lambda m, x, layer=layer: ScoreCAM(
            m, layer, score="logit", sampled_channels=None, seed=0, batch_size=16, perturbation_size=None,
            mixed_precision=False,
        )(x, [CHELSEA_TARGET])
        for layer in ("conv_head", "bn2")
    }


def _tiny_cases() -> dict[str, Case]:
    targets = TINY_TARGETS
    layer = "act2"
    return {
        "tiny_cam": lambda m, x: CAM(m, layer, classifier_layer="fc")(x, targets),
        "tiny_gradcam": lambda m, x: GradCAM(m, layer)(x, targets),
        "tiny_gradcampp": lambda m, x: GradCAMpp(m, layer)(x, targets),
        "tiny_smoothgradcampp": lambda m, x: SmoothGradCAMpp(m, layer, n_samples=8, noise_level=0.15, seed=0)(x, targets),
        "tiny_gradpp_scorecam": lambda m, x: GradPPScoreCAM(
            m, layer, top_k=4, combination="softmax_w", batch_size=3, perturbation_size=None, mixed_precision=False
        )(x, targets),
        "tiny_gradpp_scorecam_relu_w_all": lambda m, x: GradPPScoreCAM(
            m, layer, top_k=None, combination="relu_w", batch_size=5, perturbation_size=None, mixed_precision=False
        )(x, targets),
        "tiny_scorecam_exact": lambda m, x: ScoreCAM(
            m, layer, score="logit", sampled_channels=None, seed=0, batch_size=5, perturbation_size=None, mixed_precision=False
        )(x, targets),
        "tiny_scorecam_probability": lambda m, x: ScoreCAM(
            m, layer, score="probability", sampled_channels=None, seed=0, batch_size=5, perturbation_size=None,
            mixed_precision=False,
        )(x, targets),
        "tiny_scorecam_sampled8": lambda m, x: ScoreCAM(
            m, layer, score="logit", sampled_channels=8, seed=0, batch_size=5, perturbation_size=None, mixed_precision=False
        )(x, targets),
        "tiny_scorecam_perturbation16": lambda m, x: ScoreCAM(
            m, layer, score="logit", sampled_channels=None, seed=0, batch_size=5, perturbation_size=16, mixed_precision=False
        )(x, targets),
    }


LITE0_CASES = _lite0_cases()
LITE0_SMALL_CASES = _lite0_small_cases()
TINY_CASES = _tiny_cases()


def main() -> None:
    from camlib.backbones import load_backbone

    torch.set_num_threads(1)
    lite0 = load_backbone("efficientnet_lite0", device="cpu").model
    chelsea = chelsea_inputs()
    with torch.inference_mode():
        assert int(lite0(chelsea).argmax()) == CHELSEA_TARGET
    tiny, tiny_x = tiny_model(), tiny_inputs()
    maps = {name: case(lite0, chelsea) for name, case in LITE0_CASES.items()}
    small = chelsea_inputs(EXACT_SCORECAM_SIZE)
    maps |= {name: case(lite0, small) for name, case in LITE0_SMALL_CASES.items()}
    maps |= {name: case(tiny, tiny_x) for name, case in TINY_CASES.items()}
    for name, value in maps.items():
        assert value.dtype == np.float32, name
        if value.std() == 0:
            print(f"note: {name} is a constant map")  # lite0_scorecam_sampled128_conv_head is all zeros
    np.savez_compressed(OUTPUT, **maps)
    print(f"wrote {len(maps)} maps to {OUTPUT} ({OUTPUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
