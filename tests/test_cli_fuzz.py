"""A property test of the command line: hypothesis draws ``camlib explain`` argument lists from the
argument space (image paths, including names that are not UTF-8 and directories; output paths; classes;
layers; methods; parameters; speed settings) and checks the contract of every run:

- exit code 0, and the grid (and the maps, when asked for) written and readable; or
- exit code 2, exactly one line on stderr starting with ``camlib: error:``, and nothing written.

The model is a tiny GAP network standing in for the backbone (``load_model`` is replaced), so each
example takes milliseconds; everything else — argument parsing, checks, the methods, the writing — is
the real CLI, called in-process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from budgets import CLI_FUZZ_EXAMPLES
from colour_model import colour_backbone, colour_folder
from conftest import make_tiny_backbone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

import camlib.cli
from camlib.backbones import Backbone
from camlib.cli import main

EXAMPLES = CLI_FUZZ_EXAMPLES

NON_UTF8 = b"caf\xe9".decode("utf-8", "surrogateescape")


def mostly(good: list, bad: list) -> st.SearchStrategy:
    """A value from ``good`` six times in seven, else from ``bad``: with several arguments drawn, a fair
    share of the argument lists is entirely valid and runs to the end."""
    return st.integers(0, 8).flatmap(lambda i: st.sampled_from(bad) if i == 4 else st.sampled_from(good))


IMAGES = mostly(["photo.png", f"{NON_UTF8}.png"], ["folder", "absent.png", "notes.png", "folder/", "", f"sub/{NON_UTF8}/x.png"])
OUTPUTS = mostly(
    ["grid.png", "grid.jpg", "grid.webp", "out/new/grid.bmp", f"{NON_UTF8}.png", f"{NON_UTF8}.tif", "GRID.PNG"],
    ["grid", "grid.xyz", ".", "folder", "folder/", "photo.png", "photo.png/grid.png", "notes.png/x.png", "", "grid.npz"],
)
MAPS = mostly([None, None, "maps.npz", f"{NON_UTF8}.npz", "folder/m.npz"], ["maps", ".", "grid.png", "photo.png", "notes.png/m.npz"])
CLASSES = mostly(
    [None, "281", "0", "999", "cardigan", "Cardigan", " 7 ", "tabby"],
    ["1000", "-1", "CARDIGAN", "cat", "unicorn", "", "²", "١٢", "1e3", "2.5"],
)
LAYERS = mostly([None, "features", "stem", "act", "act2"], ["pool", "fc", "flatten", "blocks.99", "", ".", "features.weight"])
METHOD_KEYS = ["cam", "gradcam", "gradcampp", "smoothgradcampp", "scorecam", "gradpp_scorecam"]
METHOD_LISTS = st.integers(0, 8).flatmap(
    lambda i: st.sampled_from(["all", "", "fancycam", "gradcam,fancycam", ",", "GRADCAM", "gradcam,,cam"])
    if i == 4
    else st.lists(st.sampled_from(METHOD_KEYS), min_size=1, max_size=3, unique=True).map(",".join)
)
GOOD_PARAMS = [
    "scorecam.batch_size=4", "scorecam.score=probability", "scorecam.sampled_channels=none", "scorecam.mixed_precision=false",
    "gradpp_scorecam.top_k=4", "gradpp_scorecam.combination=relu_w", "gradpp_scorecam.perturbation_size=16",
    "smoothgradcampp.n_samples=2", "smoothgradcampp.noise_level=0.1", "smoothgradcampp.seed=3",
]
PARAM_NAMES = ["batch_size", "top_k", "n_samples", "noise_level", "seed", "score", "combination", "perturbation_size",
               "sampled_channels", "mixed_precision", "model", "target_layer", "progress", "layer", "nonsense"]
PARAM_VALUES = ["1", "2", "4", "16", "0", "-3", "2.5", "nan", "inf", "1e3", "none", "true", "abc", "probability",
                "relu_w", "", "100000", "١", "9" * 30]
BAD_PARAMS = st.one_of(
    st.builds(lambda m, n, v: f"{m}.{n}={v}", st.sampled_from(METHOD_KEYS + ["fancycam"]), st.sampled_from(PARAM_NAMES), st.sampled_from(PARAM_VALUES)),
    st.sampled_from(["gradcam", "=", "gradcam.=1", ".x=1", "scorecam.batch_size"]),
)
PARAMS = st.lists(st.integers(0, 4).flatmap(lambda i: BAD_PARAMS if i == 2 else st.sampled_from(GOOD_PARAMS)), max_size=2)
SPEEDS = mostly([None, "exact", "fast", "lowres"], ["ludicrous", ""])


@dataclasses.dataclass
class Run:
    code: int
    out: str
    err: str


def tiny_backbone(*args, **kwargs) -> Backbone:
    return make_tiny_backbone()  # in place of load_model, whatever it is asked for


def prepare(folder: Path) -> None:
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8))
    photo.save(folder / "photo.png")
    photo.save(folder / f"{NON_UTF8}.png")
    (folder / "folder").mkdir()
    (folder / "notes.png").write_text("not an image\n")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {os.fsencode(path.relative_to(folder)).decode("latin-1"): path.read_bytes() if path.is_file() else b"<dir>"
            for path in sorted(folder.rglob("*"))}


def run(argv: list[str]) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setattr(camlib.cli, "load_model", tiny_backbone)


FUZZ = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}
"""Settings of both fuzz tests but the number of examples: the same examples every run, no time limit."""


METHOD_ARGUMENTS = {"layer": LAYERS, "methods": METHOD_LISTS, "params": PARAMS, "speed": SPEEDS}
"""The strategies of the arguments both commands take: --layer, --methods, --param and --speed."""


@contextlib.contextmanager
def prepared_folder() -> Iterator[Path]:
    """A fresh scratch folder for one example, with :func:`prepare`'s files in it."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        prepare(folder)
        yield folder


