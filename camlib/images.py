"""Reading images safely: one loader for the CLI, the evaluation and the app.

Every failure becomes an :class:`~camlib.errors.ImageLoadError` with a message for people. Images
larger than :data:`MAX_MEGAPIXELS` are refused from their header, before they are decoded.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from camlib.errors import ImageLoadError

MAX_MEGAPIXELS = 50
"""Largest image accepted, in millions of pixels (a 8660 × 5773 photo)."""

SUPPORTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")


def load_image(source: str | os.PathLike | bytes | io.IOBase, *, name: str | None = None) -> Image.Image:
    """Read an image file, bytes or file object and return it as an upright RGB :class:`PIL.Image.Image`.

    Transparent images are composited on white, 16-bit images are scaled to 8 bits, EXIF rotation is
    applied, and an animated image gives its first frame.
    """
    label = name or (Path(source).name if isinstance(source, str | os.PathLike) else "the image")
    if isinstance(source, str | os.PathLike):
        if not Path(source).is_file():
            raise ImageLoadError(f"No such file: {source}")
        data = Path(source).read_bytes()
    elif isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        data = source.read()
    if not data:
        raise ImageLoadError(f"{label} is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                if opened.format not in SUPPORTED_FORMATS:
                    raise ImageLoadError(f"{label} is a {opened.format} image; supported: {', '.join(SUPPORTED_FORMATS)}.")
                width, height = opened.size
                if width * height > MAX_MEGAPIXELS * 1_000_000:
                    raise ImageLoadError(
                        f"{label} is {width}×{height} ({width * height / 1e6:.0f} megapixels); "
                        f"the limit is {MAX_MEGAPIXELS} megapixels."
                    )
                opened.seek(0)
                opened.load()
                image = ImageOps.exif_transpose(opened) or opened
                return to_rgb(image)
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageLoadError(f"{label} is too large: its header claims far more than {MAX_MEGAPIXELS} megapixels.") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"{label} is not an image that camlib can read (PNG, JPEG, WebP, BMP, GIF, TIFF).") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, MemoryError) as error:
        raise ImageLoadError(f"{label} could not be decoded: it may be truncated or corrupt ({error}).") from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB: alpha over white, 16-bit and float scaled to 0-255."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = np.zeros_like(values) if high <= low else (values - low) / (high - low) * 255.0
        image = Image.fromarray(scaled.astype(np.uint8), mode="L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
