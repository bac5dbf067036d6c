"""Faithfulness evaluation over a folder of images: the paper's Table 1 and more, reproducible on any folder.

For each image and map (a method's, or a baseline's that knows nothing of the model) it records Y and O
(see :mod:`camlib.metrics`), the insertion and deletion AUCs, the scores with only the top 10 / 25 / 50 %
of the map's pixels kept, Complexity, Coherency, ADCC, sparseness, and the seconds the map took. Rows go
to a CSV as soon as each image is done, so an interrupted run loses nothing and :func:`evaluate_folder`
with ``resume=True`` skips what the CSV already holds. ``shard=(i, n)`` keeps every n-th image starting
at i of the sorted list, so n independent jobs (a Slurm array, say) cover the folder exactly once;
:func:`merge_results` joins their CSVs. :func:`evaluate_images` is the one loop that the CLI and the
app's Faithfulness page both run.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from camlib.backbones import Backbone
from camlib.baselines import BASELINES, baseline_map, is_baseline
from camlib.dataset import IMAGE_SUFFIXES, LabelLookup, list_images, parse_shard, read_labels  # noqa: F401
from camlib.errors import CamlibError, InvalidParameterError, UnknownMethodError
from camlib.explain import build_method
from camlib.images import load_image
from camlib.methods import METHOD_GROUPS, METHODS, BaseCAM
from camlib.metrics import (
    FIXED_AREAS,
    PIXEL_ORDER,
    class_scores,
    deletion_insertion_auc,
    map_quality_scores,
    top_area_masks,
)
from camlib.results import (
    make_config,
    open_results,
    check_some_rows,
    read_results,
    read_rows,
    rows_on_common_images,
    weights_identity,
    write_results,
)
from camlib.sanity import SANITY_FIELDS, RandomisationCheck
from camlib.summary import (  # noqa: F401 - the summary and its table, re-exported: camlib.evaluate is their public home
    CHECKED_AGAINST_CENTER,
    LEADER_FIELDS,
    TABLE_ROWS,
    MethodSummary,
    TableRow,
    blob_verdicts,
    directions,
    fails_against_center,
    kind_of,
    markdown_table,
    sanity_verdict_of,
    summarize,
)

METRIC_SETS = ("basic", "all")
"""``basic``: the metrics of camlib 0.x (Average Drop / Increase, insertion / deletion); ``all``: every metric."""

AREA_COLUMNS = [f"masked_score_{percent}" for percent in FIXED_AREAS]
CSV_FIELDS = [
    "file", "target", "method", "base_score", "masked_score", "insertion_auc", "deletion_auc", "seconds", "error",
    "kind", "complexity", "coherency", "adcc", "sparseness", *AREA_COLUMNS, *SANITY_FIELDS,
]  # fmt: skip
DEFAULT_SELECTION = "all,baselines"


def parse_evaluation_list(text: str) -> list[str]:
    """Methods and baselines to evaluate: comma-separated keys, ``all`` (the paper's six methods), ``every``
    (all the methods) and ``baselines`` (``center``, ``uniform``, ``random``), e.g. ``all,baselines`` or
    ``gradcam,center``.
    Methods come first in the order given, then baselines; duplicates are dropped."""
    keys: list[str] = []
    for part in (item.strip().lower() for item in text.split(",")):
        if not part:
            continue
        if part in METHOD_GROUPS:
            keys.extend(METHOD_GROUPS[part])
        elif part == "baselines":
            keys.extend(BASELINES)
        elif part in METHODS or part in BASELINES:
            keys.append(part)
        else:
            raise UnknownMethodError(
                f"Unknown method or baseline '{part}'. Choose from: all, every, baselines, "
                f"{', '.join(METHODS)}, {', '.join(BASELINES)}."
            )
    if not keys:
        choices = ", ".join(["all", "every", "baselines", *METHODS, *BASELINES])
        raise UnknownMethodError(f"No method given. Choose from: {choices}.")
    unique = list(dict.fromkeys(keys))
    return [key for key in unique if not is_baseline(key)] + [key for key in unique if is_baseline(key)]


@dataclass
class MapSource:
    """One method or baseline, ready to make maps; ``error`` says why a method could not be built."""

    key: str
    method: BaseCAM | None = None
    error: str | None = None
    layer: str | None = None
    params: dict | None = None

    def __call__(self, inputs: torch.Tensor, class_index: int) -> np.ndarray:
        if is_baseline(self.key):
            return baseline_map(self.key, *inputs.shape[-2:])
        if self.method is None:
            raise CamlibError(self.error or f"{self.key} could not be built.")
        return np.asarray(self.method(inputs, [class_index])[0], dtype=np.float32)  # on the CPU, from any device


def prepare_sources(
    backbone: Backbone,
    keys: Sequence[str],
    *,
    layer: str | None = None,
    method_params: dict[str, dict] | None = None,
    strict: bool = True,
) -> dict[str, MapSource]:
    """Build each method once. With ``strict`` a method that cannot be built raises; otherwise its
    rows carry the reason as their error."""
    sources = {}
    for key in keys:
        if is_baseline(key):
            sources[key] = MapSource(key)
            continue
        try:
            params = dict((method_params or {}).get(key, {}))
            sources[key] = MapSource(key, build_method(key, backbone, layer=layer, **params), layer=layer, params=params)
        except CamlibError as error:
            if strict:
                raise
            sources[key] = MapSource(key, error=str(error))
    return sources


def merge_results(
    paths: Iterable[str | os.PathLike], out: str | os.PathLike | None = None, *, common_images: bool = False
) -> list[MethodSummary]:
    """Combine shard CSVs (optionally into ``out``) and summarise them, over the images every method
    scored when ``common_images`` is set."""
    paths = list(paths)
    rows, config = read_results(paths)
    check_some_rows(rows, paths)
    if out is not None:
        write_results(out, CSV_FIELDS, rows, config)
    return summarize(rows_on_common_images(rows) if common_images else rows)


ImageSource = str | os.PathLike | Image.Image


# Over 50 lines: 11 parameters and their docs; the loop itself is about 25 lines.
def evaluate_images(
    backbone: Backbone,
    images: Sequence[tuple[str, ImageSource]],
    sources: dict[str, MapSource],
    *,
    target_of: Callable[[str, ImageSource], int] | None = None,
    done: set[tuple[str, str]] | frozenset = frozenset(),
    metrics: str = "all",
    insertion_steps: int = 16,
    on_rows: Callable[[list[dict]], None] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    on_map: Callable[[str, str], None] | None = None,
    sanity: RandomisationCheck | None = None,
) -> None:
    """The evaluation loop shared by :func:`evaluate_folder` and the app: for each ``(name, image)``
    (a path or a PIL image), each map of ``sources`` not in ``done`` is made and scored.

    Args:
        target_of: ``target_of(name, image)`` gives the class to explain; default the model's top-1.
        metrics: ``"basic"`` (Average Drop / Increase, insertion / deletion) or ``"all"``.
        on_rows: called with each image's rows (dicts of :data:`CSV_FIELDS`) once it is done.
        progress: ``progress(done, total, name)`` after each image.
        on_map: ``on_map(name, key)`` before each map is made.
        sanity: a :class:`camlib.sanity.RandomisationCheck` to run on each map (its columns stay empty
            without one).
    """
    if metrics not in METRIC_SETS:
        raise InvalidParameterError(f"--metrics must be one of {', '.join(METRIC_SETS)}, got '{metrics}'.")
    for number, (name, image) in enumerate(images, start=1):
        pending = [key for key in sources if (name, key) not in done]
        if pending:
            try:
                loaded = image if isinstance(image, Image.Image) else load_image(image)
            except CamlibError as error:  # an unreadable image is recorded, and the run goes on
                if on_rows is not None:
                    on_rows([{"file": name, "method": key, "error": str(error)} for key in pending])
                if progress is not None:
                    progress(number, len(images), name)
                continue
            inputs = backbone.preprocess(loaded)
            probabilities = backbone.probabilities(inputs)[0]
            class_index = target_of(name, image) if target_of else int(probabilities.argmax())
            base_score = float(probabilities[class_index])
            rows = []
            for key in pending:
                if on_map is not None:
                    on_map(name, key)
                rows.append(
                    _evaluate_one(backbone, sources[key], key, name, inputs, class_index, base_score, metrics, insertion_steps, sanity)
                )
            if on_rows is not None:
                on_rows(rows)
        if progress is not None:
            progress(number, len(images), name)


# Over 50 lines: 18 parameters (mostly the CLI options) and their docs; the body is checks, a config and one call.
def evaluate_folder(
    backbone: Backbone,
    folder: str | os.PathLike,
    *,
    methods: Sequence[str],
    out: str | os.PathLike,
    layer: str | None = None,
    limit: int | None = None,
    shard: tuple[int, int] = (0, 1),
    half: str | None = None,
    target: str = "predicted",
    labels: str | os.PathLike | None = None,
    resume: bool = False,
    method_params: dict[str, dict] | None = None,
    insertion_steps: int = 16,
    metrics: str = "all",
    sanity: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    weights_path: str | os.PathLike | None = None,
    speed: str | None = None,
) -> list[MethodSummary]:
    """Evaluate ``methods`` (method and baseline keys) on the images of ``folder``, appending one CSV
    row per image and map.

    Args:
        half: ``"tuning"`` (even 0-based indices of the name-sorted list), ``"report"`` (odd) or None,
            applied before ``limit`` and ``shard``.
        target: ``"predicted"`` (the model's top-1) or ``"label"`` (see :class:`LabelLookup`).
        resume: keep the rows already in ``out`` and compute only the missing ones.
        metrics: ``"basic"`` or ``"all"`` (see :func:`evaluate_images`).
        sanity: also run the model randomisation check (:mod:`camlib.sanity`; 3 more maps per image and map).
        progress: called as ``progress(done, total, file_name)`` after each image.
    """
    if target not in ("predicted", "label"):
        raise InvalidParameterError(f"--target must be 'predicted' or 'label', got '{target}'.")
    if metrics not in METRIC_SETS:
        raise InvalidParameterError(f"--metrics must be one of {', '.join(METRIC_SETS)}, got '{metrics}'.")
    folder = Path(folder)
    files = list_images(folder, limit=limit, shard=shard, half=half)
    if not files:
        raise InvalidParameterError(f"No images (.jpg, .png, .webp, .bmp) in {folder} for this shard.")
    label_of = LabelLookup(folder, labels, files=files, classes=backbone.class_names) if target == "label" else None
    for path in files if label_of else ():
        label_of(path)  # a missing label stops the run before any row is written
    sources = prepare_sources(backbone, methods, layer=layer, method_params=method_params)
    config = make_config(
        backbone=backbone.key,
        layer=layer or backbone.spec.default_layer,
        weights=weights_identity(weights_path or backbone.weights_path, backbone.weights_source),
        method_params={key: (method_params or {}).get(key, {}) for key in methods},
        target=target,
        insertion_steps=insertion_steps,
        speed=speed,
        metrics=metrics,
        sanity=sanity,
        pixel_order=PIXEL_ORDER,
        **({} if backbone.spec.builtin else {"model": backbone.description()}),
    )
    with open_results(out, CSV_FIELDS, config, resume=resume) as writer:
        evaluate_images(
            backbone,
            [(path.relative_to(folder).as_posix(), path) for path in files],
            sources,
            target_of=(lambda name, path: label_of(path)) if label_of else None,
            done=writer.done,
            metrics=metrics,
            insertion_steps=insertion_steps,
            on_rows=lambda rows: [writer.write(row) for row in rows],
            progress=progress,
            sanity=RandomisationCheck(backbone) if sanity else None,
        )
    return summarize(read_rows([out]))


def _evaluate_one(
    backbone: Backbone,
    source: MapSource,
    key: str,
    name: str,
    inputs: torch.Tensor,
    class_index: int,
    base_score: float,
    metrics: str,
    insertion_steps: int,
    sanity: RandomisationCheck | None = None,
) -> dict:
    """One row: the map of ``source`` for this image and its scores (see :data:`CSV_FIELDS`)."""
    row = {"file": name, "target": class_index, "method": key, "kind": kind_of(key)}
    start = time.perf_counter()
    try:
        saliency = source(inputs, class_index)
        seconds = time.perf_counter() - start
        scores = _score_map(backbone, source, inputs, saliency, class_index, base_score, metrics, insertion_steps)
        if sanity is not None:
            checked = sanity.scores(key, saliency, inputs, class_index, layer=source.layer, params=source.params)
            scores.update({column: _cell(value) for column, value in checked.items()})
        return {**row, **scores, "seconds": f"{seconds:.4f}", "error": ""}
    except CamlibError as error:
        return {**row, "error": str(error)}


def _score_map(backbone, source, inputs, saliency, class_index, base_score, metrics, insertion_steps) -> dict:
    """All the scores of one map. The masked inputs (image × map, then the fixed areas) go through the
    model in one batch; the base score Y was computed once for the image."""
    model = backbone.model
    device = inputs.device
    mapped = torch.as_tensor(saliency, dtype=inputs.dtype, device=device)
    masks = [mapped[None]]
    if metrics == "all":
        masks.append(top_area_masks(saliency).to(device=device, dtype=inputs.dtype))
    masked_inputs = inputs * torch.cat(masks)[:, None]
    scores = class_scores(model, masked_inputs, class_index)
    insertion, deletion = deletion_insertion_auc(model, inputs, saliency, class_index, steps=insertion_steps)
    values = {
        "base_score": f"{base_score:.6f}",
        "masked_score": f"{scores[0]:.6f}",
        "insertion_auc": f"{insertion:.6f}",
        "deletion_auc": f"{deletion:.6f}",
    }
    if metrics == "all":
        values.update({column: f"{score:.6f}" for column, score in zip(AREA_COLUMNS, scores[1:])})
        on_masked = source(masked_inputs[:1], class_index)
        quality = map_quality_scores(saliency, on_masked, base_score, float(scores[0]))
        values.update({column: _cell(value) for column, value in quality.items()})
    return values


def _cell(value: float) -> str:
    return f"{value:.6f}" if math.isfinite(value) else ""
