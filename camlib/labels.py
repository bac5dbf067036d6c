"""Ground-truth classes: a ``labels.csv`` read within bounds and checked row by row, and :class:`LabelLookup`,
each image's class from that file or from an ImageNet wnid in its name or folder (see :mod:`camlib.dataset`)."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from camlib.errors import InvalidParameterError
from camlib.label_names import index_of_class_name
from camlib.paths import regular_file, what_it_is

WNID = re.compile(r"n\d{8}")

MAX_LABELS_BYTES = 64 * 1024 * 1024
"""Largest labels file read (64 MiB: ImageNet's 1.28 million training images take about 40 MB)."""
MAX_LABEL_ROWS = 2_000_000  # lines, counted before parsing (ImageNet train: 1.28 M; 8 M short rows took GBs)


@dataclass(frozen=True)
class LabelRow:
    file: str  # as written in the file: a base name or a path relative to the images folder
    class_index: int
    wnid: str
    line: int


def _labels_text(path: Path, shown: str) -> str:
    """The text of a labels file of at most :data:`MAX_LABELS_BYTES`, without its byte-order mark; bytes
    that are not UTF-8 are kept as surrogates, so such names come back byte for byte."""
    regular_file(path, "Labels file")  # a FIFO or /dev/zero is never opened
    try:
        if path.stat().st_size > MAX_LABELS_BYTES:
            raise InvalidParameterError(f"{shown} is larger than {MAX_LABELS_BYTES // 2**20} MiB; it cannot be a labels file.")
        data = path.read_bytes()
    except OSError as error:
        raise InvalidParameterError(f"{shown} could not be read: {error.strerror or error}.") from None
    if (lines := data.count(b"\n")) > MAX_LABEL_ROWS + 1:
        raise InvalidParameterError(f"{shown} has {lines:,} lines, more than the {MAX_LABEL_ROWS:,} rows camlib reads from a labels file.")
    return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "surrogateescape")


def read_label_rows(path: str | os.PathLike, *, classes: int | Sequence[str] | None = None) -> list[LabelRow]:
    """The rows of a ``labels.csv`` (columns ``file`` and ``class_index`` or ``class_name``, optionally ``wnid``).
    ``classes``: the number of classes, or the model's class names for ``class_name`` (:mod:`camlib.label_names`).

    The file may start with a byte-order mark; names that are not UTF-8 (a Latin-1 export, say) are
    kept byte for byte, as the file system gives such names. Every row must have a name and a whole,
    non-negative class index (below ``classes`` when given); the same name twice must agree.

    Raises:
        InvalidParameterError: one line naming the file, the line and what is wrong.
    """
    path = Path(path)
    shown = _printable(os.fspath(path))
    reader = _label_reader(path, shown)
    names = None if classes is None or isinstance(classes, int) else list(classes)
    classes = len(names) if names is not None else classes
    rows: list[LabelRow] = []
    seen: dict[str, LabelRow] = {}
    try:
        for record in reader:
            row = _label_row(record, f"{shown}, line {reader.line_num}", reader.line_num, names, classes)
            if row is None:
                continue  # a blank row
            if row.file in seen and seen[row.file].class_index != row.class_index:
                raise InvalidParameterError(
                    f"{shown}, line {row.line}: {_printable(record['file'].strip())} has class {row.class_index} here "
                    f"and {seen[row.file].class_index} on line {seen[row.file].line}."
                )
            seen[row.file] = row
            rows.append(row)
    except csv.Error as error:
        raise InvalidParameterError(f"{shown}, line {reader.line_num}: not a readable CSV row ({error}).") from None
    return rows


def _label_reader(path: Path, shown: str) -> csv.DictReader:
    """A reader of the labels file's rows, once its header has the columns a labels file needs."""
    reader = csv.DictReader(io.StringIO(_labels_text(path, shown), newline=""))
    try:
        fieldnames = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as error:
        raise InvalidParameterError(f"{shown} is not a readable CSV: {error}.") from None
    reader.fieldnames = fieldnames
    if "file" not in fieldnames or not {"class_index", "class_name"} & set(fieldnames):
        raise InvalidParameterError(
            f"{shown} needs the columns 'file' and 'class_index' or 'class_name' (found: {_printable(', '.join(fieldnames)) or 'none'})."
        )
    return reader


