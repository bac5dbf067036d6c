"""Reading images safely: one loader for the CLI, the evaluation and the app.

Every failure becomes an :class:`~camlib.errors.ImageLoadError` with a message for people. Images
larger than :data:`MAX_MEGAPIXELS` are refused from their header, before their pixels are decoded.

:func:`load_image` returns the upright 8-bit RGB image. :func:`load_image_with_notes` returns the same
image in a :class:`LoadedImage` together with notes, written for people, on what the loader changed:
an animated GIF gives its first frame, EXIF rotation is applied, transparency goes on white, and so on.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from camlib.errors import ImageLoadError

MAX_MEGAPIXELS = 50
"""Largest image accepted, in millions of pixels (a 8660 × 5773 photo).

Pillow's own decompression-bomb guard warns above ``PIL.Image.MAX_IMAGE_PIXELS`` (about 89 megapixels)
and refuses above twice that; camlib's limit is lower and is checked first, from the header, so an
image that camlib accepts never reaches Pillow's guard and nothing global is changed to silence it.
"""

MAX_FILE_BYTES = 256 * 1024 * 1024
"""Largest image file accepted, in bytes (256 MiB), checked from the file's size before it is read.

An uncompressed 50-megapixel RGB BMP is 150 MB; anything larger than this limit cannot hold an image
that camlib accepts, except as waste, so it is refused without being read into memory.
"""

MAX_PAGES_COUNTED = 1000
"""Multi-page files (TIFF) are counted up to this many pages for the note saying that only the first is
used; beyond it the note says "more than 1000". Pillow's full count grows faster than linearly with the
number of pages (160,000 pages took minutes)."""

SUPPORTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
"""The formats the loader tries to open. Multi-picture JPEGs (Pillow's ``MPO``) are JPEGs."""

_SUPPORTED_NAMES = "PNG, JPEG, WebP, BMP, GIF, TIFF"

ORIENTATION_TAG = 0x0112

# Errors that Pillow, its C decoders or numpy raise on malformed files. Found by tests/test_images_fuzz.py,
# which feeds the loader random and mutated bytes and fails on any other exception class.
_DECODE_ERRORS = (
    OSError,  # includes Pillow's "image file is truncated" and zlib/libjpeg/libtiff failures
    ValueError,  # e.g. "conversion not supported", bad palette or tile sizes
    SyntaxError,  # Pillow's plugins signal "not a valid file" with SyntaxError
    EOFError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
    ArithmeticError,  # ZeroDivisionError, OverflowError
    MemoryError,
)


@dataclass(frozen=True)
class LoadedImage:
    """An image read by :func:`load_image_with_notes`.

    Attributes:
        image: the picture as upright 8-bit RGB, ready for ``Backbone.preprocess``.
        format: the file's format as Pillow names it (``"PNG"``, ``"JPEG"``, ``"MPO"``, ...).
        mode: the file's pixel mode before conversion (``"RGBA"``, ``"I;16"``, ``"CMYK"``, ...).
        stored_size: width and height as stored in the file, before EXIF rotation.
        notes: one sentence per change the loader made that a person may want to know about, such as
            using only the first frame of an animation. Empty for a plain RGB file.
    """

    image: Image.Image
    format: str
    mode: str
    stored_size: tuple[int, int]
    notes: tuple[str, ...] = ()


def load_image(source: str | os.PathLike | bytes | io.IOBase, *, name: str | None = None) -> Image.Image:
    """Read an image file, bytes or file object and return it as an upright RGB :class:`PIL.Image.Image`.

    Transparent images are composited on white, 16-bit images are scaled to 8 bits, EXIF rotation is
    applied, and an animated image gives its first frame. Use :func:`load_image_with_notes` to learn
    which of these happened. ``name`` is how error messages refer to the image (default: the file name).

    Raises:
        ImageLoadError: the file is missing, empty, not an image, corrupt or truncated, in an unsupported
            format, larger than :data:`MAX_FILE_BYTES` or than :data:`MAX_MEGAPIXELS`.
    """
    return load_image_with_notes(source, name=name).image


def load_image_with_notes(source: str | os.PathLike | bytes | io.IOBase, *, name: str | None = None) -> LoadedImage:
    """Like :func:`load_image`, but also says what was done to the image (see :class:`LoadedImage`)."""
    label = name or (_printable(Path(source).name) if isinstance(source, str | os.PathLike) else "The file")
    data = _read_bytes(source, label)
    try:
        with _open(data, label) as opened:
            width, height = opened.size
            if width * height > MAX_MEGAPIXELS * 1_000_000:
                raise ImageLoadError(
                    f"{label} is {width}×{height} ({width * height / 1e6:.0f} megapixels); "
                    f"the limit is {MAX_MEGAPIXELS} megapixels. Resize it and try again."
                )
            if width < 1 or height < 1:
                raise ImageLoadError(f"{label} has no pixels ({width}×{height}).")
            file_format, mode = opened.format or "?", opened.mode
            notes = []
            frames = _frame_count(opened)
            if frames > 1:
                kind = {"TIFF": "a multi-page TIFF", "MPO": "a multi-picture JPEG", "WEBP": "an animated WebP"}.get(
                    file_format, f"an animated {file_format}"
                )
                unit = {"TIFF": "pages", "MPO": "pictures"}.get(file_format, "frames")
                count = f"more than {MAX_PAGES_COUNTED}" if frames > MAX_PAGES_COUNTED else str(frames)
                notes.append(f"It is {kind} ({count} {unit}): only the first is used.")
            opened.seek(0)
            opened.load()
            orientation = _orientation(opened)
            upright = ImageOps.exif_transpose(opened) if orientation not in (None, 1) else opened
            if orientation not in (None, 1):
                notes.append(f"Turned upright according to its EXIF orientation tag ({orientation}).")
            rgb, conversion = _to_rgb_with_note(upright)
            if conversion:
                notes.append(conversion)
            rgb.load()
    except ImageLoadError:
        raise
    except Image.DecompressionBombError:  # only reachable from a later frame's header; the first is checked above
        raise ImageLoadError(f"{label} is too large: its header claims far more than {MAX_MEGAPIXELS} megapixels.") from None
    except _DECODE_ERRORS as error:
        raise ImageLoadError(f"{label} could not be decoded: it may be truncated or corrupt ({_short(error)}).") from None
    return LoadedImage(image=rgb, format=file_format, mode=mode, stored_size=(width, height), notes=tuple(notes))


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB: alpha over white, 16-bit and float scaled to 0-255."""
    return _to_rgb_with_note(image)[0]


# -- helpers -------------------------------------------------------------------------------------------


def _too_large(label: str, size: int | None = None) -> ImageLoadError:
    found = f" ({size:,} bytes)" if size is not None else ""
    return ImageLoadError(
        f"{label} is larger than {MAX_FILE_BYTES // 2**20} MiB{found}, the largest image file camlib reads. "
        "Resize or recompress it and try again."
    )


def _read_bytes(source, label: str) -> bytes:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            if path.is_dir():
                raise ImageLoadError(f"{_printable(os.fspath(source))} is a folder, not an image file.")
            if not path.is_file():
                raise ImageLoadError(f"No such file: {_printable(os.fspath(source))}")
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise _too_large(label, size)
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)  # bounded, should the file grow meanwhile
        except OSError as error:
            raise ImageLoadError(f"{label} could not be read: {error.strerror or error}.") from None
    elif isinstance(source, bytes | bytearray | memoryview):
        if len(source) > MAX_FILE_BYTES:
            raise _too_large(label, len(source))
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read(MAX_FILE_BYTES + 1)
        if not isinstance(data, bytes | bytearray):
            raise ImageLoadError(f"{label} must be opened in binary mode ('rb'), not as text.")
        data = bytes(data)
    else:
        raise ImageLoadError(f"Cannot read an image from a {type(source).__name__}; give a path, bytes or a binary file.")
    if not data:
        raise ImageLoadError(f"{label} is empty (0 bytes).")
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(label)
    return data


def _printable(text: str) -> str:
    """A file name as it can be printed: bytes that are not UTF-8 become ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _open(data: bytes, label: str) -> Image.Image:
    """``Image.open`` restricted to :data:`SUPPORTED_FORMATS`, without Pillow's decompression-bomb check.

    ``Image.open`` warns (DecompressionBombWarning) for images of 89-179 megapixels; silencing that with
    ``warnings.catch_warnings`` would change process-wide state under the app's other threads. The size
    check of :func:`load_image_with_notes` comes right after this, before any pixel is decoded, and is
    stricter than Pillow's.
    """
    Image.init()
    prefix = data[:16]
    failure = None
    for file_format in SUPPORTED_FORMATS:
        factory, accept = Image.OPEN[file_format]
        accepted = accept(prefix) if accept is not None else True
        if not accepted or isinstance(accepted, str):  # a str means "recognised, but a variant Pillow cannot read"
            continue
        try:
            return factory(io.BytesIO(data), "")
        except (SyntaxError, IndexError, TypeError, KeyError, struct.error) as error:
            failure = failure or (file_format, error)  # as Image.open does: try the next format
    if failure is not None:
        file_format, error = failure
        raise ImageLoadError(
            f"{label} looks like a {file_format} file but its header could not be read: "
            f"it may be truncated or corrupt ({_short(error)})."
        )
    raise ImageLoadError(_not_an_image_message(data, label))


def _not_an_image_message(data: bytes, label: str) -> str:
    prefix = data[:16]
    base = f"{label} is not an image that camlib can read ({_SUPPORTED_NAMES})"
    if prefix.startswith(b"%PDF"):
        return f"{base}: it is a PDF document."
    if prefix[4:8] == b"ftyp" and prefix[8:12] in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif"):
        return f"{base}: it is a HEIC/AVIF photo. Convert it to JPEG or PNG first."
    if prefix.lstrip().startswith((b"<svg", b"<?xml")):
        return f"{base}: it is an SVG or XML document."
    for file_format, (_factory, accept) in Image.OPEN.items():
        if file_format in SUPPORTED_FORMATS or accept is None:
            continue
        try:
            recognised = accept(prefix)
        except Exception:  # noqa: BLE001 - a sniffing function that fails just does not recognise the file
            recognised = False
        if recognised and not isinstance(recognised, str):
            return f"{base}: it looks like a {file_format} file. Convert it to PNG or JPEG first."
    if _looks_like_text(data):
        return f"{base}: it contains text, not image data."
    return f"{base}: its content is not a recognised image format (an empty, truncated or corrupt file?)."


def _looks_like_text(data: bytes) -> bool:
    sample = data[:512]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(byte >= 32 or byte in b"\t\n\r\f" for byte in sample)


def _frame_count(opened: Image.Image) -> int:
    """How many frames (animation), pages (TIFF) or pictures (MPO) the file holds.

    Only informative: a file whose later frames cannot be parsed counts as one frame (or two, when it
    is known to be animated), and its first frame is still used.
    """
    try:
        if not getattr(opened, "is_animated", False):
            return 1
    except _DECODE_ERRORS:
        return 1
    try:
        if opened.format == "TIFF":  # Pillow's n_frames walks every page, in time quadratic in their number
            return _count_pages(opened, MAX_PAGES_COUNTED + 1)
        return max(2, int(getattr(opened, "n_frames", 2)))
    except _DECODE_ERRORS:
        return 2


def _count_pages(opened: Image.Image, stop: int) -> int:
    """The number of pages, counted by seeking one at a time, but not beyond ``stop``."""
    count = 1
    while count < stop:
        try:
            opened.seek(count)
        except EOFError:
            break
        count += 1
    return max(2, count)


def _orientation(image: Image.Image) -> int | None:
    try:
        value = image.getexif().get(ORIENTATION_TAG)
    except _DECODE_ERRORS:
        return None  # unreadable EXIF: show the image as stored
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _to_rgb_with_note(image: Image.Image) -> tuple[Image.Image, str | None]:
    """Convert to 8-bit RGB and say what changed, or ``None`` for a plain conversion."""
    mode = image.mode
    note = None
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float32)
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        if high > low:
            scaled = (np.nan_to_num(values, nan=low, posinf=high, neginf=low) - low) * np.float32(255.0 / (high - low))
        else:
            scaled = np.zeros_like(values)
        image = Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8))  # 2-D uint8: mode L
        bits = "16-bit" if mode.startswith("I;16") else "32-bit"
        note = f"Its {bits} values were scaled to 8 bits (darkest to 0, brightest to 255)."
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
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


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:200] if text else type(error).__name__
