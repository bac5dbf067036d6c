"""The Faithfulness page's metrics (their names, directions and how to read them) and the evaluation that
scores them: :func:`camlib.evaluate.evaluate_images`, the loop ``camlib evaluate`` runs, on the app's images.

The rows are those of ``camlib evaluate``'s CSV (:data:`camlib.evaluate.CSV_FIELDS`), so the page and the
command line cannot disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from camlib.app.inputs import ImageInput
from camlib.app.map_requests import ordered_methods
from camlib.app.models import ModelChoice, shared_model
from camlib.app.settings import Params
from camlib.baselines import BASELINES
from camlib.errors import CamlibError
from camlib.evaluate import TABLE_ROWS, evaluate_images, prepare_sources
from camlib.explain import display_name
from camlib.metrics import FIXED_AREAS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metric:
    label: str  # the table's row label, with the direction
    field: str  # the MethodSummary field
    higher_is_better: bool | None
    guide: str  # one line: how to read it


# field -> (the metric's name, how to read it), in the table's order; each label gets its direction (↑ / ↓)
# from camlib evaluate's table, the one that also judges which methods beat the centre blob.
GUIDES: dict[str, tuple[str, str]] = {
    "average_drop": ("Average Drop (%)", "How much the class score falls on the image times the map (Grad-CAM++ paper). A map of all ones scores 0: read it with Complexity."),
    "average_increase": ("Average Increase (%)", "Share of images whose class score rises on the image times the map. Also rewards broad maps."),
    "insertion_auc": ("Insertion AUC", "Score while the most salient pixels are put back onto a blurred image (RISE): high if the map finds the evidence first."),
    "deletion_auc": ("Deletion AUC", "Score while the most salient pixels are removed (RISE): low if removing what the map shows kills the prediction."),
    "insertion_minus_deletion": ("Insertion − deletion", "Both curves in one number; a method should beat the centre blob here."),
    **{
        f"average_drop_{p}": (f"Average Drop, top {p} % kept (%)",
                              f"Average Drop when only the map's top {p} % of pixels are kept: every map gets the same area, so breadth cannot win.")
        for p in FIXED_AREAS
    },
    "complexity": ("Complexity", "Mean map value (Poppi et al. 2021): how much of the image the map lights up; 1 for the uniform map."),
    "coherency": ("Coherency", "Does the map stay the same when the input is reduced to what it shows? 1 for the baselines by construction; — when undefined."),
    "adcc": ("ADCC", "Harmonic mean of Coherency, 1 − Complexity and 1 − Average Drop (Poppi et al. 2021): one number that a broad map cannot game."),
    "sparseness": ("Sparseness (Gini)", "Gini index of the map (Chalasani et al. 2020, as in Quantus): 0 for a uniform map, near 1 when a few pixels hold the mass."),
}
_HIGHER_IS_BETTER = {row.field: row.higher_is_better for row in TABLE_ROWS}
METRICS: list[Metric] = [
    Metric(f"{name} {'↑' if _HIGHER_IS_BETTER[field] else '↓'}", field, _HIGHER_IS_BETTER[field], guide)
    for field, (name, guide) in GUIDES.items()
]
SECONDS = "Seconds per image"
AVERAGE_DROP, AVERAGE_INCREASE = METRICS[0].label, METRICS[1].label
CHART_DEFAULT = "ADCC ↑"


def insertion_steps_for(speed: str) -> int:
    """Insertion / deletion steps: 16 as ``camlib evaluate``; 4 under the app's quick test preset."""
    return 4 if speed == "test" else 16


def evaluated_keys(methods: Sequence[str], baselines: bool) -> list[str]:
    """The methods, cheapest first, then the baselines when asked for."""
    return ordered_methods(methods) + (list(BASELINES) if baselines else [])


def evaluate_faithfulness(
    images: Sequence[ImageInput],
    model_choice: ModelChoice,
    layer: str,
    methods: Sequence[str],
    params_for: Callable[[str], Params],
    *,
    baselines: bool = True,
    insertion_steps: int = 16,
    progress: Callable[[float, str], None] | None = None,
) -> list[dict]:
    """``camlib evaluate``'s rows for each image's top-1 class: every metric, for ``methods`` and
    (with ``baselines``) the three maps that know nothing of the model. A method that cannot run
    on this model gets rows with its reason as the error."""
    keys = evaluated_keys(methods, baselines)
    steps = max(1, len(images) * len(keys))
    done = {"maps": 0}

    def on_map(name: str, key: str) -> None:
        if progress is not None:
            progress(done["maps"] / steps, f"{name}: {display_name(key)} ({done['maps'] + 1} of {steps})")
        done["maps"] += 1

    rows: list[dict] = []
    model = shared_model(model_choice)
    with model.lock:
        sources = prepare_sources(
            model.backbone, keys, layer=layer, method_params={key: dict(params_for(key)) for key in methods}, strict=False
        )
        evaluate_images(
            model.backbone, [(image.name, image.image) for image in images], sources,
            metrics="all", insertion_steps=insertion_steps, on_rows=rows.extend, on_map=on_map,
        )  # fmt: skip
    if progress is not None:
        progress(1.0, f"Done: {len(images)} image(s), {len(keys)} map(s) each")
    return rows


def evaluate_safely(*args, **kwargs) -> tuple[list[dict], str | None]:
    """:func:`evaluate_faithfulness`, with a failure as a message instead of a traceback on the page."""
    try:
        return evaluate_faithfulness(*args, **kwargs), None
    except CamlibError as error:
        return [], str(error)
    except Exception as error:  # a method failing on an unusual model must not break the page
        logger.exception("The faithfulness evaluation failed")
        return [], f"The evaluation failed with {type(error).__name__}: {error}"



def metrics_guide() -> str:
    """How to read each metric, one list item each."""
    return "\n".join(f"- **{metric.label}**: {metric.guide}" for metric in METRICS)


def chart_choices() -> tuple[list[str], int]:
    """The metrics the chart can show, and the index of the one it opens on (:data:`CHART_DEFAULT`)."""
    labels = [metric.label for metric in METRICS]
    return labels, labels.index(CHART_DEFAULT)



def metric_by_label(label: str) -> Metric:
    """The metric a table row or the chart box names."""
    return next(metric for metric in METRICS if metric.label == label)
