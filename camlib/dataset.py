"""Which images a run covers and what their ground-truth classes are.

Images are listed in name order; ``shard=(i, n)`` keeps every n-th image starting at i, so n independent
jobs cover a folder exactly once. Labels come from a ``labels.csv`` or from ImageNet wnids in names.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from camlib.errors import InvalidParameterError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
WNID = re.compile(r"n\d{8}")


def list_images(folder: str | os.PathLike, *, limit: int | None = None, shard: tuple[int, int] = (0, 1)) -> list[Path]:
    """The images of ``folder`` in name order, the first ``limit`` of them, then shard ``i`` of ``n``."""
    index, count = shard
    if count < 1 or not 0 <= index < count:
        raise InvalidParameterError(f"Shard {index}/{count} is invalid: use i/n with 0 <= i < n.")
    root = Path(folder)
    if not root.is_dir():
        raise InvalidParameterError(f"No such folder: {folder}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if limit is not None:
        files = files[:limit]
    return files[index::count]


def parse_shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise InvalidParameterError(f"--shard takes i/n, e.g. 0/8; got '{text}'.")
    return int(match.group(1)), int(match.group(2))


def read_labels(path: str | os.PathLike) -> dict[str, int]:
    """``labels.csv`` with columns ``file`` and ``class_index`` -> {file name: class index}."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"file", "class_index"} <= set(reader.fieldnames):
            raise InvalidParameterError(f"{path} needs the columns 'file' and 'class_index'.")
        return {Path(row["file"]).name: int(row["class_index"]) for row in reader}


class LabelLookup:
    """Ground-truth classes from a labels file, else from ImageNet wnids in file or folder names.

    A wnid is turned into an index through the labels file's ``wnid`` column when it has one, or by
    its rank among the folder's 1000 sorted wnid subfolders (the ImageNet train/val layout).
    """

    def __init__(self, folder: Path, labels_path: str | os.PathLike | None) -> None:
        labels_path = Path(labels_path) if labels_path else folder / "labels.csv"
        self.by_file: dict[str, int] = {}
        self.by_wnid: dict[str, int] = {}
        if labels_path.is_file():
            self.by_file = read_labels(labels_path)
            with open(labels_path, newline="") as handle:
                for row in csv.DictReader(handle):
                    if row.get("wnid"):
                        self.by_wnid[row["wnid"]] = int(row["class_index"])
        subfolders = sorted(p.name for p in folder.iterdir() if p.is_dir() and WNID.fullmatch(p.name))
        if len(subfolders) == 1000 and not self.by_wnid:
            self.by_wnid = {wnid: index for index, wnid in enumerate(subfolders)}

    def __call__(self, path: Path) -> int:
        if path.name in self.by_file:
            return self.by_file[path.name]
        for text in (path.name, path.parent.name):
            match = WNID.search(text)
            if match and match.group(0) in self.by_wnid:
                return self.by_wnid[match.group(0)]
        raise InvalidParameterError(f"No ground-truth label for {path.name}: add it to labels.csv (columns file, class_index).")
