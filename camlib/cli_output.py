"""Where the command line writes: output paths checked before any work, and files written whole or not at all."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from camlib.dataset import IMAGE_SUFFIXES
from camlib.errors import CamlibError, InvalidParameterError
from camlib.paths import resolved, what_it_is

GRID_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}


def shown(path: str | os.PathLike) -> str:
    """A path as it can be printed: bytes that are not UTF-8 become ``\\xNN``."""
    return os.fspath(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def check_output_path(path: str | os.PathLike, option: str, suffixes: dict | set | None = None) -> Path:
    """Refuse, before any work, an output path that cannot be written: a directory, a wrong or missing
    extension, a parent that is a file, or a folder without write permission."""
    out = Path(path)
    if what_it_is(out) == "a symlink loop":
        raise InvalidParameterError(f"{option} {shown(path)} is a symlink loop; give another file name.")
    if os.fspath(path) == "" or out.is_dir() or os.fspath(path).endswith(os.sep):
        raise InvalidParameterError(f"{option} {shown(path)} is a directory; give a file name.")
    if suffixes is not None and out.suffix.lower() not in suffixes:
        raise InvalidParameterError(
            f"{option} {shown(path)} must end in {', '.join(sorted(suffixes))} (the file format follows the extension)."
        )
    if out.exists() and not out.is_file():
        raise InvalidParameterError(f"{option} {shown(path)} exists and is not a regular file.")
    ancestor = out.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InvalidParameterError(f"{option} {shown(path)} cannot be written: {shown(ancestor)} is a file, not a folder.")
    writable = os.access(out, os.W_OK) if out.exists() else os.access(ancestor, os.W_OK | os.X_OK)
    if not writable:
        raise InvalidParameterError(f"{option} {shown(path)} cannot be written: permission denied.")
    return out


def write_file(path: Path, data: bytes, option: str) -> None:
    """:func:`write_files` for one file."""
    write_files([(path, data, option)])


def write_files(files: list[tuple[Path, bytes, str]]) -> None:
    """Write each ``(path, data, option)`` to a temporary file beside ``path``, and only when all are
    written move them into place: a full disk, a vanished or read-only folder leaves no output half-written,
    no earlier file damaged, and none of the outputs without the others."""
    temporaries = [path.with_name(f".{path.name}.partial") for path, _, _ in files]
    try:
        for (path, data, option), temporary in zip(files, temporaries):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(temporary, "wb") as handle:
                    handle.write(data)
            except OSError as error:
                raise CamlibError(f"Could not write {option} {shown(path)}: {error.strerror or error}.") from None
        for (path, _, option), temporary in zip(files, temporaries):
            try:
                os.replace(temporary, path)
            except OSError as error:
                raise CamlibError(f"Could not write {option} {shown(path)}: {error.strerror or error}.") from None
    finally:
        for temporary in temporaries:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False



def refuse_overwriting_images(out: Path, folder: Path) -> None:
    """``evaluate --out`` must not be an input image, nor a file with an image suffix inside the folder."""
    inside = folder.is_dir() and resolved(out, "--out").is_relative_to(resolved(folder, "The images folder"))
    if inside and out.suffix.lower() in IMAGE_SUFFIXES:
        raise InvalidParameterError(f"--out {shown(out)} would overwrite an image in {shown(folder)}; write the results elsewhere (e.g. results.csv).")


def check_explain_outputs(out: str, save_maps: str | None, image: str) -> tuple[Path, Path | None]:
    """``explain``'s ``--out`` and ``--save-maps``, checked before any work: writable, neither the input
    image, not the same file."""
    grid_out = check_output_path(out, "--out", GRID_FORMATS)
    maps_out = check_output_path(save_maps, "--save-maps", {".npz"}) if save_maps else None
    image_path = resolved(image, "The image")
    for written, option in ((grid_out, "--out"), (maps_out, "--save-maps")):
        if written is not None and (same_file(written, Path(image)) or resolved(written, option) == image_path):
            raise InvalidParameterError(f"{option} {shown(written)} is the input image; choose another file name.")
    if maps_out is not None and resolved(maps_out, "--save-maps") == resolved(grid_out, "--out"):
        raise InvalidParameterError("--out and --save-maps name the same file.")
    return grid_out, maps_out


def encoded_grid(picture: np.ndarray, out: Path) -> bytes:
    """The grid in the format ``out``'s extension names."""
    encoded = io.BytesIO()
    Image.fromarray(picture).save(encoded, format=GRID_FORMATS[out.suffix.lower()])
    return encoded.getvalue()


def encoded_maps(maps: dict[str, np.ndarray]) -> bytes:
    """The raw maps as a compressed ``.npz`` archive, one array per method."""
    archive = io.BytesIO()
    np.savez_compressed(archive, **maps)
    return archive.getvalue()
