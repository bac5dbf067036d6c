"""Where an image's bytes come from: a path, bytes or a binary file object, read within a size limit.

Used by :mod:`camlib.images`. A path that exists but is not a regular file is named for what it is (a
folder, a FIFO, a device, a socket, a symbolic link loop) instead of "not found", and nothing that could
block (a FIFO with no writer) or never end (``/dev/zero``) is read.
"""

from __future__ import annotations

import errno
import io
import os
import stat

from camlib.errors import ImageLoadError

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def printable(text: str) -> str:
    """A file name as it can be printed: bytes that are not UTF-8 become ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def too_large(label: str, max_bytes: int, size: int | None = None) -> ImageLoadError:
    found = f" ({size:,} bytes)" if size is not None else ""
    return ImageLoadError(
        f"{label} is larger than {max_bytes // 2**20} MiB{found}, the largest image file camlib reads. "
        "Resize or recompress it and try again."
    )


def read_source(source, label: str, max_bytes: int) -> bytes:
    """The bytes of ``source`` (a path, bytes or a binary file object), at most ``max_bytes`` of them."""
    if isinstance(source, str | os.PathLike):
        data = read_path(source, label, max_bytes)
    elif isinstance(source, bytes | bytearray | memoryview):
        if len(source) > max_bytes:
            raise too_large(label, max_bytes, len(source))
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)
        if not isinstance(data, bytes | bytearray):
            raise ImageLoadError(f"{label} must be opened in binary mode ('rb'), not as text.")
        data = bytes(data)
    else:
        raise ImageLoadError(f"Cannot read an image from a {type(source).__name__}; give a path, bytes or a binary file.")
    if not data:
        raise ImageLoadError(f"{label} is empty (0 bytes).")
    if len(data) > max_bytes:
        raise too_large(label, max_bytes)
    return data


def read_path(path: str | os.PathLike, label: str, max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path``; anything else is refused by what it is, before it is opened.

    The file is opened without blocking and checked again once open, so a FIFO put in its place in the
    meantime is refused too rather than waited on.
    """
    shown = printable(os.fspath(path))
    try:
        _check_regular(os.stat(path).st_mode, shown)
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        if os.path.islink(path):
            raise ImageLoadError(f"{shown} is a broken symbolic link: the file it points to does not exist.") from None
        raise ImageLoadError(f"No such file: {shown}") from None
    except OSError as error:
        raise _path_error(error, shown, label) from None
    with io.FileIO(handle, "rb", closefd=True) as stream:
        try:
            info = os.fstat(handle)
            _check_regular(info.st_mode, shown)
            if info.st_size > max_bytes:
                raise too_large(label, max_bytes, info.st_size)
            return stream.read(max_bytes + 1) or b""  # bounded, should the file grow meanwhile
        except OSError as error:
            raise _path_error(error, shown, label) from None


def _check_regular(mode: int, shown: str) -> None:
    for is_kind, kind in _KINDS:
        if is_kind(mode):
            raise ImageLoadError(f"{shown} is {kind}, not an image file.")


def _path_error(error: OSError, shown: str, label: str) -> ImageLoadError:
    if error.errno == errno.ELOOP:
        return ImageLoadError(f"{shown} is a symbolic link loop: following it never reaches a file.")
    if error.errno == errno.ENOTDIR:
        return ImageLoadError(f"No such file: {shown} (a part of the path is a file, not a folder).")
    return ImageLoadError(f"{label} could not be read: {error.strerror or error}.")
