"""bench/replace_columns.py: columns of a results CSV replaced by a newer run of the same maps."""

import sys
from pathlib import Path

import pytest

from camlib.results import ResultsError, read_results_file, write_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from replace_columns import replace_columns  # noqa: E402

FIELDS = ["file", "method", "base_score", "masked_score", "insertion_auc", "rand_spearman_1", "error"]
CONFIG = {"camlib": "0.1.0", "backbone": "b", "layer": "l", "weights": {}, "target": "predicted", "insertion_steps": 16, "params": {"cam": {}}}


def write(path, rows, **config):
    write_results(path, FIELDS, rows, CONFIG | config)
    return path


def row(image, masked, insertion, spearman=""):
    return {"file": image, "method": "cam", "base_score": "0.5", "masked_score": masked, "insertion_auc": insertion,
            "rand_spearman_1": spearman, "error": ""}


def test_replaces_the_columns_and_keeps_the_rest(tmp_path):
    base = write(tmp_path / "base.csv", [row("a", "0.4", "0.30", "0.9"), row("b", "0.2", "0.10", "0.1")], sanity=True)
    update = write(tmp_path / "new.csv", [row("b", "0.2001", "0.15"), row("a", "0.4", "0.20")], sanity=False, pixel_order="raster")
    rows, fields, config, worst, moved = replace_columns(base, [update], ["insertion_auc"], ["masked_score"], 1e-3)
    assert [(r["file"], r["insertion_auc"], r["rand_spearman_1"]) for r in rows] == [("a", "0.20", "0.9"), ("b", "0.15", "0.1")]
    assert config["pixel_order"] == "raster" and config["sanity"] is True
    assert worst["masked_score"] == pytest.approx(1e-4)
    assert moved["cam"]["insertion_auc"] == pytest.approx([-0.1, 0.05])
    assert read_results_file(base).rows[0]["insertion_auc"] == "0.30"  # the base is left alone


def test_refuses_other_maps_missing_rows_and_other_layers(tmp_path):
    base = write(tmp_path / "base.csv", [row("a", "0.4", "0.30")])
    other_maps = write(tmp_path / "maps.csv", [row("a", "0.5", "0.20")])
    with pytest.raises(ResultsError, match="maps differ"):
        replace_columns(base, [other_maps], ["insertion_auc"], ["masked_score"], 1e-3)
    missing = write(tmp_path / "missing.csv", [row("b", "0.4", "0.20")])
    with pytest.raises(ResultsError, match="no row"):
        replace_columns(base, [missing], ["insertion_auc"], ["masked_score"], 1e-3)
    layer = write(tmp_path / "layer.csv", [row("a", "0.4", "0.20")], layer="other")
    with pytest.raises(ResultsError, match="layer"):
        replace_columns(base, [layer], ["insertion_auc"], ["masked_score"], 1e-3)