def with_options(argv: list[str], options: tuple[tuple[str, str | None], ...], params: list[str]) -> list[str]:
    """``argv`` with each option whose value is not None, then one ``--param`` per item of ``params``."""
    argv = list(argv)
    for name, value in options:
        if value is not None:
            argv += [name, value]
    for item in params:
        argv += ["--param", item]
    return argv


def run_checked(argv: list[str], folder: Path) -> tuple[Run, dict[str, bytes]]:
    """Run ``argv``, with no traceback; a run that does not exit 0 must exit 2 with one line on stderr and
    leave ``folder`` as it was. Returns the run and the folder's contents before it."""
    before = snapshot(folder)
    result = run(argv)
    event(f"exit {result.code}")
    assert "Traceback" not in result.err + result.out
    if result.code != 0:
        assert result.code == 2, (argv, result)
        lines = result.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("camlib: error: "), (argv, result.err)
        assert snapshot(folder) == before, (argv, result.err)
    return result, before


@settings(max_examples=EXAMPLES, **FUZZ)
@given(image=IMAGES, out=OUTPUTS, maps=MAPS, target=CLASSES, **METHOD_ARGUMENTS)
def test_explain_exits_0_with_output_or_2_with_one_line_and_nothing_written(image, out, maps, target, layer, methods, params, speed):
    with prepared_folder() as folder:
        argv = ["explain", str(folder / image) if image else "", "--methods", methods, "--out", str(folder / out) if out else ""]
        if maps is not None:
            argv += ["--save-maps", str(folder / maps)]
        argv = with_options(argv, (("--class", target), ("--layer", layer), ("--speed", speed)), params)
        result, before = run_checked(argv, folder)
        if result.code == 0:
            written = Path(result.out.split("Wrote ")[1].split(" (")[0]) if "Wrote " in result.out else None
            assert written is not None, result.out
            grid = folder / out
            with Image.open(grid) as picture:
                assert picture.size[0] >= 32 and picture.size[1] >= 32
            if maps is not None:
                with np.load(folder / maps) as archive:
                    assert archive.files
            assert (folder / "photo.png").read_bytes() == before["photo.png"]  # the input is never overwritten


EVALUATE_OUTPUTS = mostly(
    ["rows.csv", "out/new/rows.csv", f"{NON_UTF8}.csv", "rows.txt", "images/rows.csv"],
    [".", "images", "images/a.png", "images/new.jpg", "photo.png/rows.csv", "", "folder/"],
)
LIMITS = mostly([None, "1", "2", "5"], ["0", "-1", "1.5", "two", "١", ""])
SHARDS = mostly([None, "0/1", "0/2", "1/2"], ["2/2", "1/0", "half", "-1/2", ""])


