"""camlib.intervals: the bootstrap against hand-computed cases, a numpy re-implementation with the same seed and
scipy.stats.bootstrap's percentile interval; planted errors (an unpaired difference, a verdict from the mean
alone) that the checks catch; the issue's figures recomputed from the committed per-image CSVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from camlib.intervals import (
    ABOVE,
    BELOW,
    INDISTINGUISHABLE,
    RESAMPLES,
    SEED,
    Interval,
    bootstrap_mean,
    paired_difference,
    verdict,
)
from camlib.results import read_rows

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"


def per_image(name: str, method: str, column: str) -> dict[str, float]:
    rows = read_rows([RESULTS / name])
    if column == "insertion_minus_deletion":
        return {r["file"]: float(r["insertion_auc"]) - float(r["deletion_auc"]) for r in rows if r["method"] == method and not r["error"]}
    return {r["file"]: float(r[column]) for r in rows if r["method"] == method and not r["error"]}


def numpy_percentile_bootstrap(values, seed=SEED, resamples=RESAMPLES):
    """An independent re-implementation: one draw of indices per resample, the 2.5th and 97.5th percentiles."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = np.array([values[rng.integers(0, values.size, size=values.size)].mean() for _ in range(resamples)])
    return np.percentile(means, [2.5, 97.5])


def unpaired_difference(a, b, seed=SEED, resamples=RESAMPLES):
    """Planted error: a and b resampled independently, as if the images were different."""
    keys = sorted(set(a) & set(b))
    x, y = np.array([a[k] for k in keys]), np.array([b[k] for k in keys])
    rng = np.random.default_rng(seed)
    diffs = x[rng.integers(0, x.size, (resamples, x.size))].mean(1) - y[rng.integers(0, y.size, (resamples, y.size))].mean(1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return Interval(float(x.mean() - y.mean()), float(low), float(high), x.size)


def verdict_from_mean(interval, threshold=0.0):
    """Planted error: the verdict read off the mean, ignoring the interval."""
    return ABOVE if interval.mean > threshold else BELOW


def test_hand_computed_cases():
    constant = bootstrap_mean([0.3] * 7)
    assert (constant.mean, constant.low, constant.high, constant.n) == pytest.approx((0.3, 0.3, 0.3, 7))
    # Two values 0 and 1: a resample's mean is 0, 0.5 or 1 with probability 1/4, 1/2, 1/4, so the
    # 2.5th and 97.5th percentiles of 10,000 resamples are 0 and 1.
    pair = bootstrap_mean([0.0, 1.0])
    assert (pair.mean, pair.low, pair.high) == pytest.approx((0.5, 0.0, 1.0))
    assert bootstrap_mean([np.nan, 2.0, np.nan, 2.0]).n == 2  # undefined values are left out, as in the tables
    assert bootstrap_mean([]).n == 0 and verdict(bootstrap_mean([])) == INDISTINGUISHABLE
    difference = paired_difference({"a": 3.0, "b": 5.0, "c": 1.0}, {"b": 4.0, "a": 1.0, "d": 9.0})
    assert difference.n == 2 and difference.mean == pytest.approx(1.5)  # (3−1 + 5−4) / 2 on the common images
    assert (difference.low, difference.high) == pytest.approx((1.0, 2.0))


def test_verdict_only_where_the_interval_excludes_the_threshold():
    assert verdict(Interval(-0.0025, -0.021, 0.016, 125)) == INDISTINGUISHABLE
    assert verdict(Interval(-0.013, -0.024, -0.003, 125)) == BELOW
    assert verdict(Interval(0.02, 0.001, 0.04, 125)) == ABOVE
    assert verdict(Interval(0.503, 0.457, 0.547, 125), 0.5) == INDISTINGUISHABLE
    assert verdict(Interval(0.76, 0.73, 0.79, 125), 0.5) == ABOVE
    assert verdict(Interval(0.0, 0.0, 0.2, 9)) == INDISTINGUISHABLE  # an interval touching the threshold does not exclude it
    # the planted error: a verdict from the mean alone calls CAM "below the blob"
    assert verdict_from_mean(Interval(-0.0025, -0.021, 0.016, 125)) != verdict(Interval(-0.0025, -0.021, 0.016, 125))


def test_same_seed_reimplementation_agrees():
    values = np.random.default_rng(5).gamma(2.0, 0.1, size=125)
    interval = bootstrap_mean(values)
    low, high = numpy_percentile_bootstrap(values)
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=1e-12)
    assert interval.mean == pytest.approx(values.mean())


