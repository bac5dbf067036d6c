"""Your own model on the command line: ``--model``, ``--weights``, ``--classes``, ``--models-file``,
``camlib layers``, and ``evaluate`` with a 7-class timm ResNet-18 made here with random weights."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from safetensors.torch import save_file

from camlib.backbones import load_model
from camlib.backbones.config import read_models_file
from camlib.cli import main
from camlib.errors import InvalidParameterError
from camlib.methods import GradCAM

CLASSES = ["cat", "dog", "bird", "fish", "horse", "cow", "sheep"]


@pytest.fixture(scope="module")
def kit(tmp_path_factory, chelsea_png):
    folder = tmp_path_factory.mktemp("kit")
    torch.manual_seed(0)
    state = timm.create_model("resnet18", num_classes=7).state_dict()
    torch.save(state, folder / "r18.pth")
    save_file({key: value.contiguous() for key, value in state.items()}, folder / "r18.safetensors")
    (folder / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    (folder / "chelsea.png").write_bytes(chelsea_png.read_bytes())
    images = folder / "images"
    images.mkdir()
    for index, colour in enumerate([(200, 30, 30), (30, 200, 30)]):
        Image.new("RGB", (80, 64), colour).save(images / f"{index}.png")
    return folder


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def model_args(kit, weights="r18.pth"):
    return ["--model", "timm:resnet18", "--weights", kit / weights, "--classes", kit / "classes.txt"]


@pytest.mark.parametrize("weights", ["r18.pth", "r18.safetensors"])
def test_explain_with_your_own_model(kit, capsys, tmp_path, weights):
    code, out, err = run(
        capsys, "explain", kit / "chelsea.png", *model_args(kit, weights), "--methods", "gradcam,cam",
        "--out", tmp_path / "grid.png", "--save-maps", tmp_path / "maps.npz",
    )  # fmt: skip
    assert code == 0, err
    assert "Top-5 predictions (resnet18 (timm))" in out and "at layer layer4" in out
    top = [line.split() for line in out.splitlines() if line.startswith("  ") and "%" in line]
    assert len(top) == 5 and all(row[1] in CLASSES for row in top)
    # the CLI's map is the library's for the same model, class and layer
    backbone = load_model("timm:resnet18", weights=kit / weights, classes=kit / "classes.txt", device="cpu")
    with Image.open(kit / "chelsea.png") as image:
        inputs = backbone.preprocess(image)
    target = backbone.class_index(top[0][1])
    with np.load(tmp_path / "maps.npz") as maps:
        np.testing.assert_allclose(maps["gradcam"], GradCAM(backbone.model, "layer4")(inputs, [target])[0], atol=1e-4)


def test_layers_lists_shapes_and_marks_the_default(kit, capsys):
    code, out, err = run(capsys, "layers", *model_args(kit))
    assert code == 0, err
    assert out.splitlines()[0] == "resnet18 (timm): 7 classes, input 224×224, weights from r18.pth"
    marked = [line for line in out.splitlines() if line.startswith("*")]
    assert marked == ["* layer4                                   (1, 512, 7, 7)"]
    assert "  layer3                                   (1, 256, 14, 14)" in out
    assert "CAM: layer layer4, classifier fc" in out


@pytest.mark.slow  # over 2 s on the idle 2-core machine
def test_evaluate_with_your_own_model_records_it_and_refuses_another_on_resume(kit, capsys, tmp_path):
    out_csv = tmp_path / "results.csv"
    common = ["evaluate", kit / "images", "--methods", "gradcam,center", "--limit", "1", "--metrics", "basic", "--out", out_csv]
    code, out, err = run(capsys, *common, *model_args(kit))
    assert code == 0, err
    config_line = out_csv.read_text().splitlines()[0]
    assert '"architecture": "timm:resnet18"' in config_line and '"classes": 7' in config_line
    rows = [row for row in csv.DictReader(out_csv.read_text().splitlines()[1:]) if row["method"] == "gradcam"]
    assert len(rows) == 1 and not rows[0]["error"]
    # resuming with other class names (another model) is refused
    other = tmp_path / "other.txt"
    other.write_text("\n".join(name.upper() for name in CLASSES))
    other_args = ["--model", "timm:resnet18", "--weights", kit / "r18.pth", "--classes", other]
    code, _, err = run(capsys, *common, "--resume", *other_args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "class_names_sha256" in err, err


def test_labels_by_class_name(kit, capsys, tmp_path):
    """labels.csv may name classes: resolved with the model's names (exact, else any case), never by
    substring; a class_index beside it wins (ImageNet's labels.csv carries both)."""
    from camlib.dataset import LabelLookup

    folder = kit / "images"
    (folder / "labels.csv").write_text("file,class_index,class_name\n0.png,,fish\n1.png,,Dog\n")
    try:
        lookup = LabelLookup(folder, None, classes=CLASSES)
        assert [lookup(folder / name) for name in ("0.png", "1.png")] == [3, 1]
        (folder / "labels.csv").write_text("file,class_index,class_name\n0.png,5,fish\n1.png,,do\n")
        with pytest.raises(InvalidParameterError, match="class_name 'do' is not one of the model's classes"):
            LabelLookup(folder, None, classes=CLASSES)
        (folder / "labels.csv").write_text("file,class_name\n0.png,unicorn\n1.png,dog\n")
        code, _, err = run(
            capsys, "evaluate", folder, "--methods", "center", "--target", "label", "--out", tmp_path / "out.csv", *model_args(kit)
        )  # fmt: skip
        assert code == 2 and "'unicorn' is not one of the model's classes" in err and not (tmp_path / "out.csv").exists()
    finally:
        (folder / "labels.csv").unlink()


BAD = {
    "weights of another architecture": (["--model", "timm:resnet34", "--weights", "r18.pth"], "does not fit"),
    "classes of the wrong length": (["--model", "timm:resnet18", "--weights", "r18.pth", "--classes", "six.txt"], "has 6 names"),
    "layer without a spatial output": (["--model", "timm:resnet18", "--weights", "r18.pth", "--layer", "fc"], "not a spatial map"),
    "factory that raises": (["--model", "model_factories:raises"], "could not find its config"),
    "model refusing its input size": (["--model", "model_factories:only_64"], "refuses a 224×224 input"),
    "model outputting NaN": (["--model", "model_factories:nan_output"], "NaN"),
    "model and backbone both": (["--model", "timm:resnet18", "--backbone", "vgg16"], "not both"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_models_exit_2_with_one_line(kit, capsys, tmp_path, case):
    (kit / "six.txt").write_text("\n".join(CLASSES[:6]))
    args, message = BAD[case]
    args = [kit / arg if arg.endswith((".pth", ".txt")) else arg for arg in args]
    code, _, err = run(capsys, "explain", kit / "chelsea.png", *args, "--methods", "gradcam", "--out", tmp_path / "grid.png")
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "grid.png").exists()


def test_models_file_names_a_model(kit, capsys, tmp_path, monkeypatch):
    toml = tmp_path / "models.toml"
    toml.write_text(
        f'[models.pets]\narchitecture = "timm:resnet18"\nweights = "{kit / "r18.safetensors"}"\n'
        'classes = "classes.txt"\ndisplay_name = "Pets (ResNet-18)"\nlayer = "layer3"\ninput_size = 160\n'
        "mean = [0.5, 0.5, 0.5]\nstd = [0.5, 0.5, 0.5]\n"
    )
    (tmp_path / "classes.txt").write_text("\n".join(CLASSES))  # relative to the TOML file's folder
    spec = read_models_file(toml)["pets"]
    assert spec.classes == tmp_path / "classes.txt" and spec.input_size == 160
    code, out, err = run(capsys, "layers", "--model", "pets", "--models-file", toml)
    assert code == 0, err
    assert out.startswith("Pets (ResNet-18): 7 classes, input 160×160") and "* layer3 " in out
    monkeypatch.setenv("CAMLIB_MODELS", str(toml))  # the environment variable instead of the option
    assert load_model("pets", device="cpu").spec.mean == (0.5, 0.5, 0.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[models.a]\narchitecture = "timm:resnet18"\nlayers = "x"\n', "unknown key"),
        ('[models.resnet50]\narchitecture = "timm:resnet50"\n', "built-in"),
        ('[models.a]\nweights = "a.pth"\n', "needs architecture"),
        ('[models.a]\narchitecture = "timm:resnet18"\ninput_size = 5000\n', "input_size"),
        ("[models.a\n", "not valid TOML"),
    ],
)
def test_bad_models_files_are_refused_in_one_line(tmp_path, text, message):
    toml = tmp_path / "models.toml"
    toml.write_text(text)
    with pytest.raises(InvalidParameterError, match=message) as raised:
        read_models_file(toml)
    assert "\n" not in str(raised.value)
