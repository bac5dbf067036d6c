"""What the Faithfulness page decides: which evaluation a session has already computed (and keeps), when the
set's button was pressed for the set on screen, and the lines around it.

The metrics and the evaluation are in :mod:`camlib.app.faithfulness_metrics`, the tables and chart in
:mod:`camlib.app.faithfulness_tables`, the paper's Table 1 in :mod:`camlib.app.paper_table`; their names are
re-exported here, so a page writes ``faithfulness.table_1``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd  # noqa: F401 - re-exported for the page's tests

from camlib.app.faithfulness_metrics import (  # noqa: F401 - re-exported
    AVERAGE_DROP,
    AVERAGE_INCREASE,
    CHART_DEFAULT,
    GUIDES,
    METRICS,
    SECONDS,
    Metric,
    chart_choices,
    evaluate_faithfulness,
    evaluate_safely,
    evaluated_keys,
    insertion_steps_for,
    metric_by_label,
    metrics_guide,
)
from camlib.app.faithfulness_tables import (  # noqa: F401 - re-exported
    BASELINE_COLOR,
    METHOD_COLOR,
    MISSING,
    MISSING_NOTE,
    baseline_lead_text,
    failures_text,
    intervals_table,
    metric_figure,
    not_beating_center,
    per_image_table,
    summaries_by_key,
    table_1,
    table_height,
)
from camlib import cache_limits
from camlib.app.inputs import ImageInput
from camlib.app.map_requests import ordered_methods
from camlib.app.models import ModelChoice, shared_model
from camlib.app.paper_table import PAPER_DIR, PaperTable, paper_comparison, paper_table_1, what_differs  # noqa: F401
from camlib.app.settings import Params
from camlib.baselines import BASELINES  # noqa: F401 - re-exported
from camlib.explain import display_name  # noqa: F401 - re-exported

KEPT_EVALUATIONS = cache_limits.SESSION_EVALUATIONS  # the latest evaluations a session keeps
SET_SIGNATURE_KEY = "camlib_set_signature"  # session state: the set last asked for with the button


def evaluation_signature(label: str, images: Sequence[ImageInput], backbone_key: str, weights_path: str | None, layer: str,
                         keys: Sequence[str], methods: Sequence[str], params_for: Callable[[str], Params], steps: int) -> tuple:
    """Everything that decides one evaluation's rows: the key of the session's cache of them."""
    return (label, tuple(item.digest for item in images), backbone_key, weights_path, layer,
            tuple(keys), tuple(params_for(key) for key in methods), steps)


def remembered(cache: dict, signature, compute: Callable[[], object], *, keep: int = KEPT_EVALUATIONS):
    """``cache[signature]``, computed first when absent; the oldest entries go beyond the latest ``keep``."""
    if signature not in cache:
        cache[signature] = compute()
        while len(cache) > keep:
            cache.pop(next(iter(cache)))
    return cache[signature]


def set_signature(images: Sequence[ImageInput], backbone_key: str, layer: str, keys: Sequence[str], speed: str,
                  overrides: dict) -> tuple:
    """What the set's "Evaluate" button was pressed for: when any of it changes, the set waits for the button again."""
    return tuple(item.digest for item in images), backbone_key, layer, tuple(keys), speed, repr(overrides)


def set_requested(state, signature: tuple, clicked: bool) -> bool:
    """Whether to show the set's evaluation: the button was pressed for this very set (now or before, in ``state``)."""
    if clicked:
        state[SET_SIGNATURE_KEY] = signature
    return state.get(SET_SIGNATURE_KEY) == signature


def evaluate_label(images: Sequence[ImageInput], keys: Sequence[str]) -> str:
    return f"Evaluate {len(images)} image(s) × {len(keys)} map(s)"


def set_line(images: Sequence[ImageInput]) -> str:
    return f"{len(images)} image(s): " + ", ".join(item.name for item in images)
