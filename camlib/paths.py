"""Paths as users give them: what a path that is not a regular file is, and resolving without a traceback.

``Path.resolve()`` raises ``RuntimeError`` on a symlink loop (Python 3.11) and ``Path.is_file()`` is
false for a folder, a named pipe or a device alike; these helpers turn both into one clear message.
Nothing here opens the path, so a named pipe (FIFO) never blocks.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from camlib.errors import CamlibError, InvalidParameterError


def printable(path: str | os.PathLike) -> str:
    """A path as it can be printed: bytes that are not UTF-8 become ``\\xNN``."""
    return os.fspath(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def what_it_is(path: str | os.PathLike) -> str:
    """What is at ``path`` in a few words: "a regular file", "a folder", "a named pipe (FIFO)", "a device",
    "a symlink loop", "nothing (no such file)", ..."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "a symlink loop"
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return "nothing (no such file)"
        return f"unreadable ({error.strerror or error})"
    except ValueError:  # a NUL byte in the name
        return "not a valid path"
    kinds = [
        (stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"),
    ]  # fmt: skip
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def regular_file(path: str | os.PathLike, what: str, error: type[CamlibError] = InvalidParameterError) -> Path:
    """``path`` as a Path when it is a regular file (or a link to one); else ``error`` saying what it is."""
    kind = what_it_is(path)
    if kind != "a regular file":
        if kind.startswith("nothing"):
            raise error(f"{what} not found: {printable(path)}")
        raise error(f"{what} {printable(path)} is {kind}, not a regular file.")
    return Path(path)


def resolved(path: str | os.PathLike, what: str) -> Path:
    """``Path(path).resolve()``, or one clear :class:`InvalidParameterError` for a symlink loop."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError) as failure:
        reason = "is a symlink loop" if isinstance(failure, RuntimeError) or getattr(failure, "errno", None) == errno.ELOOP else (
            f"cannot be resolved ({getattr(failure, 'strerror', None) or failure})"
        )  # fmt: skip
        raise InvalidParameterError(f"{what} {printable(path)} {reason}.") from None
