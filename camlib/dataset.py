"""Which images a run covers and what their ground-truth classes are.

Images are listed in name order; ``half`` keeps the tuning (even indices) or report (odd indices) half,
and ``shard=(i, n)`` keeps every n-th image starting at i, so n independent jobs cover a folder exactly
once (``--shard auto`` reads i and n from a Slurm array or a Kubernetes Indexed Job). Labels come from a ``labels.csv`` or from ImageNet wnids in names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from camlib.errors import InvalidParameterError
from camlib.labels import (  # noqa: F401  (re-exported: a run's images and their labels are read from here)
    MAX_LABEL_ROWS, MAX_LABELS_BYTES, WNID, LabelLookup, LabelRow, read_label_rows, read_labels,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


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
