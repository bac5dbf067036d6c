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

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from PIL import Image

from camlib.backbones import Backbone
from camlib.baselines import BASELINES, is_baseline
from camlib.dataset import IMAGE_SUFFIXES, LabelLookup, list_images, parse_shard, read_labels  # noqa: F401
from camlib.errors import CamlibError, InvalidParameterError, UnknownMethodError
from camlib.evaluation_rows import AREA_COLUMNS, CSV_FIELDS, METRIC_SETS, MapSource, map_row, prepare_sources  # noqa: F401
from camlib.images import load_image
from camlib.insertion_deletion import check_steps
from camlib.methods import METHOD_GROUPS, METHODS
from camlib.metrics import PIXEL_ORDER
from camlib.results import (
    check_some_rows,
    make_config,
    open_results,
    read_results,
    read_rows,
    rows_on_common_images,
    weights_identity,
    write_results,
)
from camlib.sanity import RandomisationCheck
from camlib.evaluation_table import (  # noqa: F401 - the summary and its table, re-exported: camlib.evaluate is their public home
    LEADER_FIELDS, TABLE_ROWS, TableRow, blob_verdicts, directions, fails_against_center, markdown_table,
)
from camlib.summary import MethodSummary, kind_of, sanity_verdict_of, summarize  # noqa: F401
from camlib.verdicts import CHECKED_AGAINST_CENTER  # noqa: F401

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
        insertion_steps: steps of the insertion and deletion curves, 1 to :data:`camlib.metrics.MAX_STEPS`.
        on_rows: called with each image's rows (dicts of :data:`CSV_FIELDS`) once it is done.
        progress: ``progress(done, total, name)`` after each image.
        on_map: ``on_map(name, key)`` before each map is made.
        sanity: a :class:`camlib.sanity.RandomisationCheck` to run on each map (its columns stay empty
            without one).
    """
    insertion_steps = check_options(metrics, insertion_steps)
    for number, (name, image) in enumerate(images, start=1):
        pending = [key for key in sources if (name, key) not in done]
        if pending:
            rows = _image_rows(backbone, name, image, {key: sources[key] for key in pending}, target_of=target_of,
                               metrics=metrics, insertion_steps=insertion_steps, on_map=on_map, sanity=sanity)  # fmt: skip
            if on_rows is not None:
                on_rows(rows)
        if progress is not None:
            progress(number, len(images), name)


def check_options(metrics: str, insertion_steps: int) -> int:
    """The one check of what every evaluation takes: the metric set, and the insertion steps
    (:func:`camlib.insertion_deletion.check_steps`), which it returns as an ``int``."""
    if metrics not in METRIC_SETS:
        raise InvalidParameterError(f"--metrics must be one of {', '.join(METRIC_SETS)}, got '{metrics}'.")
    return check_steps(insertion_steps, name="insertion_steps")


def _image_rows(backbone: Backbone, name: str, image: ImageSource, sources: dict[str, MapSource], *, target_of,
                metrics: str, insertion_steps: int, on_map, sanity) -> list[dict]:  # fmt: skip
    """The rows of one image, one per source; an unreadable image gives rows with its error, and the run goes on."""
    try:
        loaded = image if isinstance(image, Image.Image) else load_image(image)
    except CamlibError as error:
        return [{"file": name, "method": key, "error": str(error)} for key in sources]
    inputs = backbone.preprocess(loaded)
    probabilities = backbone.probabilities(inputs)[0]
    class_index = target_of(name, image) if target_of else int(probabilities.argmax())
    base_score = float(probabilities[class_index])
    rows = []
    for key, source in sources.items():
        if on_map is not None:
            on_map(name, key)
        rows.append(map_row(backbone, source, key, name, inputs, class_index, base_score, metrics, insertion_steps, sanity))
    return rows


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
    # long because: 18 parameters (the CLI options) and their docs; the body is checks, a configuration and one call.
    if target not in ("predicted", "label"):
        raise InvalidParameterError(f"--target must be 'predicted' or 'label', got '{target}'.")
    insertion_steps = check_options(metrics, insertion_steps)
    folder = Path(folder)
    files = list_images(folder, limit=limit, shard=shard, half=half)
    if not files:
        raise InvalidParameterError(f"No images (.jpg, .png, .webp, .bmp) in {folder} for this shard.")
    label_of = _labels_of(folder, files, labels, backbone) if target == "label" else None
    sources = prepare_sources(backbone, methods, layer=layer, method_params=method_params)
    config = make_config(
        backbone=backbone.key, layer=layer or backbone.spec.default_layer,
        weights=weights_identity(weights_path or backbone.weights_path, backbone.weights_source),
        method_params={key: (method_params or {}).get(key, {}) for key in methods}, target=target,
        insertion_steps=insertion_steps, speed=speed, metrics=metrics, sanity=sanity, pixel_order=PIXEL_ORDER,
        **({} if backbone.spec.builtin else {"model": backbone.description()}),
    )  # fmt: skip
    with open_results(out, CSV_FIELDS, config, resume=resume) as writer:
        evaluate_images(
            backbone, [(path.relative_to(folder).as_posix(), path) for path in files], sources,
            target_of=(lambda name, path: label_of(path)) if label_of else None, done=writer.done, metrics=metrics,
            insertion_steps=insertion_steps, on_rows=lambda rows: [writer.write(row) for row in rows], progress=progress,
            sanity=RandomisationCheck(backbone) if sanity else None,
        )  # fmt: skip
    return summarize(read_rows([out]))


def _labels_of(folder: Path, files: list[Path], labels, backbone: Backbone) -> LabelLookup:
    """The label of each file; a missing label stops the run before any row is written."""
    label_of = LabelLookup(folder, labels, files=files, classes=backbone.class_names)
    for path in files:
        label_of(path)
    return label_of