def test_agrees_with_scipy_percentile_bootstrap_and_catches_an_unpaired_difference():
    scipy_stats = pytest.importorskip("scipy.stats")
    cam = per_image("report_lite0_bn2.csv", "cam", "insertion_minus_deletion")
    blob = per_image("report_lite0_bn2.csv", "center", "insertion_minus_deletion")
    keys = sorted(cam)
    reference = scipy_stats.bootstrap(
        ([cam[k] for k in keys], [blob[k] for k in keys]),
        lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
        paired=True, vectorized=True, n_resamples=RESAMPLES, method="percentile", random_state=np.random.default_rng(1),
    ).confidence_interval  # fmt: skip
    ours = paired_difference(cam, blob)
    tolerance = 0.06 * (reference.high - reference.low)  # Monte Carlo error of two independent 10,000-draw bootstraps
    assert ours.low == pytest.approx(reference.low, abs=tolerance)
    assert ours.high == pytest.approx(reference.high, abs=tolerance)
    wrong = unpaired_difference(cam, blob)
    assert abs(wrong.low - reference.low) > tolerance or abs(wrong.high - reference.high) > tolerance


def test_group_bootstrap_draws_whole_groups():
    # Two groups whose values are equal within each: resampling groups gives the same interval as
    # resampling their means, and a wider one than resampling cells as if they were independent.
    values = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    grouped = bootstrap_mean(values, groups=[0, 0, 0, 0, 1, 1, 1, 1])
    assert (grouped.mean, grouped.low, grouped.high, grouped.n) == pytest.approx((0.5, 0.0, 1.0, 8))
    cells = bootstrap_mean(values)
    assert cells.high - cells.low < grouped.high - grouped.low


def test_the_issues_figures_from_the_committed_rows():
    def insdel_difference(name, a, b):
        return paired_difference(per_image(name, a, "insertion_minus_deletion"), per_image(name, b, "insertion_minus_deletion"))

    cam = insdel_difference("report_lite0_bn2.csv", "cam", "center")
    assert (cam.mean, cam.low, cam.high) == pytest.approx((-0.0025, -0.021, 0.016), abs=6e-4)
    assert verdict(cam) == INDISTINGUISHABLE
    expected = {"report_lite1_bn2_fast.csv": (0.004, -0.003, 0.012, INDISTINGUISHABLE),
                "report_lite2_bn2_fast.csv": (-0.005, -0.011, 0.002, INDISTINGUISHABLE),
                "report_lite0_bn2.csv": (-0.013, -0.024, -0.003, BELOW)}  # fmt: skip
    for name, (mean, low, high, side) in expected.items():
        found = insdel_difference(name, "gradpp_scorecam", "scorecam")
        assert (found.mean, found.low, found.high) == pytest.approx((mean, low, high), abs=6e-4), name
        assert verdict(found) == side, name
    for name, mean in [("report_lite1_bn2_fast.csv", 0.498), ("report_lite0_bn2.csv", 0.503), ("report_lite2_bn2_fast.csv", 0.535)]:
        spearman = bootstrap_mean(list(per_image(name, "gradpp_scorecam", "rand_spearman_3").values()))
        assert spearman.mean == pytest.approx(mean, abs=6e-4)
        assert verdict(spearman, 0.5) == INDISTINGUISHABLE, name


def test_pointing_table_resamples_grids_and_names_the_best_only_past_the_runner_up():
    from camlib.pointing import pointing_markdown, read_pointing_rows, summarize_pointing

    summaries = summarize_pointing(read_pointing_rows([RESULTS / "pointing_lite0_bn2.csv"]))
    table = pointing_markdown(summaries)
    assert "| CAM | 0.805 [0.784, 0.823] |" in table
    assert "Energy share: CAM (= Grad-CAM, the same map) is the best of the methods, ahead of Grad++ScoreCAM by +0.090 [0.068, 0.111]" in table
    # planted error: cells resampled as if independent (the four cells of a grid share one map) give another interval
    cam = next(s for s in summaries if s.method == "cam")
    cells = bootstrap_mean(list(cam.per_image["energy_share"].values()))
    grids = cam.interval("energy_share")
    assert cells.mean == pytest.approx(grids.mean) and (round(cells.low, 3), round(cells.high, 3)) != (0.784, 0.823)


def test_a_bound_that_is_not_zero_never_reads_as_zero():
    """Beside a verdict that the interval excludes 0, "[0.000, 0.016]" would read as touching 0; a bound gets
    more digits until it does not round to 0 (a bound of exactly 0 stays 0.000). Planted error: the fixed
    three digits of the old text."""
    assert Interval(0.008, 0.0003, 0.016, 125).text(signed=True) == "+0.008 [0.0003, 0.016]"
    assert Interval(-0.01, -0.00004, 0.2, 8).text() == "−0.010 [−0.00004, 0.200]"
    assert Interval(0.1, 0.0, 0.2, 3).text() == "0.100 [0.000, 0.200]"
    assert Interval(1.5, 0.04, 3.0, 8).text(1) == "1.5 [0.04, 3.0]"
    assert Interval(0.0004, 0.0003, 0.0005, 8).text() == "0.0004 [0.0003, 0.001]"  # the mean too
    planted = Interval(0.008, 0.0003, 0.016, 125)
    assert f"{planted.low:.3f}" == "0.000" != planted.text().split("[")[1].split(",")[0]
