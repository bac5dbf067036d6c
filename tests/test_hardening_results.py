"""Issue 24: results files cannot hurt: damaged cells, huge cells, deep or ill-shaped configuration
lines, empty files and huge (sparse) files each end in one line (exit 2), before anything is parsed."""

from __future__ import annotations

import json
import os

import pytest

import camlib.results as results_module
from camlib.cli import main
from camlib.evaluate import CSV_FIELDS
from camlib.results import CONFIG_PREFIX, MAX_RESULTS_BYTES, ResultsError, open_results, read_results_file

CONFIG = {"backbone": "efficientnet_lite0", "layer": "conv_head", "params": {"gradcam": {}}, "weights": {"source": "x"}}


def _csv(path, *, config=CONFIG, cells=None, raw_config=None):
    row = {field: "" for field in CSV_FIELDS}
    row.update(file="a.png", method="gradcam", target="1", base_score="0.9", masked_score="0.5", insertion_auc="0.6",
               deletion_auc="0.2", seconds="0.1", kind="method")  # fmt: skip
    row.update(cells or {})
    first = raw_config if raw_config is not None else (json.dumps(config) if config is not None else None)
    lines = ([CONFIG_PREFIX + first] if first is not None else []) + [",".join(CSV_FIELDS), ",".join(row[f] for f in CSV_FIELDS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _one_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


DAMAGED = {
    "abc": (lambda p: _csv(p, cells={"base_score": "abc"}), "not a number"),
    "long cell": (lambda p: _csv(p, cells={"error": "x" * 200_000}), "field larger than field limit"),
    "deep config": (lambda p: _csv(p, raw_config="[" * 100_000 + "]" * 100_000), "nested deeper"),
    "params x": (lambda p: _csv(p, config={**CONFIG, "params": "x"}), '"params" must map'),
    "empty score": (lambda p: _csv(p, cells={"seconds": ""}), "lacks a number"),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_evaluate_merge_refuses_a_damaged_file_in_one_line(case, tmp_path, capsys):
    make, words = DAMAGED[case]
    path = make(tmp_path / "r.csv")
    assert main(["evaluate-merge", str(path)]) == 2
    assert words in _one_line(capsys)
    good = _csv(tmp_path / "good.csv")  # planted contrast: the undamaged file merges
    assert main(["evaluate-merge", str(good)]) == 0


@pytest.mark.parametrize("case", ["abc", "long cell", "deep config", "params x"])
def test_resume_refuses_a_damaged_file(case, tmp_path):
    make, words = DAMAGED[case]
    path = make(tmp_path / "r.csv")
    with pytest.raises(ResultsError, match=words):
        open_results(path, CSV_FIELDS, CONFIG, resume=True)


def test_an_empty_csv_is_not_an_empty_table(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert main(["evaluate-merge", str(empty)]) == 2
    assert "no result rows" in _one_line(capsys)
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(CSV_FIELDS) + "\n")
    assert main(["evaluate-merge", str(header_only)]) == 2
    assert "no result rows" in _one_line(capsys)


def test_a_huge_sparse_file_is_refused_by_its_size_before_reading(tmp_path, capsys, monkeypatch):
    huge = _csv(tmp_path / "huge.csv")
    with open(huge, "r+b") as handle:
        handle.truncate(int(2.5 * 2**30))  # a hole: no disk used
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    assert main(["evaluate-merge", str(huge)]) == 2
    assert f"{MAX_RESULTS_BYTES // 2**20} MiB" in _one_line(capsys)
    assert str(huge) not in map(str, opened)
    # planted: without the bound the file is read (here the bound is raised, and the read is seen)
    monkeypatch.setattr(results_module, "MAX_RESULTS_BYTES", 2**40)
    small = _csv(tmp_path / "small.csv")
    read_results_file(small)
    assert str(small) in map(str, opened)


def test_the_nesting_count_is_not_fooled_by_brackets_in_strings():
    assert results_module._nesting('{"a": "[[[[[[", "b": [1, [2]]}') == 3
    assert results_module._nesting("[" * 50 + "]" * 50) == 50


def test_a_folder_or_fifo_as_results_file_says_what_it_is(tmp_path, capsys):
    assert main(["evaluate-merge", str(tmp_path)]) == 2
    assert "is a folder" in _one_line(capsys)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert main(["evaluate-merge", str(fifo)]) == 2  # never blocks: the pipe is not opened
    assert "named pipe" in _one_line(capsys)
