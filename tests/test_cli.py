"""The command line, run as users run it: ``python -m camlib`` in a subprocess, offline.

Each subprocess pays for importing torch, so the cases are few. Errors must exit with code 2 and print
exactly one line on stderr (no traceback).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

import camlib
import camlib.cli
from camlib.backbones import model_input_size
from camlib.methods import GradCAM
from camlib.overlays import GAP, grid_size


def run_cli(*args: str, cwd, torch_home) -> subprocess.CompletedProcess:
    # PYTHONPATH: the checkout's camlib, not an installed one (the subprocess runs in a temporary folder)
    repo_root = str(Path(camlib.__file__).resolve().parents[1])
    env = {**os.environ, "CAMLIB_OFFLINE": "1", "TORCH_HOME": str(torch_home), "PYTHONPATH": repo_root}
    return subprocess.run(
        [sys.executable, "-m", "camlib", *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def workdir(tmp_path, chelsea_png):
    (tmp_path / "chelsea.png").write_bytes(chelsea_png.read_bytes())
    return tmp_path


@pytest.mark.slow  # a Python process that imports torch and runs three methods: 16 s on the shared machine
def test_explain_writes_grid_and_maps(workdir, effnet, chelsea_image):
    result = run_cli(
        "explain", "chelsea.png", "--methods", "cam,gradcam,gradcampp", "--out", "grid.png", "--save-maps", "maps.npz",
        cwd=workdir, torch_home=workdir / "torch_home",
    )
    assert result.returncode == 0, result.stderr
    assert "Egyptian cat" in result.stdout  # the top-1 class is printed

    with Image.open(workdir / "grid.png") as picture:
        width, height = picture.size
        assert picture.mode == "RGB"
    map_width = model_input_size(*chelsea_image.size)[0]  # 451 × 300 keeps its shape: 337 × 224
    assert (height, width) == (grid_size(4, 224)[0], 4 * map_width + 5 * GAP)  # the input and three maps

    with np.load(workdir / "maps.npz") as archive:
        maps = {key: archive[key] for key in archive.files}
    assert set(maps) == {"cam", "gradcam", "gradcampp"}
    for key, saliency in maps.items():
        assert saliency.shape == (224, map_width), key
        assert saliency.dtype == np.float32, key
        assert 0.0 <= saliency.min() and saliency.max() <= 1.0 and saliency.max() > 0.5, key
    # The CLI's Grad-CAM map is the library's, for the top-1 class at the default layer.
    inputs = effnet.preprocess(chelsea_image)
    top1 = effnet.top_predictions(inputs, k=1)[0][0]
    expected = GradCAM(effnet.model, effnet.spec.default_layer)(inputs, [top1])[0]
    np.testing.assert_allclose(maps["gradcam"], expected, atol=1e-4)


def test_version(capsys):
    assert camlib.cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"camlib {camlib.__version__}"


@pytest.fixture
def zero_vgg16_weights(workdir):
    """A VGG16 state dict of zeros: every tensor is a view of one stored zero, so the file is tiny."""
    with torch.device("meta"):
        shapes = {key: value.shape for key, value in torchvision.models.vgg16(weights=None).state_dict().items()}
    path = workdir / "vgg16_zeros.pth"
    torch.save({key: torch.zeros(()).expand(shape) for key, shape in shapes.items()}, path)
    return path


BAD_INPUTS = {
    "missing file": (["explain", "absent.png"], "absent.png"),
    "text named .png": (["explain", "notes.png"], "notes.png"),
    "unknown class": (["explain", "chelsea.png", "--methods", "gradcam", "--class", "no such animal"], "no such animal"),
    "unknown layer": (["explain", "chelsea.png", "--methods", "gradcam", "--layer", "blocks.99"], "blocks.99"),
    "cam on vgg16": (["explain", "chelsea.png", "--backbone", "vgg16", "--weights", "vgg16_zeros.pth", "--methods", "cam"], "global average pooling"),
    "unknown method": (["explain", "chelsea.png", "--methods", "gradcam,fancycam"], "fancycam"),
}
IN_A_SUBPROCESS = ("unknown class",)
"""Each subprocess imports torch and loads a model (seconds): one case shows the real process's exit code and
stderr; every case also runs in-process through ``camlib.cli.main``."""


def assert_one_error_line(code: int, stdout: str, stderr: str, mentioned: str) -> None:
    assert code == 2, (stdout, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("camlib: error: ")
    assert mentioned in lines[0]
    assert "Traceback" not in stdout


@pytest.mark.slow  # a Python process that imports torch: 3-9 s each on the shared machine
@pytest.mark.parametrize("case", IN_A_SUBPROCESS)
def test_bad_input_exits_2_with_one_line(case, workdir, zero_vgg16_weights):
    (workdir / "notes.png").write_text("this is not an image\n")
    args, mentioned = BAD_INPUTS[case]
    result = run_cli(*args, "--out", "grid.png", cwd=workdir, torch_home=workdir / "torch_home")
    assert_one_error_line(result.returncode, result.stdout, result.stderr, mentioned)


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_returns_2_with_one_line_in_process(case, workdir, zero_vgg16_weights, monkeypatch, capsys):
    from camlib.cli import main

    (workdir / "notes.png").write_text("this is not an image\n")
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("TORCH_HOME", str(workdir / "torch_home"))
    args, mentioned = BAD_INPUTS[case]
    code = main([*args, "--out", "grid.png"])
    captured = capsys.readouterr()
    assert_one_error_line(code, captured.out, captured.err, mentioned)
    assert not (workdir / "grid.png").exists()


def test_cli_says_when_only_the_first_frame_of_an_animation_is_used(tmp_path, capsys):
    from image_samples import two_frames

    from camlib.cli import main

    gif = tmp_path / "animated.gif"
    gif.write_bytes(two_frames("GIF", size=(64, 64)))
    assert main(["explain", str(gif), "--methods", "gradcam", "--out", str(tmp_path / "grid.png")]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Note:")]
    assert notes and "first" in notes[0]
