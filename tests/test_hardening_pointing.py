"""Issue 24: pointing-game is as safe as evaluate: --out checked before any work, a partial last line
dropped on resume, the configuration line checked, --size bounded, --shards for --shard auto."""

from __future__ import annotations

import pytest

import camlib.cli as cli
import camlib.results as results_module
from camlib.cli import main
from camlib.errors import CamlibError, InvalidParameterError
from camlib.pointing import MAX_SIZE, pointing_game_folder
from camlib.results import read_results_file
from test_pointing import colour_backbone, colour_folder  # noqa: F401 - fixtures

OPTIONS = {"methods": ["center", "gradcam"], "grids": 2, "size": 32, "seed": 1}


class NoWork(CamlibError):
    pass


@pytest.fixture()
def no_model(monkeypatch):
    """Any attempt to load a model fails loudly: the checks must come before it."""

    def refuse(*args, **kwargs):
        raise NoWork("model loaded")

    monkeypatch.setattr(cli, "load_from_options", refuse)


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


def test_out_naming_an_input_image_is_refused_before_any_work(colour_folder, no_model, capsys):
    photo = colour_folder / "red0.png"
    before = photo.read_bytes()
    assert main(["pointing-game", str(colour_folder), "--methods", "gradcam", "--out", str(photo)]) == 2
    assert "would overwrite an image" in _one_error_line(capsys)
    assert photo.read_bytes() == before
    assert main(["pointing-game", str(colour_folder), "--out", str(colour_folder)]) == 2
    assert "directory" in _one_error_line(capsys)
    # planted: with the check gone the run reaches the model (here: the refusal stands in for the work)
    original = cli.check_output_path
    try:
        cli.check_output_path = lambda path, option, suffixes=None: __import__("pathlib").Path(path)
        cli._refuse_overwriting_images, saved = (lambda out, folder: None), cli._refuse_overwriting_images
        assert main(["pointing-game", str(colour_folder), "--out", str(photo)]) == 2
        assert "model loaded" in _one_error_line(capsys)
    finally:
        cli.check_output_path, cli._refuse_overwriting_images = original, saved


def test_size_is_bounded_before_any_work(colour_folder, tmp_path, no_model, capsys):
    out = str(tmp_path / "p.csv")
    assert main(["pointing-game", str(colour_folder), "--size", "4096", "--out", out]) == 2
    line = _one_error_line(capsys)
    assert f"32..{MAX_SIZE}" in line and "4096" in line
    assert main(["pointing-game", str(colour_folder), "--size", "448", "--out", out]) == 2
    assert "model loaded" in _one_error_line(capsys)  # a valid size passes the check (planted contrast)


def test_shard_auto_under_kubernetes_takes_shards(colour_folder, tmp_path, no_model, monkeypatch, capsys):
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID", raising=False)
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    args = ["pointing-game", str(colour_folder), "--shard", "auto", "--out", str(tmp_path / "p.csv")]
    assert main(args) == 2
    assert "--shards N" in _one_error_line(capsys)
    assert main([*args, "--shards", "2"]) == 2
    assert "model loaded" in _one_error_line(capsys)  # the option exists and the shard is accepted


def test_resume_drops_a_partial_last_line(colour_backbone, colour_folder, tmp_path):  # noqa: F811
    whole = tmp_path / "whole.csv"
    full = {(s.method, s.cells, round(s.hit_rate, 6)) for s in pointing_game_folder(colour_backbone, colour_folder, out=whole, **OPTIONS)}
    assert ("center", 8, 0.25) in full
    cut = tmp_path / "cut.csv"
    data = whole.read_bytes()
    cut.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 12])  # the last row cut short mid-line
    resumed = pointing_game_folder(colour_backbone, colour_folder, out=cut, resume=True, **OPTIONS)
    assert {(s.method, s.cells, round(s.hit_rate, 6)) for s in resumed} == full
    assert len(read_results_file(cut).rows) == len(read_results_file(whole).rows)
    assert not read_results_file(cut).dropped_partial_line


def test_resume_glues_rows_when_the_partial_line_is_kept(colour_backbone, colour_folder, tmp_path, monkeypatch):  # noqa: F811
    """Planted error: a reader that keeps the cut line (as pointing.py's own reader did) loses a row."""
    whole = tmp_path / "whole.csv"
    pointing_game_folder(colour_backbone, colour_folder, out=whole, **OPTIONS)
    data = whole.read_bytes()
    cut = tmp_path / "cut.csv"
    cut.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 12])
    original = results_module.read_results_file

    def keeps_partial(path):
        found = original(path)
        found.dropped_partial_line, found.body_end = False, len(open(path, "rb").read())
        return found

    monkeypatch.setattr(results_module, "read_results_file", keeps_partial)
    with pytest.raises(Exception):  # the glued row is damaged, or the count is wrong
        summaries = pointing_game_folder(colour_backbone, colour_folder, out=cut, resume=True, **OPTIONS)
        center = next(s for s in summaries if s.method == "center")
        assert center.cells == 8


def test_resume_and_merge_check_the_configuration(colour_backbone, colour_folder, tmp_path):  # noqa: F811
    out = tmp_path / "p.csv"
    pointing_game_folder(colour_backbone, colour_folder, out=out, **OPTIONS)
    config = read_results_file(out).config
    assert {config["layer"], config["size"], config["seed"]} == {"features", 32, 1} and set(config["params"]) == {"gradcam"}
    for change, word in (({"layer": "act"}, "layer"), ({"size": 64}, "size"), ({"method_params": {"gradcam": {"relu": False}}}, "gradcam")):
        with pytest.raises(InvalidParameterError, match=f"another configuration.*{word}"):
            pointing_game_folder(colour_backbone, colour_folder, out=out, resume=True, **{**OPTIONS, **change})
    other = tmp_path / "other.csv"
    pointing_game_folder(colour_backbone, colour_folder, out=other, **{**OPTIONS, "layer": "act"})
    from camlib.pointing import merge_pointing

    with pytest.raises(InvalidParameterError, match="another configuration"):
        merge_pointing([out, other])
