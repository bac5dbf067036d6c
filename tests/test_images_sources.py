"""Paths that exist but are not image files are named for what they are, and nothing blocks or runs forever.

Before: a symbolic link loop, a FIFO, ``/dev/zero`` and a broken link all said "No such file" (and a
FIFO opened for reading would wait for a writer forever). Each check runs beside a planted error: the
old way of reading a path, which the same check must reject.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from image_samples import encode, noise

import camlib.image_sources
from camlib.errors import ImageLoadError
from camlib.images import MAX_FILE_BYTES, load_image

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, /dev/zero and symbolic links as on POSIX")


def old_read_path(path, label, max_bytes):
    """The planted error: the reader before this change (is_dir / is_file, then open and read)."""
    path = Path(path)
    if path.is_dir():
        raise ImageLoadError(f"{path} is a folder, not an image file.")
    if not path.is_file():
        raise ImageLoadError(f"No such file: {path}")
    with open(path, "rb") as handle:
        return handle.read(max_bytes + 1)


def refusal(path) -> str:
    """The message ``load_image`` gives for ``path``, within 10 s, or a failure if it waits longer."""
    outcome: list[BaseException | object] = []
    worker = threading.Thread(target=lambda: outcome.append(_attempt(path)), daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():
        pytest.fail(f"load_image({path}) blocked for 10 s")
    result = outcome[0]
    assert isinstance(result, ImageLoadError), f"expected ImageLoadError, got {result!r}"
    return str(result)


def _attempt(path):
    try:
        return load_image(path)
    except BaseException as error:  # noqa: BLE001 - handed back to the test
        return error


@posix_only
def test_symbolic_link_loop_is_named(tmp_path):
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    assert refusal(loop) == f"{loop} is a symbolic link loop: following it never reaches a file."


@posix_only
def test_two_link_loop_and_broken_link(tmp_path):
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    assert "symbolic link loop" in refusal(tmp_path / "a.png")
    (tmp_path / "broken.png").symlink_to(tmp_path / "gone.png")
    assert "broken symbolic link" in refusal(tmp_path / "broken.png")


@posix_only
def test_fifo_is_named_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert refusal(fifo) == f"{fifo} is a FIFO (named pipe), not an image file."


@posix_only
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_devices_are_named_without_reading():
    assert refusal("/dev/zero") == "/dev/zero is a character device, not an image file."
    assert "character device" in refusal("/dev/null")


def test_folder_missing_file_and_file_used_as_folder(tmp_path):
    assert refusal(tmp_path) == f"{tmp_path} is a folder, not an image file."
    assert refusal(tmp_path / "absent.png") == f"No such file: {tmp_path / 'absent.png'}"
    (tmp_path / "plain.txt").write_text("x")
    assert "a part of the path is a file, not a folder" in refusal(tmp_path / "plain.txt" / "x.png")


@posix_only
def test_a_regular_file_and_a_link_to_it_still_load(tmp_path):
    (tmp_path / "photo.png").write_bytes(encode(noise(6, 4)))
    (tmp_path / "link.png").symlink_to(tmp_path / "photo.png")
    assert load_image(tmp_path / "photo.png").size == load_image(tmp_path / "link.png").size == (6, 4)


@posix_only
def test_fifo_swapped_in_after_the_check_is_refused_when_open(tmp_path, monkeypatch):
    """The file is checked again once opened (without blocking), so a FIFO put in place meanwhile is refused."""
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    regular = stat.S_IFREG | 0o644
    real_stat = os.stat
    monkeypatch.setattr(camlib.image_sources.os, "stat",
                        lambda path, *a, **k: os.stat_result((regular, *real_stat(path)[1:])) if Path(path) == fifo
                        else real_stat(path, *a, **k))
    assert refusal(fifo) == f"{fifo} is a FIFO (named pipe), not an image file."


@posix_only
def test_checks_catch_the_old_reader(tmp_path, monkeypatch):
    """The planted error: the old reader says "No such file" for a loop and for /dev/zero."""
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    monkeypatch.setattr(camlib.image_sources, "read_path", old_read_path)
    with pytest.raises(AssertionError):
        assert refusal(loop) == f"{loop} is a symbolic link loop: following it never reaches a file."
    with pytest.raises(AssertionError):
        assert refusal("/dev/zero") == "/dev/zero is a character device, not an image file."


def test_file_over_the_byte_limit_is_refused_from_its_size_once_open(tmp_path):
    path = tmp_path / "huge.png"
    with open(path, "wb") as handle:  # sparse: no disk used, and never read
        handle.truncate(MAX_FILE_BYTES + 1)
    assert refusal(path).startswith("huge.png is larger than 256 MiB")
