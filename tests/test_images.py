"""The image loader: every mode becomes upright 8-bit RGB, and bad input is an ImageLoadError."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import camlib.images
from camlib.errors import ImageLoadError
from camlib.images import load_image

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming ``width`` × ``height`` whose image data is empty: a few dozen bytes."""

    def chunk(kind: bytes, payload: bytes = b"") -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT") + chunk(b"IEND")


def test_rgb_png_from_path_bytes_and_file_object(tmp_path):
    array = np.random.default_rng(0).integers(0, 256, (12, 9, 3), dtype=np.uint8)
    data = encode(Image.fromarray(array))
    path = tmp_path / "photo.png"
    path.write_bytes(data)
    for source in (path, str(path), data, io.BytesIO(data)):
        image = load_image(source)
        assert image.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(image), array)


def test_rgba_is_composited_on_white():
    rgba = np.zeros((4, 6, 4), dtype=np.uint8)
    rgba[:, :3] = (*RED, 255)  # opaque red
    rgba[:, 3:5] = (*BLUE, 0)  # fully transparent blue
    rgba[:, 5] = (*RED, 128)  # half-transparent red
    image = np.asarray(load_image(encode(Image.fromarray(rgba, "RGBA"))))
    assert image.shape == (4, 6, 3) and image.dtype == np.uint8
    assert (image[:, :3] == RED).all()
    assert (image[:, 3:5] == WHITE).all()
    np.testing.assert_allclose(image[:, 5], [[255, 127, 127]] * 4, atol=2)


def test_grayscale_becomes_three_equal_channels():
    gray = np.arange(0, 250, 10, dtype=np.uint8).reshape(5, 5)
    image = np.asarray(load_image(encode(Image.fromarray(gray, "L"))))
    assert image.shape == (5, 5, 3)
    for channel in range(3):
        np.testing.assert_array_equal(image[..., channel], gray)


def test_16_bit_png_is_scaled_to_8_bits():
    values = np.linspace(1000, 60000, 64).astype(np.uint16).reshape(8, 8)
    data = encode(Image.fromarray(values))
    assert Image.open(io.BytesIO(data)).mode.startswith("I")  # really a 16-bit file
    image = np.asarray(load_image(data))
    assert image.dtype == np.uint8 and image.shape == (8, 8, 3)
    assert image[..., 0].min() == 0 and image[..., 0].max() == 255  # the full range is used
    flat = image[..., 0].ravel()
    assert (np.diff(flat.astype(int)) >= 0).all()  # order of the values kept
    expected = ((values.astype(float) - 1000) / (60000 - 1000) * 255).astype(np.uint8)
    np.testing.assert_allclose(image[..., 0], expected, atol=1)


def test_palette_with_transparency_is_composited_on_white():
    indices = np.zeros((4, 4), dtype=np.uint8)
    indices[:, 2:] = 1
    palette = Image.fromarray(indices, "P")
    palette.putpalette([0, 0, 0, *RED] + [0, 0, 0] * 254)
    data = encode(palette, transparency=0)  # index 0 (black) is transparent
    image = np.asarray(load_image(data))
    assert (image[:, :2] == WHITE).all(), "transparent palette entries must become white, not black"
    assert (image[:, 2:] == RED).all()


def test_exif_rotated_jpeg_comes_out_upright():
    """Stored 40 wide × 20 tall with a red top-left corner and EXIF orientation 6 (rotate 90° clockwise
    to display): upright it is 20 wide × 40 tall with the red corner at the top right."""
    stored = np.zeros((20, 40, 3), dtype=np.uint8)
    stored[:] = BLUE
    stored[:10, :20] = RED
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())
    image = load_image(data)
    assert image.size == (20, 40)
    upright = np.asarray(image).astype(int)
    assert np.abs(upright[3, 16] - RED).max() < 40  # top right
    assert np.abs(upright[3, 3] - BLUE).max() < 40  # top left
    assert np.abs(upright[36, 16] - BLUE).max() < 40


def test_animated_gif_gives_first_frame():
    frames = [Image.new("RGB", (6, 6), RED), Image.new("RGB", (6, 6), BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    image = np.asarray(load_image(data))
    assert (image == RED).all()


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, this is text, not an image\n", "truncated"],
    ids=["empty", "text", "truncated png"],
)
def test_unreadable_bytes_raise_image_load_error(data):
    if data == "truncated":
        noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        whole = encode(Image.fromarray(noise))
        data = whole[: len(whole) // 2]
    with pytest.raises(ImageLoadError, match="upload.png"):
        load_image(data, name="upload.png")


def test_missing_file_and_unsupported_format(tmp_path):
    with pytest.raises(ImageLoadError, match="No such file"):
        load_image(tmp_path / "absent.png")
    with pytest.raises(ImageLoadError, match="PPM"):
        load_image(encode(Image.new("RGB", (4, 4)), "PPM"))


def test_image_over_the_megapixel_limit_is_refused_from_its_header():
    """8000 × 8000 = 64 megapixels (over the 50 MP limit, under PIL's own bomb limit): refused from the
    header alone, without decoding (the file has no pixel data)."""
    with pytest.raises(ImageLoadError, match="megapixels"):
        load_image(png_header_only(8000, 8000))
    with pytest.raises(ImageLoadError, match="too large"):  # far past PIL's decompression-bomb limit too
        load_image(png_header_only(100_000, 100_000))


def test_megapixel_limit_applies_to_real_images(monkeypatch):
    data = encode(Image.new("RGB", (40, 30), RED))  # 1200 pixels
    assert load_image(data).size == (40, 30)
    monkeypatch.setattr(camlib.images, "MAX_MEGAPIXELS", 0.001)  # 1000 pixels
    with pytest.raises(ImageLoadError, match="40×30"):
        load_image(data)
