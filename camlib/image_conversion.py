"""From an opened image file to upright 8-bit RGB, with a note, for people, on each change made.

Used by :mod:`camlib.images`: the frame or page count of animations and multi-page files, the EXIF
orientation, and the conversion of every pixel mode (16-bit, float, alpha, palette, CMYK, grayscale)
to 8-bit RGB. :func:`to_rgb` is the one place a picture becomes 8-bit RGB for display.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from PIL import Image, ImageOps

MAX_PAGES_COUNTED = 1000
"""Multi-page files (TIFF) are counted up to this many pages for the note saying that only the first is
used; beyond it the note says "more than 1000". Pillow's full count grows faster than linearly with the
number of pages (160,000 pages took minutes)."""

ORIENTATION_TAG = 0x0112

DECODE_ERRORS = (
    OSError,  # includes Pillow's "image file is truncated" and zlib/libjpeg/libtiff failures
    ValueError,  # e.g. "conversion not supported", bad palette or tile sizes
    SyntaxError,  # Pillow's plugins signal "not a valid file" with SyntaxError
    EOFError,  # a frame or page that is not there
    struct.error,  # a header field cut short
    zlib.error,
    IndexError,  # a palette or table index past its end
    ArithmeticError,  # ZeroDivisionError, OverflowError from sizes in a corrupt header
)
"""What Pillow, its C decoders and numpy raise on malformed files: every one means "this file is damaged".
Found by tests/test_images_fuzz.py, which feeds the loader random and mutated bytes and fails on any other
exception class. A TypeError or KeyError would be a bug in camlib or Pillow and a MemoryError a lack of
memory, not a damaged file, so they are not here."""

PAGE_HEADER_ERRORS = (*DECODE_ERRORS, TypeError, KeyError)
"""What reading a later frame's or page's header raises: Pillow's TIFF plugin raises TypeError ("Missing
dimensions") and KeyError (an unknown compression code) there (tests/test_images_fuzz.py), as its
``Image.open`` does for a first page, which it then reports as "cannot identify image file". Caught only
around the frame count, which is informative: the first frame is still used."""

HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_KINDS = {"TIFF": "a multi-page TIFF", "MPO": "a multi-picture JPEG", "WEBP": "an animated WebP"}
_UNITS = {"TIFF": "pages", "MPO": "pictures"}


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB: alpha over white, 16-bit, 32-bit and float scaled to 0-255.

    Pillow's own ``convert("RGB")`` clips a 16-bit image's values at 255, which turns a typical 16-bit
    photo (values in the thousands) all white; here the darkest value becomes 0 and the brightest 255.
    """
    return to_rgb_with_note(image)[0]


def to_rgb_with_note(image: Image.Image) -> tuple[Image.Image, str | None]:
    """Convert to 8-bit RGB and say what changed, or ``None`` for a plain conversion."""
    mode = image.mode
    note = None
    if mode in HIGH_DEPTH_MODES:
        image = scaled_to_8_bits(image)
        bits = "16-bit" if mode.startswith("I;16") else "32-bit"
        note = f"Its {bits} values were scaled to 8 bits (darkest to 0, brightest to 255)."
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ALPHA_MODES:
        rgba = image.convert("RGBA")
        if rgba.getextrema()[3][0] < 255:
            note = "Its transparent areas were placed on a white background."
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB"), note
    if image.mode == "CMYK":
        note = "Converted from CMYK (print colours) to RGB."
    elif image.mode in ("L", "1") and note is None:
        note = "Grayscale: the gray level is used for all three colour channels."
    return image.convert("RGB"), note


def scaled_to_8_bits(image: Image.Image) -> Image.Image:
    """A 16-bit, 32-bit integer or float image as 8-bit grayscale (mode L), its finite range stretched to 0-255."""
    values = np.asarray(image, dtype=np.float32)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if high > low:
        scaled = (np.nan_to_num(values, nan=low, posinf=high, neginf=low) - low) * np.float32(255.0 / (high - low))
    else:
        scaled = np.zeros_like(values)
    return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8))  # 2-D uint8: mode L


def frames_note(opened: Image.Image) -> str | None:
    """The note for a file of several frames, pages or pictures, of which only the first is used."""
    frames = frame_count(opened)
    if frames <= 1:
        return None
    file_format = opened.format or "?"
    kind = _KINDS.get(file_format, f"an animated {file_format}")
    count = f"more than {MAX_PAGES_COUNTED}" if frames > MAX_PAGES_COUNTED else str(frames)
    return f"It is {kind} ({count} {_UNITS.get(file_format, 'frames')}): only the first is used."


def frame_count(opened: Image.Image) -> int:
    """How many frames (animation), pages (TIFF) or pictures (MPO) the file holds.

    Only informative: a file whose later frames cannot be parsed counts as one frame (or two, when it
    is known to be animated), and its first frame is still used.
    """
    try:
        if not getattr(opened, "is_animated", False):
            return 1
    except PAGE_HEADER_ERRORS:
        return 1
    try:
        if opened.format == "TIFF":  # Pillow's n_frames walks every page, in time quadratic in their number
            return count_pages(opened, MAX_PAGES_COUNTED + 1)
        return max(2, int(getattr(opened, "n_frames", 2)))
    except PAGE_HEADER_ERRORS:
        return 2


def count_pages(opened: Image.Image, stop: int) -> int:
    """The number of pages, counted by seeking one at a time, but not beyond ``stop``."""
    count = 1
    while count < stop:
        try:
            opened.seek(count)
        except EOFError:
            break
        count += 1
    return max(2, count)


def upright_with_note(image: Image.Image) -> tuple[Image.Image, str | None]:
    """``image`` turned as its EXIF orientation tag says, and the note saying so (``None`` if unchanged)."""
    orientation = exif_orientation(image)
    if orientation in (None, 1):
        return image, None
    return ImageOps.exif_transpose(image), f"Turned upright according to its EXIF orientation tag ({orientation})."


def exif_orientation(image: Image.Image) -> int | None:
    try:
        value = image.getexif().get(ORIENTATION_TAG)
    except DECODE_ERRORS:
        return None  # unreadable EXIF: show the image as stored
    return value if isinstance(value, int) and 1 <= value <= 8 else None
