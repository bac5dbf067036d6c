"""The image loader: every mode becomes upright 8-bit RGB, and bad input is an ImageLoadError."""

from __future__ import annotations

import ast
import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from image_samples import (
    BLUE,
    BOMBS,
    RED,
    WHITE,
    encode,
    exif_rotated_jpeg,
    palette_with_transparency,
    png_header_only,
    sixteen_bit_png,
    two_frames,
    valid_files,
)
from PIL import Image

import camlib.images
from camlib.errors import ImageLoadError
from camlib.explain import explain
from camlib.images import LoadedImage, load_image, load_image_with_notes


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
    image = np.asarray(load_image(palette_with_transparency()))  # index 0 (black) is transparent
    assert (image[:, :2] == WHITE).all(), "transparent palette entries must become white, not black"
    assert (image[:, 2:] == RED).all()


def test_exif_rotated_jpeg_comes_out_upright():
    """Stored 40 wide × 20 tall with a red top-left corner and EXIF orientation 6 (rotate 90° clockwise
    to display): upright it is 20 wide × 40 tall with the red corner at the top right."""
    image = load_image(exif_rotated_jpeg(6))
    assert image.size == (20, 40)
    upright = np.asarray(image).astype(int)
    assert np.abs(upright[3, 16] - RED).max() < 40  # top right
    assert np.abs(upright[3, 3] - BLUE).max() < 40  # top left
    assert np.abs(upright[36, 16] - BLUE).max() < 40


def test_animated_gif_gives_first_frame():
    loaded = load_image_with_notes(two_frames("GIF"))
    assert (np.asarray(loaded.image) == RED).all()
    assert loaded.notes == ("It is an animated GIF (2 frames): only the first is used.",)


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
    with pytest.raises(ImageLoadError, match="10000 megapixels"):  # far past PIL's decompression-bomb limit too
        load_image(png_header_only(100_000, 100_000))


def test_megapixel_limit_applies_to_real_images(monkeypatch):
    data = encode(Image.new("RGB", (40, 30), RED))  # 1200 pixels
    assert load_image(data).size == (40, 30)
    monkeypatch.setattr(camlib.images, "MAX_MEGAPIXELS", 0.001)  # 1000 pixels
    with pytest.raises(ImageLoadError, match="40×30"):
        load_image(data)


# -- what the loader says it did ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mode", "note"),
    [
        (encode(Image.new("RGB", (5, 4), RED)), "RGB", None),
        (encode(Image.new("RGBA", (5, 4), (*RED, 255))), "RGBA", None),  # opaque: nothing to say
        (encode(Image.new("RGBA", (5, 4), (*RED, 0))), "RGBA", "transparent areas were placed on a white background"),
        (palette_with_transparency(), "P", "transparent areas"),
        (encode(Image.new("L", (5, 4), 90)), "L", "Grayscale"),
        (sixteen_bit_png(), "I;16", "16-bit values were scaled to 8 bits"),
        (encode(Image.new("CMYK", (5, 4), (0, 255, 255, 0)), "JPEG"), "CMYK", "Converted from CMYK"),
        (exif_rotated_jpeg(6), "RGB", "EXIF orientation tag (6)"),
        (two_frames("GIF"), "P", "animated GIF (2 frames): only the first is used"),
        (two_frames("PNG"), "RGB", "animated PNG (2 frames)"),
        (two_frames("WEBP"), "RGB", "animated WebP (2 frames)"),
        (two_frames("TIFF"), "RGB", "multi-page TIFF (2 pages)"),
        (two_frames("MPO"), "RGB", "multi-picture JPEG (2 pictures)"),
    ],
    ids=["rgb", "opaque-rgba", "rgba", "palette", "gray", "16-bit", "cmyk", "exif", "gif", "apng", "webp", "tiff", "mpo"],
)
def test_load_image_with_notes_says_what_changed(data, mode, note):
    loaded = load_image_with_notes(data, name="upload")
    assert isinstance(loaded, LoadedImage)
    assert loaded.image.mode == "RGB" and loaded.mode == mode
    if note is None:
        assert loaded.notes == ()
    else:
        assert any(note in text for text in loaded.notes), loaded.notes
    # load_image gives the same pixels, as a plain PIL image (existing callers keep working)
    np.testing.assert_array_equal(np.asarray(load_image(data)), np.asarray(loaded.image))


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF", "MPO"])
def test_every_multi_frame_format_gives_its_first_frame(fmt):
    image = np.asarray(load_image(two_frames(fmt))).astype(int)
    assert np.abs(image - RED).max() <= 8, f"{fmt}: expected the first (red) frame"  # MPO is lossy JPEG


def test_cmyk_jpeg_keeps_its_colours():
    cyan_in_cmyk = Image.new("CMYK", (8, 8), (255, 0, 0, 0))
    image = np.asarray(load_image(encode(cyan_in_cmyk, "JPEG", quality=95))).astype(int)
    assert np.abs(image - (0, 255, 255)).max() <= 8


@pytest.mark.parametrize(("orientation", "size", "red_at"), [(3, (40, 20), (16, 36)), (8, (20, 40), (36, 3))])
def test_other_exif_orientations(orientation, size, red_at):
    """Orientation 3 is a half turn (red corner to bottom right); 8 is a quarter turn the other way
    from 6 (red corner to bottom left)."""
    image = load_image(exif_rotated_jpeg(orientation))
    assert image.size == size
    assert np.abs(np.asarray(image).astype(int)[red_at] - RED).max() < 40


