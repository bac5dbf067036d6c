"""Which images a run covers and what their ground-truth classes are.

Images are listed in name order; ``half`` keeps the tuning (even indices) or report (odd indices) half,
and ``shard=(i, n)`` keeps every n-th image starting at i, so n independent jobs cover a folder exactly
once (``--shard auto`` reads i and n from a Slurm array or a Kubernetes Indexed Job). Labels come from a ``labels.csv`` or from ImageNet wnids in names.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from camlib.errors import InvalidParameterError
from camlib.label_names import index_of_class_name
from camlib.paths import regular_file, what_it_is

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
WNID = re.compile(r"n\d{8}")


HALVES = ("tuning", "report")
"""The two halves of a folder for an honest protocol: tune on one, report on the other."""


def list_images(
    folder: str | os.PathLike, *, limit: int | None = None, shard: tuple[int, int] = (0, 1), half: str | None = None
) -> list[Path]:
    """The images of ``folder`` in name order: one ``half`` of them (``"tuning"``: the even 0-based
    indices 0, 2, 4, …; ``"report"``: the odd ones; None: all), then the first ``limit``, then shard
    ``i`` of ``n``."""
    index, count = shard
    if count < 1 or not 0 <= index < count:
        raise InvalidParameterError(f"Shard {index}/{count} is invalid: use i/n with 0 <= i < n.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidParameterError(f"limit must be a whole number of at least 1 (or None for every image), got {limit!r}.")
    if half is not None and half not in HALVES:
        raise InvalidParameterError(f"--half must be 'tuning' or 'report', got '{half}'.")
    root = Path(folder)
    if not root.is_dir():
        raise InvalidParameterError(f"No such folder: {folder}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if half is not None:
        files = files[HALVES.index(half) :: 2]
    if limit is not None:
        files = files[:limit]
    return files[index::count]


def parse_shard(text: str, *, shards: int | None = None, environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """``i/n``, or ``auto``: the index and count from the scheduler's environment (see :func:`shard_from_environment`).
    ``shards`` (``--shards N``) is the count for ``auto`` under a Kubernetes Indexed Job."""
    if text.strip().lower() == "auto":
        return shard_from_environment(os.environ if environ is None else environ, shards=shards)
    if shards is not None:
        raise InvalidParameterError("--shards N goes with --shard auto (with i/n, n is the count).")
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise InvalidParameterError(f"--shard takes i/n (e.g. 0/8) or auto; got '{text}'.")
    return int(match.group(1)), int(match.group(2))


def shard_from_environment(environ: Mapping[str, str], *, shards: int | None = None) -> tuple[int, int]:
    """The shard ``(i, n)`` of this job in a scheduler's array.

    - Slurm job arrays: i = ``SLURM_ARRAY_TASK_ID`` − ``SLURM_ARRAY_TASK_MIN`` (0 when unset), n =
      ``SLURM_ARRAY_TASK_COUNT``; the array must be contiguous (``--array=0-7``, not ``0-14:2``).
    - Kubernetes Indexed Jobs: i = ``JOB_COMPLETION_INDEX``, n = ``shards`` (``--shards N``, the Job's
      ``completions``).

    ``shards``, when given with Slurm, must equal the array's count.
    """
    slurm_id = environ.get("SLURM_ARRAY_TASK_ID")
    kubernetes_index = environ.get("JOB_COMPLETION_INDEX")
    if slurm_id is not None and kubernetes_index is not None:
        raise InvalidParameterError("--shard auto: both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are set; unset one.")
    if slurm_id is not None:
        index = _environment_integer(environ, "SLURM_ARRAY_TASK_ID") - _environment_integer(environ, "SLURM_ARRAY_TASK_MIN", 0)
        count = _environment_integer(environ, "SLURM_ARRAY_TASK_COUNT")
        if shards is not None and shards != count:
            raise InvalidParameterError(f"--shards {shards} disagrees with SLURM_ARRAY_TASK_COUNT={count}.")
        source = "the Slurm array (is it contiguous, e.g. --array=0-7?)"
    elif kubernetes_index is not None:
        if shards is None:
            raise InvalidParameterError("--shard auto under a Kubernetes Indexed Job needs --shards N (the Job's completions).")
        index, count = _environment_integer(environ, "JOB_COMPLETION_INDEX"), shards
        source = "JOB_COMPLETION_INDEX and --shards"
    else:
        raise InvalidParameterError(
            "--shard auto needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (a Slurm array job) or "
            "JOB_COMPLETION_INDEX with --shards N (a Kubernetes Indexed Job); none is set."
        )
    if count < 1 or not 0 <= index < count:
        raise InvalidParameterError(f"--shard auto: shard {index} of {count} from {source} is out of range.")
    return index, count


def _environment_integer(environ: Mapping[str, str], name: str, default: int | None = None) -> int:
    text = environ.get(name)
    if text is None:
        if default is None:
            raise InvalidParameterError(f"--shard auto: {name} is not set.")
        return default
    if not re.fullmatch(r"\s*\d+\s*", text):
        raise InvalidParameterError(f"--shard auto: {name}={text!r} is not a non-negative integer.")
    return int(text)


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
    names = None if classes is None or isinstance(classes, int) else list(classes)
    classes = len(names) if names is not None else classes
    rows: list[LabelRow] = []
    seen: dict[str, LabelRow] = {}
    try:
        for record in reader:
            line = reader.line_num
            name, value = (record.get("file") or "").strip(), (record.get("class_index") or "").strip()
            if not name and not value and not any((v or "").strip() for v in record.values() if isinstance(v, str)):
                continue  # a blank row
            if not name:
                raise InvalidParameterError(f"{shown}, line {line}: the 'file' field is empty.")
            value = index_of_class_name(record, value, names, f"{shown}, line {line}", _printable)
            if not re.fullmatch(r"[0-9]+", value):
                raise InvalidParameterError(
                    f"{shown}, line {line}: class_index must be a whole number from 0, got '{_printable(value)}' for {_printable(name)}."
                )
            index = int(value)
            if classes is not None and index >= classes:
                raise InvalidParameterError(f"{shown}, line {line}: class_index {index} does not exist (classes 0 to {classes - 1}).")
            key = _relative_key(name)
            if key in seen and seen[key].class_index != index:
                raise InvalidParameterError(
                    f"{shown}, line {line}: {_printable(name)} has class {index} here and {seen[key].class_index} on line {seen[key].line}."
                )
            row = LabelRow(key, index, (record.get("wnid") or "").strip(), line)
            seen[key] = row
            rows.append(row)
    except csv.Error as error:
        raise InvalidParameterError(f"{shown}, line {reader.line_num}: not a readable CSV row ({error}).") from None
    return rows


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