@settings(max_examples=max(EXAMPLES // 2, 10), **FUZZ)
@given(out=EVALUATE_OUTPUTS, limit=LIMITS, shard=SHARDS, **METHOD_ARGUMENTS)
def test_evaluate_exits_0_with_rows_or_2_with_one_line_and_nothing_written(out, limit, shard, layer, methods, params, speed):
    with prepared_folder() as folder:
        images = folder / "images"
        images.mkdir()
        # TODO(lead): add f"{NON_UTF8}.png" here once evaluate writes its CSV through camlib.results.open_results
        # (today's loop opens the CSV as strict UTF-8 and such a name raises UnicodeEncodeError).
        for name in ("a.png", f"{NON_UTF8}.png", "c.png"):
            (images / name).write_bytes((folder / "photo.png").read_bytes())
        argv = ["evaluate", str(images), "--methods", methods, "--out", str(folder / out) if out else ""]
        argv = with_options(argv, (("--limit", limit), ("--shard", shard), ("--layer", layer), ("--speed", speed)), params)
        result, _before = run_checked(argv, folder)
        if result.code == 0:
            rows = (folder / out).read_bytes().decode("utf-8", "surrogateescape").splitlines()
            header = next(i for i, line in enumerate(rows) if line.startswith("file,"))
            assert len(rows) > header + 1, rows  # at least one row
            assert (images / "a.png").read_bytes() == (folder / "photo.png").read_bytes()


# -- pointing-game and evaluate-merge, with damaged CSVs as inputs ----------------------------------------

GOOD_CSV = (
    '# camlib-config: {"backbone": "b", "layer": "l", "params": {"gradcam": {}}, "weights": {"source": "s"}}\n'
    "file,target,method,base_score,masked_score,insertion_auc,deletion_auc,seconds,error\n"
    "a.png,1,gradcam,0.9,0.5,0.6,0.2,0.1,\nb.png,1,gradcam,0.8,0.4,0.5,0.3,0.1,\n"
)
DAMAGED_CSVS = {
    "good": GOOD_CSV,
    "cut": GOOD_CSV[:-9],
    "abc": GOOD_CSV.replace("0.9", "abc"),
    "long cell": GOOD_CSV.replace("0.9", "9" * 200_000),
    "deep config": "# camlib-config: " + "[" * 100_000 + "]" * 100_000 + "\n" + GOOD_CSV.split("\n", 1)[1],
    "params x": GOOD_CSV.replace('{"gradcam": {}}', '"x"'),
    "not json": GOOD_CSV.replace('{"backbone"', '{backbone'),
    "empty": "",
    "header only": GOOD_CSV.split("a.png")[0],
    "no score": GOOD_CSV.replace(",0.1,\n", ",,\n", 1),
    "extra field": GOOD_CSV.replace("0.1,\n", "0.1,,x\n", 1),
    "other layer": GOOD_CSV.replace('"layer": "l"', '"layer": "m"'),
    "not utf-8": GOOD_CSV.replace("a.png", "caf\udce9.png"),
    "binary": "\x00\x01\x02PK\x03\x04",
}


def write_csv(path: Path, kind: str) -> None:
    path.write_bytes(DAMAGED_CSVS[kind].encode("utf-8", "surrogateescape"))


@settings(max_examples=max(EXAMPLES // 3, 10), **FUZZ)
@given(
    kinds=st.lists(st.sampled_from(list(DAMAGED_CSVS)), min_size=1, max_size=3),
    out=mostly([None, "merged.csv", "out/new/merged.csv"], [".", "input0.csv", "photo.png/m.csv", ""]),
    common=st.booleans(),
)
def test_evaluate_merge_of_damaged_csvs_exits_0_or_2_with_one_line(kinds, out, common):
    with prepared_folder() as folder:
        inputs = []
        for index, kind in enumerate(kinds):
            write_csv(folder / f"input{index}.csv", kind)
            inputs.append(str(folder / f"input{index}.csv"))
        argv = ["evaluate-merge", *inputs] + (["--out", str(folder / out) if out else ""] if out is not None else [])
        argv += ["--common-images"] if common else []
        event("all good" if set(kinds) <= {"good", "cut", "not utf-8"} else "some damaged")
        result, _before = run_checked(argv, folder)
        if result.code == 0:
            assert "| " in result.out and set(kinds) <= {"good", "cut", "not utf-8", "other layer", "no score", "header only"}
        elif set(kinds) <= {"good", "cut", "not utf-8"}:
            raise AssertionError(f"good files refused: {result.err}")


POINTING_OUTPUTS = mostly(["p.csv", "out/new/p.csv", f"{NON_UTF8}.csv"], [".", "images", "images/red0.png", "photo.png/p.csv", ""])


@settings(max_examples=max(EXAMPLES // 4, 10), **FUZZ)
@given(
    out=POINTING_OUTPUTS,
    existing=st.sampled_from([None, None, "good", "cut", "abc", "deep config", "params x", "empty", "binary"]),
    resume=st.booleans(),
    grids=mostly([None, "1", "2"], ["0", "-1", "x"]),
    size=mostly([None, "32", "64"], ["4096", "33", "0", "16"]),
    shard=SHARDS,
    methods=mostly(["gradcam", "center", "gradcam,center", "baselines"], ["", "fancycam", "all,,"]),
)
def test_pointing_game_exits_0_with_rows_or_2_with_one_line(out, existing, resume, grids, size, shard, methods, monkeypatch):
    monkeypatch.setattr(camlib.cli, "load_model", lambda *a, **k: colour_backbone())
    with prepared_folder() as folder:
        images = colour_folder(folder / "images", copies=2)
        if existing is not None and out and not out.endswith(("/", ".")) and "png/" not in out and out != "images":
            (folder / out).parent.mkdir(parents=True, exist_ok=True)
            write_csv(folder / out, existing)
        argv = ["pointing-game", str(images), "--methods", methods, "--out", str(folder / out) if out else ""]
        argv = with_options(argv, (("--grids", grids), ("--size", size), ("--shard", shard)), [])
        argv += ["--resume"] if resume else []
        result, _before = run_checked(argv, folder)
        if result.code == 0:
            rows = (folder / out).read_bytes().decode("utf-8", "surrogateescape").splitlines()
            assert rows[0].startswith("# camlib-config: ") and rows[1].startswith("grid,")
            assert (images / "red0.png").read_bytes() != b""