def test_float_and_one_bit_images():
    ramp = np.linspace(-1.0, 3.0, 20, dtype=np.float32).reshape(4, 5)
    image = np.asarray(load_image(encode(Image.fromarray(ramp, "F"), "TIFF")))
    assert image[..., 0].min() == 0 and image[..., 0].max() == 255
    checker = Image.fromarray((np.indices((4, 4)).sum(0) % 2 * 255).astype(np.uint8)).convert("1")
    image = np.asarray(load_image(encode(checker)))
    assert set(np.unique(image)) == {0, 255}


def test_corrupt_exif_is_ignored_not_fatal():
    data = bytearray(exif_rotated_jpeg(6))
    at = data.index(b"Exif\x00\x00") + 6
    data[at : at + 8] = b"\xff" * 8  # the TIFF header inside the EXIF block: unreadable
    image = load_image(bytes(data))
    assert image.mode == "RGB" and image.size == (40, 20)  # shown as stored


# -- inputs that are not images --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n", "PDF document"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
        (b"label,score\ncat,0.9\n", "contains text"),
        (encode(Image.new("RGB", (4, 4)), "PPM"), "PPM"),
        (encode(Image.new("RGB", (4, 4)), "ICO"), "ICO"),
        (bytes(range(256)) * 4, "not a recognised image format"),
    ],
    ids=["pdf", "heic", "svg", "csv", "ppm", "ico", "binary"],
)
def test_files_that_are_not_supported_images_say_what_they_are(data, reason):
    with pytest.raises(ImageLoadError, match=reason) as raised:
        load_image(data, name="upload.png")
    message = str(raised.value)
    assert message.startswith("upload.png is not an image that camlib can read (PNG, JPEG, WebP, BMP, GIF, TIFF)")
    assert "\n" not in message


def test_sources_that_cannot_be_read(tmp_path):
    with pytest.raises(ImageLoadError, match="binary mode"):
        load_image(io.StringIO("text"))
    with pytest.raises(ImageLoadError, match="Cannot read an image from a int"):
        load_image(42)
    with pytest.raises(ImageLoadError, match="is a folder, not an image file"):
        load_image(tmp_path)  # a folder
    with pytest.raises(ImageLoadError, match="^The file is empty"):
        load_image(b"")


@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")  # Pillow's own, about the cut TIFF
@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("kind", ["png", "jpeg_progressive", "gif_animated", "webp", "tiff_lzw", "bmp"])
def test_truncated_files_are_refused_or_still_whole(kind, cut):
    """A file cut short is refused with a message naming it. (Some formats carry trailing bytes the
    image does not need, so a cut very near the end may still give the whole image: that is fine.)"""
    whole = valid_files()[kind]
    data = whole[: int(len(whole) * cut)]
    try:
        image = load_image(data, name="cut.img")
    except ImageLoadError as error:
        assert str(error).startswith("cut.img "), str(error)
    else:
        assert cut >= 0.9 and image.mode == "RGB", f"{kind} cut to {cut:.0%} loaded"


# -- decompression bombs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make", BOMBS.values(), ids=BOMBS.keys())
def test_bomb_headers_of_every_format_are_refused_without_warnings(make):
    """Each file is a few dozen bytes whose header claims a huge image: refused from the header (there
    is no pixel data to decode), with no DecompressionBombWarning and nothing global changed."""
    filters_before, pillow_limit = list(warnings.filters), Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageLoadError, match="megapixels") as raised:
            load_image(make(), name="bomb.img")
    assert str(raised.value).startswith("bomb.img ")
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert warnings.filters == filters_before and Image.MAX_IMAGE_PIXELS == pillow_limit


def test_megapixel_limit_is_below_pillows_own_bomb_limit():
    """So every image camlib accepts passes Pillow's guard silently (see MAX_MEGAPIXELS)."""
    assert camlib.images.MAX_MEGAPIXELS * 1_000_000 < Image.MAX_IMAGE_PIXELS


# -- tiny images, end to end ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 8])
def test_tiny_images_explain_end_to_end(effnet, size):
    """1×1 and 8×8 images load, are resized to the model's input and give maps (CAM, Grad-CAM, Grad++ScoreCAM)."""
    noise = np.random.default_rng(size).integers(0, 256, (size, size, 3), dtype=np.uint8)
    image = load_image(encode(Image.fromarray(noise)), name=f"{size}x{size}.png")
    assert image.size == (size, size)
    inputs = effnet.preprocess(image)
    assert inputs.shape == (1, 3, 224, 224) and bool(inputs.isfinite().all())
    explanation = explain(
        effnet, image, methods=("cam", "gradcam", "gradpp_scorecam"), method_params={"gradpp_scorecam": {"top_k": 2}}
    )
    for key, result in explanation.results.items():
        assert result.error is None, f"{key}: {result.error}"
        saliency = result.saliency
        assert saliency.shape == (224, 224) and saliency.dtype == np.float32, key
        assert np.isfinite(saliency).all() and 0.0 <= saliency.min() and saliency.max() <= 1.0, key


# -- one loader --------------------------------------------------------------------------------------------


def test_only_the_loader_opens_image_files():
    """The CLI, the evaluation and the app read images through camlib.images, never Image.open."""
    package = Path(camlib.images.__file__).parent
    openers = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "images.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "open" and getattr(node.value, "id", "") == "Image":
                openers.append(f"{path.relative_to(package)}:{node.lineno}")
    assert not openers, f"Image.open outside camlib/images.py: {openers}"
    users = {str(path.relative_to(package)) for path in package.rglob("*.py") if "load_image" in path.read_text()}
    assert {"cli.py", "evaluate.py"} <= users, users
    assert any(name.startswith("app") for name in users), f"the app does not use camlib.images: {users}"
