"""Second hardening round (issue 13): every bad input ends in one clear line, and sizes are bounded
before work is done. Each test here failed before its fix."""

from __future__ import annotations

import io

import pytest
from PIL import TiffImagePlugin

import camlib.images
from camlib.errors import ImageLoadError
from camlib.images import MAX_FILE_BYTES, MAX_PAGES_COUNTED, load_image, load_image_with_notes
from image_samples import RED, encode, many_page_tiff, noise

# -- sizes bounded before work ---------------------------------------------------------------------------


def test_image_file_over_the_byte_limit_is_refused_from_its_size(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    with open(path, "wb") as handle:  # sparse: no disk used, and never read
        handle.truncate(MAX_FILE_BYTES + 1)

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(camlib.images.Path, "read_bytes", no_reading)
    with pytest.raises(ImageLoadError, match=r"huge.png is larger than 256 MiB"):
        load_image(path)


def test_image_bytes_and_file_objects_over_the_byte_limit_are_refused(monkeypatch):
    data = encode(noise(64, 64))
    monkeypatch.setattr(camlib.images, "MAX_FILE_BYTES", len(data) - 1)
    with pytest.raises(ImageLoadError, match="larger than"):
        load_image(data)

    class Endless(io.RawIOBase):
        """A stream that never ends, as /dev/zero: only a bounded read can refuse it."""

        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    with pytest.raises(ImageLoadError, match="larger than"):
        load_image(io.BufferedReader(Endless()))


def test_multi_page_tiff_pages_are_counted_only_up_to_the_limit(monkeypatch):
    seeks = []
    original = TiffImagePlugin.TiffImageFile._seek

    def counting(self, frame):
        seeks.append(frame)
        return original(self, frame)

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "_seek", counting)
    loaded = load_image_with_notes(many_page_tiff(3 * MAX_PAGES_COUNTED))
    assert loaded.image.getpixel((0, 0)) == (128, 128, 128)
    assert f"more than {MAX_PAGES_COUNTED} pages" in loaded.notes[0]
    assert max(seeks) <= MAX_PAGES_COUNTED  # never walked to the last page


def test_multi_page_tiff_below_the_limit_gives_its_page_count():
    assert "(3 pages)" in load_image_with_notes(many_page_tiff(3)).notes[0]


def test_non_utf8_file_name_in_messages(tmp_path):
    name = b"caf\xe9.png".decode("utf-8", "surrogateescape")
    path = tmp_path / name
    path.write_bytes(b"not an image at all, just text\n")
    with pytest.raises(ImageLoadError) as raised:
        load_image(path)
    message = str(raised.value)
    assert "caf\\xe9.png" in message
    message.encode("utf-8")  # printable: no lone surrogate left
    assert RED  # the sample module is importable alongside