def _label_row(record: dict, where: str, line: int, names: list[str] | None, classes: int | None) -> LabelRow | None:
    """One row's name and checked class index (``None`` for a blank row); ``where`` names the file and line."""
    name, value = (record.get("file") or "").strip(), (record.get("class_index") or "").strip()
    if not name and not value and not any((v or "").strip() for v in record.values() if isinstance(v, str)):
        return None
    if not name:
        raise InvalidParameterError(f"{where}: the 'file' field is empty.")
    value = index_of_class_name(record, value, names, where, _printable)
    if not re.fullmatch(r"[0-9]+", value):
        raise InvalidParameterError(f"{where}: class_index must be a whole number from 0, got '{_printable(value)}' for {_printable(name)}.")
    index = int(value)
    if classes is not None and index >= classes:
        raise InvalidParameterError(f"{where}: class_index {index} does not exist (classes 0 to {classes - 1}).")
    return LabelRow(_relative_key(name), index, (record.get("wnid") or "").strip(), line)


def read_labels(path: str | os.PathLike) -> dict[str, int]:
    """``labels.csv`` -> {file name as written (a base name or a relative path): class index}."""
    return {row.file: row.class_index for row in read_label_rows(path)}


class LabelLookup:
    """Ground-truth classes from a labels file, else from ImageNet wnids in file or folder names.

    A labels row names an image by its path relative to the images folder (``cats/1.jpg``) or by its
    base name (``1.jpg``); a base name is used only when no relative path matches, and is refused when
    it fits several of ``files`` (two sub-folders with a ``1.jpg`` each). A wnid is turned into an index
    through the labels file's ``wnid`` column when it has one, or by its rank among the folder's 1000
    sorted wnid subfolders (the ImageNet train/val layout).
    """

    def __init__(
        self,
        folder: Path,
        labels_path: str | os.PathLike | None,
        *,
        files: list[Path] | None = None,
        classes: int | Sequence[str] | None = None,
    ) -> None:
        self.folder = Path(folder)
        labels_path = Path(labels_path) if labels_path else self.folder / "labels.csv"
        self.by_path: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        self.by_wnid: dict[str, int] = {}
        if labels_path.is_file():
            for row in read_label_rows(labels_path, classes=classes):
                self.by_path[row.file] = row.class_index
                if "/" not in row.file:
                    self.by_name[row.file] = row.class_index
                for alternative in _other_spellings(row.file):
                    self.by_path.setdefault(alternative, row.class_index)
                    if "/" not in alternative:
                        self.by_name.setdefault(alternative, row.class_index)
                if row.wnid:
                    self.by_wnid[row.wnid] = row.class_index
        elif what_it_is(labels_path) != "nothing (no such file)":
            regular_file(labels_path, "Labels file")  # a folder, a FIFO, a device: say which
        elif labels_path != self.folder / "labels.csv":
            raise InvalidParameterError(f"No such labels file: {_printable(os.fspath(labels_path))}")
        self.by_file = self.by_name  # the name of earlier versions
        subfolders = sorted(p.name for p in self.folder.iterdir() if p.is_dir() and WNID.fullmatch(p.name))
        if len(subfolders) == 1000 and not self.by_wnid:
            self.by_wnid = {wnid: index for index, wnid in enumerate(subfolders)}
        if files is not None:
            self._refuse_ambiguous_names(files)

    def _refuse_ambiguous_names(self, files: list[Path]) -> None:
        holders: dict[str, list[str]] = {}
        for path in files:
            relative = self._relative(path)
            if relative not in self.by_path:
                holders.setdefault(path.name, []).append(relative)
        for name, paths in holders.items():
            if name in self.by_name and len(paths) > 1:
                raise InvalidParameterError(
                    f"The labels file names {_printable(name)}, but {len(paths)} images have that name "
                    f"({_printable(', '.join(paths[:3]))}); give their paths relative to the folder instead."
                )

    def _relative(self, path: Path) -> str:
        try:
            return Path(path).relative_to(self.folder).as_posix()
        except ValueError:
            return Path(path).name

    def __call__(self, path: Path) -> int:
        relative = self._relative(path)
        if relative in self.by_path:
            return self.by_path[relative]
        if path.name in self.by_name:
            return self.by_name[path.name]
        for text in (path.name, path.parent.name):
            match = WNID.search(text)
            if match and match.group(0) in self.by_wnid:
                return self.by_wnid[match.group(0)]
        raise InvalidParameterError(
            f"No ground-truth label for {_printable(relative)}: add it to labels.csv (columns file, class_index)."
        )


def _relative_key(name: str) -> str:
    """A name from a labels file as a relative POSIX path: ``./a\\b.png`` -> ``a/b.png``."""
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    return "/".join(parts)


def _other_spellings(key: str) -> list[str]:
    """A name with bytes that are not UTF-8, read as Latin-1 (cp1252) too: a labels file exported from
    a spreadsheet in Latin-1 still matches image names stored in UTF-8."""
    raw = key.encode("utf-8", "surrogateescape")
    try:
        raw.decode("utf-8")
        return []
    except UnicodeDecodeError:
        return [raw.decode("cp1252", "replace")]


def _printable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
