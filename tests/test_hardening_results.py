"""Issue 24: results files cannot hurt: damaged cells, huge cells, deep or ill-shaped configuration
lines, empty files and huge (sparse) files each end in one line (exit 2), before anything is parsed."""

from __future__ import annotations

import json
import os

import pytest

import camlib.results as results_module
import camlib.results_file as results_file_module
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
    monkeypatch.setattr(results_file_module, "MAX_RESULTS_BYTES", 2**40)
    small = _csv(tmp_path / "small.csv")
    read_results_file(small)
    assert str(small) in map(str, opened)


def test_the_nesting_count_is_not_fooled_by_brackets_in_strings():
    assert results_file_module._nesting('{"a": "[[[[[[", "b": [1, [2]]}') == 3
    assert results_file_module._nesting("[" * 50 + "]" * 50) == 50


def test_a_folder_or_fifo_as_results_file_says_what_it_is(tmp_path, capsys):
    assert main(["evaluate-merge", str(tmp_path)]) == 2
    assert "is a folder" in _one_line(capsys)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert main(["evaluate-merge", str(fifo)]) == 2  # never blocks: the pipe is not opened
    assert "named pipe" in _one_line(capsys)


# -- paths and weights ------------------------------------------------------------------------------

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402

from camlib.backbones.weights import apply_state_dict, read_state_dict  # noqa: E402
from camlib.dataset import LabelLookup, read_label_rows  # noqa: E402
from camlib.errors import CamlibError, InvalidParameterError, WeightsError  # noqa: E402


def _loop(tmp_path, name):
    loop = tmp_path / name
    os.symlink(loop, loop)  # a link to itself
    return loop


def test_a_symlink_loop_as_image_or_out_is_one_line(tmp_path, capsys):
    picture = tmp_path / "p.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(picture)
    assert main(["explain", str(_loop(tmp_path, "img.png")), "--out", str(tmp_path / "g.png"), "--offline"]) == 2
    assert "symlink loop" in _one_line(capsys)
    assert main(["explain", str(picture), "--out", str(_loop(tmp_path, "out.png")), "--offline"]) == 2
    assert "symlink loop" in _one_line(capsys)
    assert main(["evaluate", str(tmp_path), "--out", str(_loop(tmp_path, "r.csv"))]) == 2
    assert "symlink loop" in _one_line(capsys)
    assert main(["pointing-game", str(tmp_path), "--out", str(_loop(tmp_path, "p.csv"))]) == 2
    assert "symlink loop" in _one_line(capsys)
    from camlib.paths import resolved

    with pytest.raises(InvalidParameterError, match="symlink loop"):
        resolved(_loop(tmp_path, "bare.png"), "x")
    assert resolved(picture, "x") == picture.resolve()  # planted contrast: a plain file resolves


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_weights_and_labels_that_are_not_files_say_what_they_are(kind, tmp_path):
    if kind == "fifo":
        path, words = tmp_path / "w.pth", "named pipe"
        os.mkfifo(path)
    elif kind == "device":
        path, words = "/dev/zero", "device"
    else:
        path, words = tmp_path, "folder"
    with pytest.raises(WeightsError, match=words):
        read_state_dict(path)
    with pytest.raises(InvalidParameterError, match=words):
        read_label_rows(path)
    with pytest.raises(InvalidParameterError, match=words):
        LabelLookup(tmp_path, path)
    with pytest.raises(WeightsError, match="not found"):  # planted contrast: a missing file is "not found"
        read_state_dict(tmp_path / "missing.pth")


def test_json_and_npy_weights_are_refused_for_what_they_are(tmp_path):
    (tmp_path / "weights.json").write_text(json.dumps({"conv.weight": [1.0, 2.0]}))
    np.save(tmp_path / "arr.npy", np.zeros(3))
    for name, words in (("weights.json", "JSON"), ("arr.npy", "NumPy")):
        with pytest.raises(WeightsError, match=words) as caught:
            read_state_dict(tmp_path / name)
        assert "run code" not in str(caught.value)
    torch.save(nn.Linear(2, 2), tmp_path / "model.pth")  # a whole model: that one would run code
    with pytest.raises(WeightsError, match="run code"):
        read_state_dict(tmp_path / "model.pth")


def test_extra_keys_metadata_and_inf_are_named(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 2, 1))
    state = dict(model.state_dict())
    with pytest.raises(WeightsError, match=r"unexpected \(extra.bias\)"):
        apply_state_dict(model, {**state, "extra.bias": torch.zeros(2)}, architecture="test", source="w.pth")
    torch.save({**state, "epoch": 3}, tmp_path / "meta.pth")
    with pytest.raises(WeightsError, match="'epoch' \\(int\\)"):
        read_state_dict(tmp_path / "meta.pth")
    broken = {key: value.clone() for key, value in state.items()}
    broken["0.weight"][0, 0, 0, 0] = float("inf")
    before = model.state_dict()["0.weight"].clone()
    with pytest.raises(WeightsError, match="infinite"):
        apply_state_dict(model, broken, architecture="test", source="w.pth")
    assert torch.equal(model.state_dict()["0.weight"], before)  # unchanged
    apply_state_dict(model, state, architecture="test", source="w.pth")  # planted contrast: the clean file loads


def test_a_labels_file_of_many_short_rows_is_refused_before_parsing(tmp_path, monkeypatch):
    import camlib.labels as labels_module

    path = tmp_path / "labels.csv"
    path.write_bytes(b"file,class_index\n" + b"a.png,1\n" * 3_000_000)  # 24 MB, under the byte limit
    with pytest.raises(InvalidParameterError, match="more than the 2,000,000 rows"):  # counted, not parsed
        read_label_rows(path)
    monkeypatch.setattr(labels_module, "MAX_LABEL_ROWS", 10)  # planted: a small bound refuses a small file the same way
    small = tmp_path / "small.csv"
    small.write_bytes(b"file,class_index\n" + b"".join(b"%d.png,1\n" % i for i in range(20)))
    with pytest.raises(InvalidParameterError, match="more than the 10 rows"):
        read_label_rows(small)
