"""Image files for the loader's tests, made in memory with Pillow: valid files of every supported format
and mode, and files whose header claims a huge size (decompression bombs) for each format.

Shared by test_images.py, test_images_fuzz.py and test_inputs_table.py. Everything is deterministic
(fixed seeds), so the documentation table made from these files does not change between runs.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)
ORIENTATION = 0x0112


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def noise(width: int = 32, height: int = 24, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def two_frames(fmt: str, size: tuple[int, int] = (6, 6), **options) -> bytes:
    """A red frame, then a blue one."""
    frames = [Image.new("RGB", size, RED), Image.new("RGB", size, BLUE)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], **options)


def exif_rotated_jpeg(orientation: int) -> bytes:
    """Stored 40 wide × 20 tall, red top-left quarter on blue, with the given EXIF orientation."""
    stored = np.zeros((20, 40, 3), dtype=np.uint8)
    stored[:] = BLUE
    stored[:10, :20] = RED
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())


def palette_with_transparency() -> bytes:
    """4×4: left half palette index 0 (black, transparent), right half index 1 (red)."""
    indices = np.zeros((4, 4), dtype=np.uint8)
    indices[:, 2:] = 1
    palette = Image.fromarray(indices, "P")
    palette.putpalette([0, 0, 0, *RED] + [0, 0, 0] * 254)
    return encode(palette, transparency=0)


def sixteen_bit_png() -> bytes:
    values = np.linspace(1000, 60000, 64).astype(np.uint16).reshape(8, 8)
    return encode(Image.fromarray(values))


def valid_files() -> dict[str, bytes]:
    """One small valid file per format and notable variant: the seeds of the fuzz test."""
    image = noise()
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    return {
        "png": encode(image),
        "png_rgba": encode(image.convert("RGBA")),
        "png_palette_transparent": palette_with_transparency(),
        "png_16bit": sixteen_bit_png(),
        "apng": two_frames("PNG"),
        "jpeg_exif": encode(image, "JPEG", exif=exif.tobytes()),
        "jpeg_progressive": encode(image, "JPEG", progressive=True),
        "jpeg_cmyk": encode(image.convert("CMYK"), "JPEG"),
        "mpo": two_frames("MPO"),
        "gif_animated": two_frames("GIF"),
        "bmp": encode(image, "BMP"),
        "bmp_palette": encode(image.convert("P"), "BMP"),
        "webp": encode(image, "WEBP"),
        "webp_lossless": encode(image, "WEBP", lossless=True),
        "webp_animated": two_frames("WEBP"),
        "tiff": encode(image, "TIFF"),
        "tiff_lzw": encode(image, "TIFF", compression="tiff_lzw"),
        "tiff_pages": two_frames("TIFF"),
    }


# -- decompression bombs: tiny files whose header claims a huge image -----------------------------------


def png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming ``width`` × ``height`` whose image data is empty: a few dozen bytes."""

    def chunk(kind: bytes, payload: bytes = b"") -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT") + chunk(b"IEND")


def gif_bomb() -> bytes:
    """A 4×4 GIF whose logical screen says 65535 × 65535 (4295 megapixels)."""
    data = bytearray(encode(Image.new("P", (4, 4)), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def bmp_bomb() -> bytes:
    """A 4×4 BMP whose header says 30000 × 30000 (900 megapixels)."""
    data = bytearray(encode(Image.new("RGB", (4, 4)), "BMP"))
    data[18:26] = struct.pack("<ii", 30000, 30000)
    return bytes(data)


def jpeg_bomb() -> bytes:
    """An 8×8 JPEG whose frame header (SOF0) says 60000 × 60000 (3600 megapixels)."""
    data = bytearray(encode(Image.new("RGB", (8, 8)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)
    return bytes(data)


def tiff_bomb() -> bytes:
    """A 4×4 TIFF whose ImageWidth and ImageLength tags say 60000 (3600 megapixels)."""
    data = bytearray(encode(Image.new("L", (4, 4)), "TIFF"))
    assert data[:2] == b"II", "Pillow writes little-endian TIFF"
    ifd = struct.unpack_from("<I", data, 4)[0]
    (count,) = struct.unpack_from("<H", data, ifd)
    for index in range(count):
        at = ifd + 2 + 12 * index
        tag, kind = struct.unpack_from("<HH", data, at)
        if tag in (256, 257):  # ImageWidth, ImageLength
            struct.pack_into("<H" if kind == 3 else "<I", data, at + 8, 60000)
    return bytes(data)


def webp_bomb() -> bytes:
    """A 4×4 lossless WebP whose VP8L header says 16384 × 16384 (268 megapixels, the format's maximum)."""
    data = bytearray(encode(Image.new("RGB", (4, 4)), "WEBP", lossless=True))
    at = data.index(b"VP8L") + 8
    assert data[at] == 0x2F, "VP8L signature"
    bits = struct.unpack_from("<I", data, at + 1)[0]
    bits = (bits & ~((1 << 28) - 1)) | 16383 | (16383 << 14)  # 14 bits each of width - 1 and height - 1
    struct.pack_into("<I", data, at + 1, bits)
    return bytes(data)


BOMBS = {
    "PNG 8000×8000 (64 MP, below Pillow's own limit)": lambda: png_header_only(8000, 8000),
    "PNG 10000×10000 (100 MP, where Pillow only warns)": lambda: png_header_only(10_000, 10_000),
    "PNG 100000×100000": lambda: png_header_only(100_000, 100_000),
    "JPEG 60000×60000": jpeg_bomb,
    "GIF 65535×65535": gif_bomb,
    "BMP 30000×30000": bmp_bomb,
    "TIFF 60000×60000": tiff_bomb,
    "WebP 16384×16384": webp_bomb,
}


def many_page_tiff(pages: int) -> bytes:
    """A little-endian TIFF of ``pages`` 1×1 grayscale pages that share one pixel, built directly (Pillow
    takes minutes to save thousands of pages)."""
    entry_count = 8
    ifd_size = 2 + 12 * entry_count + 4
    pixel_at = 8
    first_ifd = pixel_at + 2  # one pixel byte, padded to an even offset
    out = bytearray(struct.pack("<2sHI", b"II", 42, first_ifd))
    out += b"\x80\x00"
    for page in range(pages):
        next_ifd = first_ifd + (page + 1) * ifd_size if page + 1 < pages else 0
        entries = [
            (256, 3, 1, 1),  # width
            (257, 3, 1, 1),  # height
            (258, 3, 1, 8),  # bits per sample
            (259, 3, 1, 1),  # no compression
            (262, 3, 1, 1),  # black is zero
            (273, 4, 1, pixel_at),  # strip offset
            (278, 3, 1, 1),  # rows per strip
            (279, 4, 1, 1),  # strip byte count
        ]
        out += struct.pack("<H", entry_count)
        for tag, kind, count, value in entries:
            out += struct.pack("<HHII", tag, kind, count, value)
        out += struct.pack("<I", next_ifd)
    return bytes(out)
