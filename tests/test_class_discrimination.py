"""The maps point at the object of the class asked for, on a real photo with a real network.

``dog_and_cat.png`` (camlib/data/photos, from pytorch-grad-cam's examples, 224×224) shows a bulldog in the upper half and a tabby cat in the
lower half. With EfficientNet-Lite0's ImageNet weights, the map for "boxer" (242) must peak in the
upper half and the map for "tiger cat" (282) in the lower half, for Grad-CAM and Grad++ScoreCAM at the
default layer (bn2), and for every method there.
"""

from __future__ import annotations

import numpy as np
import pytest

from camlib.explain import build_method
from camlib.images import load_image

BOXER, TIGER_CAT = 242, 282


@pytest.fixture(scope="module")
def dog_and_cat(photos_dir, effnet):
    return effnet.preprocess(load_image(photos_dir / "dog_and_cat.png"))


def peak_row(saliency: np.ndarray) -> int:
    return int(np.unravel_index(np.argmax(saliency), saliency.shape)[0])


@pytest.mark.parametrize(
    "key",
    ["cam", "gradcam", "gradcampp", "smoothgradcampp", "gradpp_scorecam", pytest.param("scorecam", marks=pytest.mark.slow)],
)  # Score-CAM's 2 × 128 masked passes: 32 s on the shared machine
def test_maps_follow_the_class(key, effnet, dog_and_cat):
    assert effnet.class_names[BOXER] == "boxer" and effnet.class_names[TIGER_CAT] == "tiger cat"
    params = {"sampled_channels": 128} if key == "scorecam" else {}  # the app's default (Fast) setting
    method = build_method(key, effnet, **params)
    assert method.target_layer is effnet.model.get_submodule("bn2")
    dog, cat = method(dog_and_cat.repeat(2, 1, 1, 1), [BOXER, TIGER_CAT])
    middle = dog.shape[0] // 2
    assert peak_row(dog) < middle, "the boxer map should peak on the dog (upper half)"
    assert peak_row(cat) >= middle, "the tiger-cat map should peak on the cat (lower half)"
    # Not just the peak: most of each map's mass lies on its own half.
    assert dog[:middle].sum() > dog[middle:].sum()
    assert cat[middle:].sum() > cat[:middle].sum()
