"""The added methods are everywhere a method is: the registry (keys, families, papers, costs), the method
lists of the CLI, ``evaluate`` and the pointing game (``all`` the paper's six, ``every`` all fifteen), the
checked parameters, the pointing game on a model whose right answer is known, the randomisation check,
and the CLI's ``explain`` on the real EfficientNet-Lite0."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
import torch
from conftest import CHEAP_METHOD_PARAMS, make_tiny_backbone, make_tiny_gap_net
from test_pointing import colour_backbone, colour_folder  # noqa: F401 - fixtures: a model whose answer is known

from camlib.cli import main
from camlib.errors import InvalidParameterError, UnknownMethodError
from camlib.evaluate import parse_evaluation_list
from camlib.methods import FAMILIES, METHODS, PAPER_METHODS, parse_method_list
from camlib.methods.registry import validate_method_params
from camlib.pointing import Grid, grid_input, pointing_rows
from camlib.sanity import RandomisationCheck

ADDED = {
    "hirescam": "gradient", "xgradcam": "gradient", "layercam": "gradient", "eigencam": "activation / score",
    "sscam": "activation / score", "iscam": "activation / score", "groupcam": "activation / score",
    "ablationcam": "perturbation", "reciprocam": "perturbation",
}  # fmt: skip


def test_registry_has_the_fifteen_with_families_papers_and_costs():
    assert set(METHODS) == set(PAPER_METHODS) | set(ADDED) and len(METHODS) == 15
    for key, info in METHODS.items():
        assert info.key == key == info.method_class.key and info.family in FAMILIES
        if key in ADDED:
            assert info.family == ADDED[key], key
            doc = inspect.getdoc(info.method_class)
            paper_id = info.paper_url.rsplit("/", 1)[-1]
            assert paper_id in doc and "Cost" in doc and "Left open" in doc or "No choice is left open" in doc, key


def test_all_means_the_six_and_every_means_all_fifteen():
    assert parse_method_list("all") == list(PAPER_METHODS)
    assert parse_method_list("every") == list(METHODS)
    assert parse_method_list("all, hirescam, gradcam") == [*PAPER_METHODS, "hirescam"]
    assert parse_evaluation_list("every,baselines") == [*METHODS, "center", "uniform", "random"]
    assert parse_evaluation_list("all") == list(PAPER_METHODS)
    for text in ("everything", "hirescam,nosuch"):  # planted: a name that is not a method or a group
        with pytest.raises(UnknownMethodError):
            parse_method_list(text)


@pytest.mark.parametrize(
    ("key", "name", "value", "expected"),
    [("sscam", "n_samples", "3", 3), ("sscam", "noise_std", "0.5", 0.5), ("iscam", "path", "linear", "linear"),
     ("reciprocam", "kernel", "gaussian", "gaussian"), ("groupcam", "percentile", "50", 50.0),
     ("ablationcam", "batch_size", "16", 16), ("eigencam", "centred", "false", False)],
)  # fmt: skip
def test_parameters_of_the_added_methods_are_checked(key, name, value, expected):
    assert validate_method_params(key, {name: value}, from_text=True) == {name: expected}


@pytest.mark.parametrize(
    ("key", "params"),
    [("sscam", {"n_samples": 0}), ("sscam", {"noise_std": float("nan")}), ("iscam", {"path": "curved"}),
     ("reciprocam", {"kernel": "box"}), ("groupcam", {"percentile": 100.0}), ("groupcam", {"groups": 0}),
     ("ablationcam", {"perturbation_size": 64}), ("hirescam", {"batch_size": 4})],
)  # fmt: skip
def test_bad_parameters_of_the_added_methods_fail_in_one_error(key, params):
    with pytest.raises(InvalidParameterError):
        validate_method_params(key, params)
    unknown = not set(params) <= set(inspect.signature(METHODS[key].method_class).parameters)
    with pytest.raises(TypeError if unknown else InvalidParameterError):  # a wrong name is Python's error, as for the six
        METHODS[key].method_class(make_tiny_gap_net(), "act2", **params)


def test_pointing_game_on_the_colour_model(colour_backbone, colour_folder):  # noqa: F811
    """ColourNet's class c is its channel c: at ``act`` (after the ReLU) the class-discriminative methods
    put all (gradient, ablation, Group-CAM) or most of the map in the cell of that colour. Eigen-CAM, which
    ignores the class, cannot hit all three cells: the check can fail. (At ``features``, before the ReLU,
    each channel sums to a negative number over the grid and XGrad-CAM's weights change sign, as its paper's
    assumption of non-negative activations warns: it hits no cell there.)"""
    files = tuple(colour_folder / f"{colour}0.png" for colour in ("red", "green", "blue", "black"))
    grid = Grid(index=0, files=files, classes=(0, 1, 2, 3))
    inputs, boxes = grid_input(colour_backbone, grid, size=32)
    keys = [key for key in ADDED]
    params = {key: CHEAP_METHOD_PARAMS.get(key, {}) for key in keys}
    rows = pointing_rows(colour_backbone, grid, inputs, boxes, keys, layer="act", params=params)
    by = {(row["method"], row["cell"]): row for row in rows}
    assert not any(row["error"] for row in rows)
    for key in keys:
        hits = [by[key, cell]["hit"] == "1" for cell in range(3)]
        assert all(hits) == (key != "eigencam"), key
        if key in ("hirescam", "xgradcam", "layercam", "ablationcam", "groupcam"):
            assert [float(by[key, cell]["energy_share"]) for cell in range(3)] == pytest.approx([1.0] * 3, abs=1e-6), key


@pytest.mark.parametrize("key", sorted(ADDED))
def test_randomisation_check_runs_for_the_added_methods(key):
    backbone = make_tiny_backbone(make_tiny_gap_net(seed=4))
    inputs = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    from camlib.explain import compute_map

    params = CHEAP_METHOD_PARAMS.get(key, {})
    saliency = compute_map(key, backbone, inputs, 1, params=params)
    scores = RandomisationCheck(backbone, seed=0).scores(key, saliency, inputs, 1, params=params)
    assert len(scores) == 6 and all(-1.0 <= value <= 1.0 for value in scores.values()), scores


def test_cli_explains_with_added_methods_and_refuses_bad_ones(chelsea_png, tmp_path, capsys):
    out = tmp_path / "grid.png"
    args = ["explain", str(chelsea_png), "--out", str(out), "--offline"]
    assert main([*args, "--methods", "hirescam,eigencam,reciprocam", "--save-maps", str(tmp_path / "maps.npz")]) == 0
    with np.load(tmp_path / "maps.npz") as maps:
        assert {"hirescam", "eigencam", "reciprocam"} <= {re.sub(r"\W.*", "", name) for name in maps.files}
    assert main([*args, "--methods", "hirescam,nosuch"]) == 2
    assert main([*args, "--methods", "sscam", "--param", "sscam.n_samples=0"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("camlib: error: ") for line in errors)


@pytest.mark.parametrize("key", ["sscam", "iscam"])
def test_smoothed_score_methods_take_the_fast_idea_and_run_the_passes_they_say(key):
    """Per image, 1 forward pass, then per sample a baseline pass and 1 masked pass per measured channel:
    all 16 channels, or ``sampled_channels`` of them (the others predicted; measured in two rounds, each
    with its baseline pass, as Score-CAM's fast setting). Counted as rows through the model."""
    model = make_tiny_gap_net(seed=21, channels=16)
    rows = []
    handle = model.register_forward_pre_hook(lambda _module, args: rows.append(len(args[0])))
    inputs = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(22))
    try:
        for sampled, measured, baselines in ((None, 16, 1), (6, 6, 2)):
            rows.clear()
            method = METHODS[key].method_class(model, "features", n_samples=2, sampled_channels=sampled, batch_size=4)
            maps = method(inputs, [1])
            assert sum(rows) == 1 + 2 * (baselines + measured), (sampled, rows)
            assert maps.shape == (1, 16, 16) and np.isfinite(maps).all()
    finally:
        handle.remove()


def test_feature_passes_leave_score_cams_batch_size_alone():
    """Ablation-CAM's and Recipro-CAM's passes (only the layers after the target layer) neither time batch
    sizes nor remember one for the model, which would change Score-CAM's later passes; Score-CAM's own
    passes do remember theirs (the check can see it)."""
    from camlib.methods.batch_sizing import remembered_batch_size

    model = make_tiny_gap_net(seed=23, channels=48)
    inputs = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(24))
    key = ("cpu", (3, 16, 16))
    METHODS["ablationcam"].method_class(model, "act2")(inputs, [0])
    METHODS["reciprocam"].method_class(model, "act2")(inputs, [0])
    assert remembered_batch_size(model, key) is None
    METHODS["scorecam"].method_class(model, "features")(inputs, [0])
    assert remembered_batch_size(model, key) is not None
