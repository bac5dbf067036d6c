"""Per-image result rows summarised: each method's means with their 95 % intervals (:class:`MethodSummary`) and
the randomisation check's verdict. Their table is in :mod:`camlib.evaluation_table`; both are re-exported by
:mod:`camlib.evaluate`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from camlib.baselines import is_baseline
from camlib.errors import InvalidParameterError
from camlib.intervals import ABOVE, BELOW, INDISTINGUISHABLE, NOTHING, Interval, mean_of, verdict
from camlib.metrics import FIXED_AREAS, average_drop, average_increase
from camlib.sanity import SANITY_THRESHOLD, summarize_sanity


def kind_of(key: str) -> str:
    return "baseline" if is_baseline(key) else "method"


@dataclass
class MethodSummary:
    """One method's or baseline's means over its images (field names as in ``camlib evaluate``'s table).

    ``average_drop_10`` etc. are Average Drop % with only the top 10 / 25 / 50 % of pixels kept;
    ``coherency`` and ``adcc`` average the images where they are defined (NaN when none is)."""

    method: str
    images: int
    average_drop: float
    average_increase: float
    insertion_auc: float
    deletion_auc: float
    seconds_per_image: float
    kind: str = "method"
    insertion_minus_deletion: float = math.nan
    average_drop_10: float = math.nan
    average_drop_25: float = math.nan
    average_drop_50: float = math.nan
    complexity: float = math.nan
    coherency: float = math.nan
    adcc: float = math.nan
    sparseness: float = math.nan
    sanity_spearman: float = math.nan  # mean Spearman at the last randomisation stage run
    sanity_ssim: float = math.nan
    sanity_passes: bool | None = None  # True / False only where the interval excludes the threshold
    sanity_verdict: str | None = None  # "passes", "fails" or "indistinguishable"; None: the check was not run
    per_image: dict[str, dict[str, float]] = field(default_factory=dict, repr=False, compare=False)
    """Metric field -> {image file: that image's value}, whose mean is the field (the rows behind the intervals)."""

    def interval(self, name: str) -> Interval:
        """The mean of ``name`` over images with its 95 % bootstrap interval (:mod:`camlib.intervals`);
        no interval (NaN) when the per-image values are not known."""
        values = self.per_image.get(name)
        return mean_of(values) if values else NOTHING


def summarize(rows: Iterable[dict]) -> list[MethodSummary]:
    """One summary per method, in the order the methods first appear, over the rows without errors."""
    rows = list(rows)
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        if not row.get("error"):
            grouped.setdefault(row["method"], []).append(row)
    sanity = summarize_sanity(rows)
    summaries = []
    for method, items in grouped.items():
        try:
            per_image = _per_image(items, sanity.get(method, {}).get("last_stage"))
            seconds = float(np.mean([float(r["seconds"]) for r in items]))
        except (KeyError, ValueError) as error:  # an edited or damaged file: a score missing from a row without error
            raise InvalidParameterError(f"A {method} row without error lacks a number ({error}); the results file is damaged.") from None
        means = {name: _mean(per_image, name) for name in MEANS}
        summaries.append(
            MethodSummary(
                method=method,
                images=len(items),
                seconds_per_image=seconds,
                kind=items[0].get("kind") or kind_of(method),
                insertion_minus_deletion=means["insertion_auc"] - means["deletion_auc"],
                **means,
                **_sanity_summary(sanity.get(method)),
                per_image=per_image,
            )
        )
    return summaries


def _per_image(items: list[dict], last_stage: int | None) -> dict[str, dict[str, float]]:
    """Each table field's value on each image (file -> value), so that the field is their mean. A file name
    seen again (two uploads of one name) gets ``#2``, ``#3``…, in the same order for every method."""
    values: dict[str, dict[str, float]] = {}
    seen: dict[str, int] = {}

    def put(name: str, key: str, value: float) -> None:
        if math.isfinite(value):
            values.setdefault(name, {})[key] = value

    for row in items:
        seen[row["file"]] = seen.get(row["file"], 0) + 1
        key = row["file"] if seen[row["file"]] == 1 else f"{row['file']}#{seen[row['file']]}"
        base, masked = float(row["base_score"]), float(row["masked_score"])
        if base <= 0:
            raise InvalidParameterError("Average Drop needs positive base scores Y.")
        put("average_drop", key, average_drop([base], [masked]))
        put("average_increase", key, average_increase([base], [masked]))
        for column in ("insertion_auc", "deletion_auc", "complexity", "coherency", "adcc", "sparseness"):
            put(column, key, _number(row.get(column)))
        put("insertion_minus_deletion", key, float(row["insertion_auc"]) - float(row["deletion_auc"]))
        for percent in FIXED_AREAS:
            kept = _number(row.get(f"masked_score_{percent}"))
            put(f"average_drop_{percent}", key, average_drop([base], [kept]) if math.isfinite(kept) else math.nan)
        if last_stage is not None:
            put("sanity_spearman", key, _number(row.get(f"rand_spearman_{last_stage}")))
            put("sanity_ssim", key, _number(row.get(f"rand_ssim_{last_stage}")))
    return values


def _sanity_summary(values: dict | None) -> dict:
    if not values:
        return {}
    last = values["last_stage"]
    verdict_ = sanity_verdict_of(values["interval"])
    return {
        "sanity_spearman": values[f"rand_spearman_{last}"],
        "sanity_ssim": values.get(f"rand_ssim_{last}", math.nan),
        "sanity_passes": {"passes": True, "fails": False}.get(verdict_),
        "sanity_verdict": verdict_,
    }


def sanity_verdict_of(spearman: Interval) -> str:
    """The randomisation check from the interval of the mean Spearman at the last stage: ``passes`` where it
    lies wholly below :data:`camlib.sanity.SANITY_THRESHOLD`, ``fails`` above, else ``indistinguishable``."""
    side = verdict(spearman, SANITY_THRESHOLD)
    return {BELOW: "passes", ABOVE: "fails"}.get(side, INDISTINGUISHABLE)


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


MEANS = [
    "average_drop", "average_increase", "insertion_auc", "deletion_auc", *(f"average_drop_{p}" for p in FIXED_AREAS),
    "complexity", "coherency", "adcc", "sparseness",
]  # fmt: skip
"""The summary's fields that are the mean of their per-image values (NaN where no image has one)."""


def _mean(per_image: dict[str, dict[str, float]], name: str) -> float:
    values = per_image.get(name)
    return float(np.mean(list(values.values()))) if values else math.nan
