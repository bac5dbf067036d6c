"""Faithfulness evaluation over a folder of images: the paper's Table 1, reproducible on any folder.

For each image and method it records Y and O (see :mod:`camlib.metrics`), the insertion and deletion
AUCs, and the seconds the map took. Rows go to a CSV as soon as each image is done, so an interrupted
run loses nothing and :func:`evaluate_folder` with ``resume=True`` skips what the CSV already holds.
``shard=(i, n)`` keeps every n-th image starting at i of the sorted list, so n independent jobs (a
Slurm array, say) cover the folder exactly once; :func:`merge_results` joins their CSVs.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from camlib.backbones import Backbone
from camlib.dataset import IMAGE_SUFFIXES, LabelLookup, list_images, parse_shard, read_labels  # noqa: F401
from camlib.errors import CamlibError, InvalidParameterError
from camlib.explain import build_method
from camlib.images import load_image
from camlib.methods import method_info
from camlib.metrics import average_drop, average_increase, confidence_pair, deletion_insertion_auc
from camlib.results import completed_rows, read_rows, rows_on_common_images

CSV_FIELDS = ["file", "target", "method", "base_score", "masked_score", "insertion_auc", "deletion_auc", "seconds", "error"]


@dataclass
class MethodSummary:
    method: str
    images: int
    average_drop: float
    average_increase: float
    insertion_auc: float
    deletion_auc: float
    seconds_per_image: float


def summarize(rows: Iterable[dict]) -> list[MethodSummary]:
    """One summary per method, in the order the methods first appear, over the rows without errors."""
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        if not row.get("error"):
            grouped.setdefault(row["method"], []).append(row)
    summaries = []
    for method, items in grouped.items():
        base = [float(r["base_score"]) for r in items]
        masked = [float(r["masked_score"]) for r in items]
        summaries.append(
            MethodSummary(
                method=method,
                images=len(items),
                average_drop=average_drop(base, masked),
                average_increase=average_increase(base, masked),
                insertion_auc=float(np.mean([float(r["insertion_auc"]) for r in items])),
                deletion_auc=float(np.mean([float(r["deletion_auc"]) for r in items])),
                seconds_per_image=float(np.mean([float(r["seconds"]) for r in items])),
            )
        )
    return summaries


def markdown_table(summaries: Sequence[MethodSummary]) -> str:
    """Table 1's layout: methods as columns, metrics as rows."""
    names = [method_info(s.method).display_name if s.method in _known_methods() else s.method for s in summaries]
    lines = [
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(summaries),
        "| Average Drop % (lower is better) | " + " | ".join(f"{s.average_drop:.2f}" for s in summaries) + " |",
        "| Average Increase % (higher is better) | " + " | ".join(f"{s.average_increase:.2f}" for s in summaries) + " |",
        "| Insertion AUC (higher is better) | " + " | ".join(f"{s.insertion_auc:.3f}" for s in summaries) + " |",
        "| Deletion AUC (lower is better) | " + " | ".join(f"{s.deletion_auc:.3f}" for s in summaries) + " |",
        "| seconds per image | " + " | ".join(f"{s.seconds_per_image:.2f}" for s in summaries) + " |",
        "| images | " + " | ".join(str(s.images) for s in summaries) + " |",
    ]
    return "\n".join(lines)


def _known_methods() -> set[str]:
    from camlib.methods import METHODS

    return set(METHODS)


def merge_results(
    paths: Iterable[str | os.PathLike], out: str | os.PathLike | None = None, *, common_images: bool = False
) -> list[MethodSummary]:
    """Combine shard CSVs (optionally into ``out``) and summarise them, over the images every method
    scored when ``common_images`` is set."""
    rows = read_rows(paths)
    if out is not None:
        with open(out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows({field: row.get(field, "") for field in CSV_FIELDS} for row in rows)
    return summarize(rows_on_common_images(rows) if common_images else rows)


def evaluate_folder(
    backbone: Backbone,
    folder: str | os.PathLike,
    *,
    methods: Sequence[str],
    out: str | os.PathLike,
    layer: str | None = None,
    limit: int | None = None,
    shard: tuple[int, int] = (0, 1),
    target: str = "predicted",
    labels: str | os.PathLike | None = None,
    resume: bool = False,
    method_params: dict[str, dict] | None = None,
    insertion_steps: int = 16,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[MethodSummary]:
    """Evaluate ``methods`` on the images of ``folder``, appending one CSV row per image and method.

    Args:
        target: ``"predicted"`` (the model's top-1) or ``"label"`` (see :class:`LabelLookup`).
        resume: keep the rows already in ``out`` and compute only the missing ones.
        progress: called as ``progress(done, total, file_name)`` after each image.
    """
    if target not in ("predicted", "label"):
        raise InvalidParameterError(f"--target must be 'predicted' or 'label', got '{target}'.")
    folder = Path(folder)
    files = list_images(folder, limit=limit, shard=shard)
    if not files:
        raise InvalidParameterError(f"No images (.jpg, .png, .webp, .bmp) in {folder} for this shard.")
    label_of = LabelLookup(folder, labels) if target == "label" else None
    out = Path(out)
    done = completed_rows(out) if resume else set()
    if not resume or not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", newline="") as handle:
            csv.DictWriter(handle, fieldnames=CSV_FIELDS).writeheader()
    built = {key: build_method(key, backbone, layer=layer, **(method_params or {}).get(key, {})) for key in methods}

    with open(out, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        for number, path in enumerate(files, start=1):
            name = str(path.relative_to(folder))
            pending = [key for key in methods if (name, key) not in done]
            if pending:
                inputs = backbone.preprocess(load_image(path))
                class_index = label_of(path) if label_of else int(backbone.probabilities(inputs).argmax(dim=1)[0])
                for key in pending:
                    writer.writerow(_evaluate_one(backbone, built[key], key, name, inputs, class_index, insertion_steps))
                handle.flush()
            if progress is not None:
                progress(number, len(files), name)
    return summarize(read_rows([out]))


def _evaluate_one(backbone: Backbone, method, key: str, name: str, inputs, class_index: int, insertion_steps: int) -> dict:
    row = {"file": name, "target": class_index, "method": key}
    start = time.perf_counter()
    try:
        saliency = method.compute(inputs, [class_index])
    except CamlibError as error:
        return {**row, "error": str(error)}
    seconds = time.perf_counter() - start
    pair = confidence_pair(backbone.model, inputs, saliency, [class_index])
    insertion, deletion = deletion_insertion_auc(backbone.model, inputs, saliency, class_index, steps=insertion_steps)
    return {
        **row,
        "base_score": f"{pair.base[0]:.6f}",
        "masked_score": f"{pair.masked[0]:.6f}",
        "insertion_auc": f"{insertion:.6f}",
        "deletion_auc": f"{deletion:.6f}",
        "seconds": f"{seconds:.4f}",
        "error": "",
    }
