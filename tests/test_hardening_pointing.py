"""Issue 24: pointing-game is as safe as evaluate: --out checked before any work, a partial last line
dropped on resume, the configuration line checked, --size bounded, --shards for --shard auto."""

from __future__ import annotations

import pytest

import camlib.cli as cli
import camlib.cli_output as cli_output
import camlib.results as results_module
from camlib.cli import main
from camlib.errors import CamlibError, InvalidParameterError
from camlib.pointing import MAX_SIZE, pointing_game_folder
from camlib.results import read_results_file
from colour_model import colour_backbone as make_colour_backbone
from colour_model import colour_folder as make_colour_folder

@pytest.fixture()
def colour_backbone():
    return make_colour_backbone()


@pytest.fixture()
def colour_folder(tmp_path):
    return make_colour_folder(tmp_path / "colours")


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
        cli.refuse_overwriting_images, saved = (lambda out, folder: None), cli.refuse_overwriting_images
        assert main(["pointing-game", str(colour_folder), "--out", str(photo)]) == 2
        assert "model loaded" in _one_error_line(capsys)
    finally:
        cli.check_output_path, cli.refuse_overwriting_images = original, saved


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


def test_resume_drops_a_partial_last_line(colour_backbone, colour_folder, tmp_path):
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


def test_resume_glues_rows_when_the_partial_line_is_kept(colour_backbone, colour_folder, tmp_path, monkeypatch):
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


def test_resume_and_merge_check_the_configuration(colour_backbone, colour_folder, tmp_path):
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


# -- smaller CLI and library items ------------------------------------------------------------------

import errno  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from camlib.errors import UnknownClassError  # noqa: E402
from camlib.methods import GradCAM, parse_method_list  # noqa: E402


@pytest.fixture()
def small_explain(colour_backbone, monkeypatch, tmp_path):
    """``camlib explain`` on the colour model (no model download, a second per run) and a red picture."""
    monkeypatch.setattr(cli, "load_from_options", lambda args, **kwargs: colour_backbone)
    picture = tmp_path / "red.png"
    Image.fromarray(np.full((32, 32, 3), (255, 0, 0), np.uint8)).save(picture)
    return ["explain", str(picture), "--methods", "gradcam"]


def test_resolution_out_of_range_is_refused_with_the_range(small_explain, tmp_path, capsys):
    for value in ("0", "5000", "-3"):
        assert main([*small_explain, "--resolution", value, "--out", str(tmp_path / "g.png")]) == 2
        assert "32..1024" in _one_error_line(capsys)
    assert not (tmp_path / "g.png").exists()
    from camlib.backbones.preprocess import input_pixels_size

    with pytest.raises(InvalidParameterError, match="32 to 1024"):  # the library too: 0 is not "the default"
        input_pixels_size(BACKBONE_SPEC(), 64, 64, 0)
    assert input_pixels_size(BACKBONE_SPEC(), 64, 64, None) == (224, 224)  # planted contrast


def BACKBONE_SPEC():
    from camlib.backbones import BACKBONES

    return BACKBONES["efficientnet_lite0"]


def test_methods_all_and_a_key_together():
    keys = parse_method_list("all,gradcam")
    assert keys == parse_method_list("all") or keys[: len(parse_method_list("all"))] == parse_method_list("all")
    assert "gradcam" in keys and len(keys) == len(set(keys))


def test_save_maps_that_cannot_be_written_leaves_no_grid_behind(small_explain, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main([*small_explain, "--out", str(out), "--save-maps", "/proc/m.npz"]) == 2
    assert "/proc/m.npz" in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["red.png"]  # no grid, no partial file
    assert main([*small_explain, "--out", str(out), "--save-maps", str(tmp_path / "m.npz")]) == 0  # planted contrast
    assert out.is_file() and (tmp_path / "m.npz").is_file()


def test_a_full_disk_names_the_file(small_explain, tmp_path, monkeypatch, capsys):
    real_open = open

    class FullDisk:
        def __init__(self, *args, **kwargs):
            self.handle = real_open(*args, **kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cli_output, "open", FullDisk, raising=False)  # where the command line writes files
    out = tmp_path / "grid.png"
    assert main([*small_explain, "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert "No space left on device" in line and str(out) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["red.png"]


def test_class_names_with_invisible_or_look_alike_characters_are_spelled_out(colour_backbone):
    name = colour_backbone.class_names[0]
    look_alike = name.replace("a", "\u0430", 1) if "a" in name else "\u0430" + name
    for typed, shows in ((look_alike, "U+0430 CYRILLIC SMALL LETTER A"), (name[:2] + "\u200b" + name[2:], "U+200B ZERO WIDTH SPACE")):
        with pytest.raises(UnknownClassError) as caught:
            colour_backbone.class_index(typed)
        assert shows in str(caught.value) and "\\u" in str(caught.value)
    with pytest.raises(UnknownClassError, match="No class named 'zzzz'"):  # a plain name stays plain
        colour_backbone.class_index("zzzz")


def test_library_inputs_of_the_wrong_kind_raise_camlib_errors(colour_backbone):
    from camlib.explain import explain

    for layer in (123, None):
        with pytest.raises(CamlibError, match="dotted module name"):
            GradCAM(colour_backbone.model, layer)
    method = GradCAM(colour_backbone.model, "features")
    with pytest.raises(CamlibError, match="meta device"):
        method(torch.zeros(1, 3, 32, 32, device="meta"), [0])
    assert method(torch.zeros(1, 3, 32, 32), [0]).shape == (1, 32, 32)  # planted contrast: a real input runs
    with pytest.raises(CamlibError, match="PIL image"):
        explain(colour_backbone, np.zeros((32, 32, 3), np.uint8), methods=["gradcam"])
