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
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from camlib.errors import ImageLoadError
from camlib.image_conversion import DECODE_ERRORS, MAX_PAGES_COUNTED, frames_note, to_rgb, to_rgb_with_note, upright_with_note
from camlib.image_sources import printable, read_source

__all__ = [
    "MAX_FILE_BYTES", "MAX_MEGAPIXELS", "MAX_PAGES_COUNTED", "SUPPORTED_FORMATS", "SUPPORTED_NAMES", "LoadedImage", "load_image",
    "load_image_with_notes", "to_rgb",
]

MAX_MEGAPIXELS = 50
"""Largest image accepted, in millions of pixels (a 8660 × 5773 photo).

Pillow's own decompression-bomb guard warns above ``PIL.Image.MAX_IMAGE_PIXELS`` (about 89 megapixels)
and refuses above twice that; camlib's limit is lower. Its warning is kept quiet while camlib opens a
file (see :func:`_open`), and its refusal is reported with the size it found.
"""

MAX_FILE_BYTES = 256 * 1024 * 1024
"""Largest image file accepted, in bytes (256 MiB), checked from the file's size before it is read.

An uncompressed 50-megapixel RGB BMP is 150 MB; anything larger than this limit cannot hold an image
that camlib accepts, except as waste, so it is refused without being read into memory.
"""

SUPPORTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
"""The formats the loader opens, as Pillow names them. Multi-picture JPEGs (Pillow's ``MPO``) are JPEGs."""

FORMAT_NAMES = {"WEBP": "WebP"}  # a format's name for people, where it is not Pillow's
SUPPORTED_NAMES = ", ".join(FORMAT_NAMES.get(name, name) for name in SUPPORTED_FORMATS)
"""``PNG, JPEG, WebP, BMP, GIF, TIFF``: what the messages and the app's uploaders say camlib reads."""

_SIGNATURES = (  # the first bytes of each supported format, to say which one a damaged header was meant to be
    (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
    (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"RIFF", "WEBP"),
)

_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")
_OPENING = threading.Lock()  # camlib's own loads never overlap inside warnings.catch_warnings (see _open)


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
            format, larger than :data:`MAX_FILE_BYTES` or than :data:`MAX_MEGAPIXELS`; the path is a
            folder, a FIFO, a device or a symbolic link loop; or there is not enough memory to decode it.
    """
    return load_image_with_notes(source, name=name).image


def load_image_with_notes(source: str | os.PathLike | bytes | io.IOBase, *, name: str | None = None) -> LoadedImage:
    """Like :func:`load_image`, but also says what was done to the image (see :class:`LoadedImage`)."""
    label = name or (printable(Path(source).name) if isinstance(source, str | os.PathLike) else "The file")
    data = read_source(source, label, MAX_FILE_BYTES)
    size = None
    try:
        with _open(data, label) as opened:
            size = _checked_size(opened, label)
            return _decoded(opened, size)
    except ImageLoadError:
        raise
    except MemoryError:
        found = f" ({size[0]}×{size[1]})" if size else ""
        raise ImageLoadError(f"{label}{found} could not be decoded: not enough memory.") from None
    except DECODE_ERRORS as error:
        raise ImageLoadError(f"{label} could not be decoded: it may be truncated or corrupt ({_short(error)}).") from None


def _checked_size(opened: Image.Image, label: str) -> tuple[int, int]:
    width, height = opened.size
    if width * height > MAX_MEGAPIXELS * 1_000_000:
        raise _too_many_pixels(label, width * height, f"{width}×{height}")
    if width < 1 or height < 1:
        raise ImageLoadError(f"{label} has no pixels ({width}×{height}).")
    return width, height


def _too_many_pixels(label: str, pixels: int, dimensions: str | None = None) -> ImageLoadError:
    size = f"{dimensions} ({pixels / 1e6:.0f} megapixels)" if dimensions else f"{pixels / 1e6:.0f} megapixels by its header"
    return ImageLoadError(
        f"{label} is {size}; "
        f"the limit is {MAX_MEGAPIXELS} megapixels. Resize it and try again."
    )


def _decoded(opened: Image.Image, size: tuple[int, int]) -> LoadedImage:
    """The first frame, upright and in 8-bit RGB, with the notes on what was changed."""
    frames = frames_note(opened)
    opened.seek(0)
    opened.load()
    upright, turned = upright_with_note(opened)
    rgb, conversion = to_rgb_with_note(upright)
    rgb.load()
    notes = tuple(note for note in (frames, turned, conversion) if note)
    return LoadedImage(image=rgb, format=opened.format or "?", mode=opened.mode, stored_size=size, notes=notes)


def _open(data: bytes, label: str) -> Image.Image:
    """``Image.open`` restricted to :data:`SUPPORTED_FORMATS`, with Pillow's decompression-bomb warning kept quiet.

    Pillow warns (DecompressionBombWarning) for images of 89-179 megapixels; camlib refuses them anyway
    (:data:`MAX_MEGAPIXELS`, checked right after this, before any pixel is decoded), so the warning would
    only print a second, confusing line. It is silenced with ``warnings.catch_warnings`` around this call
    alone, for that category alone; the lock keeps camlib's loads in several threads (the app's sessions)
    from interleaving their saved filter lists. Above 179 megapixels Pillow refuses the header itself,
    and the size in its message is reported.
    """
    with _OPENING, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
        except Image.DecompressionBombError as error:
            found = _BOMB_PIXELS.search(str(error))
            if found is None:
                raise ImageLoadError(f"{label} is too large: its header claims far more than {MAX_MEGAPIXELS} megapixels.") from None
            raise _too_many_pixels(label, int(found.group(1))) from None
        except Image.UnidentifiedImageError:
            raise ImageLoadError(_not_an_image_message(data, label)) from None


def _not_an_image_message(data: bytes, label: str) -> str:
    prefix = data[:16]
    for signature, file_format in _SIGNATURES:
        if prefix.startswith(signature) and (file_format != "WEBP" or prefix[8:12] == b"WEBP"):
            return (f"{label} looks like a {file_format} file but its header could not be read: "
                    "it may be truncated or corrupt.")
    base = f"{label} is not an image that camlib can read ({SUPPORTED_NAMES})"
    if prefix.startswith(b"%PDF"):
        return f"{base}: it is a PDF document."
    if prefix[4:8] == b"ftyp" and prefix[8:12] in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif"):
        return f"{base}: it is a HEIC/AVIF photo. Convert it to JPEG or PNG first."
    if prefix.lstrip().startswith((b"<svg", b"<?xml")):
        return f"{base}: it is an SVG or XML document."
    other = _other_format(data)
    if other is not None:
        return f"{base}: it looks like a {other} file. Convert it to PNG or JPEG first."
    if _looks_like_text(data):
        return f"{base}: it contains text, not image data."
    return f"{base}: its content is not a recognised image format (an empty, truncated or corrupt file?)."


def _other_format(data: bytes) -> str | None:
    """The name of a format Pillow reads but camlib does not (PPM, ICO, ...) whose header ``data`` has, if any.

    Only the header is parsed (``Image.open`` is lazy), inside :func:`_open`'s lock and warning filter.
    """
    try:
        with Image.open(io.BytesIO(data)) as opened:
            return opened.format
    except Exception:  # noqa: BLE001 - a header that no plugin can parse just is not recognised
        return None


def _looks_like_text(data: bytes) -> bool:
    sample = data[:512]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(byte >= 32 or byte in b"\t\n\r\f" for byte in sample)


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:200] if text else type(error).__name__
