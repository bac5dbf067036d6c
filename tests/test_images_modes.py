"""16-bit and 32-bit pictures become 8-bit RGB by scaling, not clipping; the loader's error handling is narrow.

``camlib.images.to_rgb`` is the one conversion to 8-bit RGB for display. Pillow's ``convert("RGB")``
clips a 16-bit image at 255, so a photo with values in the thousands came out all white (issue 24:
``Backbone.display_image`` of a 16-bit PIL image). Each check runs beside a planted error it must
catch: the clipping conversion, the old catch-all tuple of decode errors, Pillow's private table.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
from image_samples import encode, noise
from PIL import Image

import camlib
import camlib.image_conversion
import camlib.images
from camlib.backbones import Backbone, BackboneSpec
from camlib.errors import ImageLoadError
from camlib.images import load_image, to_rgb

RAMP = np.linspace(1000, 60000, 48, dtype=np.float64).reshape(6, 8)


def sixteen_bit(values: np.ndarray = RAMP) -> Image.Image:
    image = Image.fromarray(values.astype(np.uint16))
    assert image.mode == "I;16"
    return image


def check_scaled(rgb: Image.Image | np.ndarray, values: np.ndarray = RAMP) -> None:
    """Darkest value to 0, brightest to 255, linear in between, the same in all three channels."""
    pixels = np.asarray(rgb)
    assert pixels.dtype == np.uint8 and pixels.shape == (*values.shape, 3)
    expected = (values - values.min()) / (values.max() - values.min()) * 255
    for channel in range(3):
        np.testing.assert_allclose(pixels[..., channel], expected, atol=1.5)  # truncated to whole levels


@pytest.mark.parametrize("mode", ["I;16", "I", "F"])
def test_to_rgb_scales_high_depth_images(mode):
    image = sixteen_bit() if mode == "I;16" else Image.fromarray(RAMP.astype(np.int32 if mode == "I" else np.float32))
    assert image.mode == mode
    check_scaled(to_rgb(image))


def test_check_catches_the_clipping_conversion():
    clipped = sixteen_bit().convert("RGB")  # the planted error: Pillow's own conversion
    assert np.asarray(clipped).min() == 255  # all white
    with pytest.raises(AssertionError):
        check_scaled(clipped)


def digits_like_backbone(input_size: int = 32) -> Backbone:
    spec = BackboneSpec("tiny", "Tiny", "0", input_size, (0.5,) * 3, (0.5,) * 3, lambda: torch.nn.Identity())
    return Backbone(spec, torch.nn.Identity(), torch.device("cpu"), ("a",))


def test_display_image_of_a_16_bit_picture_is_not_white():
    values = np.linspace(1000, 60000, 32 * 32).reshape(32, 32)
    shown = digits_like_backbone().display_image(sixteen_bit(values), resolution=32)  # 32 × 32: no resizing
    check_scaled(shown, values)


def test_loaded_16_bit_file_is_scaled_and_says_so():
    loaded = camlib.images.load_image_with_notes(encode(sixteen_bit()))
    check_scaled(loaded.image)
    assert loaded.mode.startswith("I;16") and "16-bit values were scaled" in loaded.notes[0]


# -- narrow error handling ------------------------------------------------------------------------------


def test_a_bug_is_not_reported_as_a_corrupt_file(monkeypatch):
    """A TypeError or KeyError in the conversion is a bug: it must surface, not read "truncated or corrupt"."""
    def broken(image):
        raise TypeError("a bug in the conversion")

    monkeypatch.setattr(camlib.images, "to_rgb_with_note", broken)
    with pytest.raises(TypeError, match="a bug"):
        load_image(encode(noise(4, 4)))


def test_check_catches_the_old_catch_all_tuple(monkeypatch):
    monkeypatch.setattr(camlib.images, "to_rgb_with_note", lambda image: {}["missing"])
    monkeypatch.setattr(camlib.images, "DECODE_ERRORS", (*camlib.images.DECODE_ERRORS, TypeError, KeyError, MemoryError))
    with pytest.raises(ImageLoadError, match="truncated or corrupt"):  # the planted tuple swallows the bug
        load_image(encode(noise(4, 4)))


def test_lack_of_memory_is_said_as_such(monkeypatch):
    def no_memory(image):
        raise MemoryError

    monkeypatch.setattr(camlib.images, "to_rgb_with_note", no_memory)
    with pytest.raises(ImageLoadError, match=r"^photo.png \(4×3\) could not be decoded: not enough memory\.$"):
        load_image(encode(noise(4, 3)), name="photo.png")


def test_decode_errors_name_no_bug_classes():
    assert not {TypeError, KeyError, MemoryError} & set(camlib.image_conversion.DECODE_ERRORS)


# -- Pillow's public API ----------------------------------------------------------------------------------


def private_table_uses(package: Path) -> list[str]:
    """Places where camlib reads Pillow's ``Image.OPEN`` or ``Image.ID`` registry instead of ``Image.open``."""
    uses = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("OPEN", "ID") and getattr(node.value, "id", "") == "Image":
                uses.append(f"{path.name}:{node.lineno}")
    return uses


def test_formats_are_chosen_with_pillows_public_open():
    assert private_table_uses(Path(camlib.__file__).parent) == []


def test_check_catches_the_private_table(tmp_path):
    (tmp_path / "old.py").write_text("from PIL import Image\nfactory, accept = Image.OPEN['PNG']\n")
    assert private_table_uses(tmp_path) == ["old.py:2"]
