"""The model input keeps the image's shape: the shorter side at the chosen resolution, the longer side bounded."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from camlib.backbones import MAX_ASPECT_RATIO, model_input_size
from camlib.errors import InvalidParameterError
from camlib.explain import explain
from camlib.methods import ScoreCAM
from camlib.methods.masked_passes import perturbation_shape


@pytest.mark.parametrize(
    ("size", "resolution", "expected"),
    [
        ((500, 375), 224, (299, 224)),  # a 4:3 photo
        ((375, 500), 224, (224, 299)),  # the same, upright
        ((500, 375), 448, (597, 448)),
        ((300, 300), 320, (320, 320)),  # a square stays square
        ((1000, 100), 224, (448, 224)),  # 10:1 is squeezed to the 2:1 bound
        ((1, 1), 224, (224, 224)),
    ],
)
def test_model_input_size_keeps_the_aspect_ratio_up_to_the_bound(size, resolution, expected):
    assert model_input_size(*size, resolution) == expected
    width, height = expected
    assert max(width, height) <= MAX_ASPECT_RATIO * min(width, height)


@pytest.mark.parametrize("bad", [0, 16, 5000, 224.5, "224"])
def test_a_resolution_outside_the_bounds_is_one_clear_error(bad):
    with pytest.raises(InvalidParameterError, match="resolution must be"):
        model_input_size(500, 375, bad)


def test_a_square_image_gives_the_same_tensor_as_the_old_square_resize(effnet):
    pixels = np.random.default_rng(3).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    old = effnet.to_tensor(np.asarray(image.resize((224, 224), Image.Resampling.BILINEAR)))
    assert torch.equal(effnet.preprocess(image), old)


def test_explain_at_a_resolution_gives_maps_in_the_images_proportions(effnet, chelsea_image):
    explanation = explain(effnet, chelsea_image, methods=("gradcam",), resolution=320)
    # chelsea is 451 × 300: the shorter side 320, the longer 481
    assert explanation.image.shape == (320, 481, 3)
    assert explanation.results["gradcam"].saliency.shape == (320, 481)
    assert 281 <= explanation.top_predictions[0][0] <= 285  # still a cat


def test_the_masked_passes_keep_the_aspect_ratio():
    assert perturbation_shape(224, 224, 112) == (112, 112)
    assert perturbation_shape(224, 338, 112) == (112, 169)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    saliency = ScoreCAM(model, "1", perturbation_size=16)(torch.rand(1, 3, 24, 40), [0])
    assert saliency.shape == (1, 24, 40)


@pytest.mark.slow  # a Python process that imports torch: 5.5 s on the shared machine
def test_the_cli_rejects_a_bad_resolution_with_exit_code_2(tmp_path, chelsea_png):
    result = subprocess.run(
        [sys.executable, "-m", "camlib", "explain", str(chelsea_png), "--resolution", "5", "--methods", "gradcam",
         "--offline", "--out", str(tmp_path / "grid.png")],
        check=False, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert "resolution must be" in result.stderr and "Traceback" not in result.stderr
