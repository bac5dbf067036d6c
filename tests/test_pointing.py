"""Grid pointing game: hand-made maps, Quantus, grid composition, a colour model end to end, the real model."""

import csv
import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import camlib.pointing as pointing_module
from camlib.backbones import BACKBONES, Backbone, imagenet_class_names
from camlib.cli import main
from camlib.dataset import list_images
from camlib.errors import InvalidParameterError
from camlib.explain import compute_map
from camlib.pointing import (
    CHANCE,
    POINTING_FIELDS,
    Grid,
    compose_grids,
    confident_images,
    energy_share,
    grid_boxes,
    grid_input,
    merge_pointing,
    pointing_game_folder,
    pointing_hit,
    pointing_markdown,
    pointing_rows,
    summarize_pointing,
)

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "black": (0, 0, 0)}
COLOUR_CLASS = {"red": 0, "green": 1, "blue": 2, "black": 3}


# -- the two scores on hand-made maps --------------------------------------------------------------


def test_energy_share_and_hit_on_hand_made_maps():
    saliency = np.array(
        [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 2.0, 0.0],
            [0.0, 0.0, 0.0, -1.0],  # negative values carry no energy
        ]
    )
    top_left, top_right, bottom_left, bottom_right = (0, 0, 2, 2), (0, 2, 2, 4), (2, 0, 4, 2), (2, 2, 4, 4)
    assert energy_share(saliency, top_left) == 0.5
    assert energy_share(saliency, bottom_right) == 0.5
    assert energy_share(saliency, top_right) == 0.0
    assert pointing_hit(saliency, bottom_right) and not pointing_hit(saliency, top_left)
    uniform = np.ones((4, 4))
    assert [energy_share(uniform, box) for box in (top_left, top_right, bottom_left, bottom_right)] == [CHANCE] * 4
    # ties: the first maximum in reading order, so a uniform map hits exactly one cell of four
    assert [pointing_hit(uniform, box) for box in (top_left, top_right, bottom_left, bottom_right)] == [True, False, False, False]
    assert energy_share(np.zeros((4, 4)), top_left) == 0.0 and not pointing_hit(np.zeros((4, 4)), top_left)
    assert energy_share(saliency, (0, 0, 4, 4)) == 1.0
    for bad in [(0, 0, 0, 2), (0, 0, 5, 2), (-1, 0, 2, 2)]:
        with pytest.raises(InvalidParameterError):
            energy_share(saliency, bad)
    with pytest.raises(InvalidParameterError):
        pointing_hit(np.full((4, 4), np.nan), top_left)


def test_grid_boxes_tile_the_grid():
    assert grid_boxes(448) == [(0, 0, 224, 224), (0, 224, 224, 448), (224, 0, 448, 224), (224, 224, 448, 448)]
    for size in (31, 33, 5000):
        with pytest.raises(InvalidParameterError):
            grid_boxes(size)


def _quantus_masks(size: int) -> np.ndarray:
    masks = np.zeros((4, 1, size, size))
    for cell, (top, left, bottom, right) in enumerate(grid_boxes(size)):
        masks[cell, 0, top:bottom, left:right] = 1
    return masks


def test_quantus_localisation_and_pointing_game_match_on_the_same_maps_and_masks():
    quantus = pytest.importorskip("quantus")
    size = 32
    generator = np.random.default_rng(0)
    blob = np.exp(-((np.arange(size)[:, None] - 9.0) ** 2 + (np.arange(size)[None, :] - 22.0) ** 2) / 40.0)
    maps = np.stack([generator.random((size, size)) ** 3, blob, generator.random((size, size)) * blob, 1.0 - blob])
    maps = np.repeat(maps[:, None], 1, axis=1)  # (N, 1, H, W)
    x = generator.random((4, 3, size, size)).astype(np.float32)
    y = np.zeros(4, dtype=int)
    masks = _quantus_masks(size)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * size * size, 2)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in range(4):
            cell_masks = np.repeat(masks[cell : cell + 1], 4, axis=0)
            localisation = quantus.AttributionLocalisation(abs=False, normalise=False, disable_warnings=True)(
                model=model, x_batch=x, y_batch=y, a_batch=maps, s_batch=cell_masks, device="cpu"
            )
            game = quantus.PointingGame(abs=False, normalise=False, disable_warnings=True)(
                model=model, x_batch=x, y_batch=y, a_batch=maps, s_batch=cell_masks, device="cpu"
            )
            box = grid_boxes(size)[cell]
            for index in range(4):
                assert energy_share(maps[index, 0], box) == pytest.approx(localisation[index], abs=1e-7)  # Quantus adds 1e-9
                assert pointing_hit(maps[index, 0], box) == bool(game[index])  # every map here has a unique maximum
            # negative control: the energy share of the wrong cell (the one diagonally opposite) is not Quantus's
            wrong_box = grid_boxes(size)[3 - cell]
            assert any(abs(energy_share(maps[index, 0], wrong_box) - localisation[index]) > 1e-3 for index in range(4))
            # where they differ by design: Quantus counts a tied maximum in every cell that holds one,
            # camlib the first in reading order. Here (5, 20) in cell 1 and (20, 5) in cell 2 tie.
            tied = generator.random((size, size)) * 0.5
            tied[5, 20] = tied[20, 5] = 1.0
            tie = quantus.PointingGame(abs=False, normalise=False, disable_warnings=True)(
                model=model, x_batch=x[:1], y_batch=y[:1], a_batch=tied[None, None], s_batch=cell_masks[:1], device="cpu"
            )
            assert bool(tie[0]) == (cell in (1, 2)) and pointing_hit(tied, box) == (cell == 1)


# -- which images, which grids ----------------------------------------------------------------------


def test_composition_is_deterministic_with_four_classes_per_grid_and_reuse_only_when_needed():
    candidates = [(Path(f"img{i:02d}.png"), i % 6) for i in range(24)]
    grids = compose_grids(candidates, 6, seed=3)
    assert grids == compose_grids(list(reversed(candidates)), 6, seed=3)  # order of the candidates does not matter
    assert grids != compose_grids(candidates, 6, seed=4)
    assert [grid.index for grid in grids] == list(range(6))
    for grid in grids:
        assert len(set(grid.classes)) == 4 and len(grid.files) == 4
        assert all(dict(candidates)[path] == cls for path, cls in zip(grid.files, grid.classes))
    first_pass = [path for grid in grids for path in grid.files]
    assert len(first_pass) == len(set(first_pass)) == 24  # 24 images, 6 grids: every image exactly once
    more = compose_grids(candidates, 20, seed=3)
    assert more[:6] == grids
    uses = np.bincount([int(path.stem[3:]) for grid in more for path in grid.files])
    assert uses.max() - uses.min() <= 2  # reuse spreads evenly over the passes
    with pytest.raises(InvalidParameterError, match="four different classes"):
        compose_grids([(Path(f"{i}.png"), i % 3) for i in range(10)], 1)
    with pytest.raises(InvalidParameterError):
        compose_grids(candidates, 0)


# -- a colour model: a class per colour, so the right answer is known --------------------------------


class ColourNet(nn.Module):
    """``features`` copies the (normalised) image, ReLU keeps the bright channels, and the classifier
    reads the mean colour: red -> 0, green -> 1, blue -> 2, nothing bright -> 3 (a bias)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Conv2d(3, 3, 3, padding=1, bias=False)
        self.act = nn.ReLU()
        self.fc = nn.Linear(3, 5)
        with torch.no_grad():
            self.features.weight.zero_()
            for channel in range(3):
                self.features.weight[channel, channel, 1, 1] = 1.0
            self.fc.weight.zero_()
            self.fc.bias.zero_()
            for channel in range(3):
                self.fc.weight[channel, channel] = 10.0
            self.fc.bias[3] = 5.0
            self.fc.bias[4] = -5.0

    def forward(self, x):
        return self.fc(self.act(self.features(x)).mean(dim=(2, 3)))


@pytest.fixture()
def colour_backbone() -> Backbone:
    spec = dataclasses.replace(
        BACKBONES["efficientnet_lite0"], input_size=32, default_layer="features", cam_layer="features", cam_classifier="fc"
    )
    return Backbone(spec=spec, model=ColourNet().eval(), device=torch.device("cpu"), class_names=imagenet_class_names()[:5])


@pytest.fixture()
def colour_folder(tmp_path) -> Path:
    """Three images of each colour, wide so the centre crop matters: their outer thirds are grey."""
    folder = tmp_path / "colours"
    folder.mkdir()
    for colour, rgb in COLOURS.items():
        for copy in range(3):
            picture = np.full((40, 120, 3), 128, dtype=np.uint8)
            picture[:, 40:80] = rgb
            Image.fromarray(picture).save(folder / f"{colour}{copy}.png")
    return folder


def read_csv(path):
    from camlib.results import read_results_file

    return read_results_file(path).rows  # past the camlib-config line


def test_confident_images_and_grid_input_use_the_centre_square(colour_backbone, colour_folder):
    files = sorted(colour_folder.iterdir())
    kept = confident_images(colour_backbone, files, min_probability=0.9)
    assert kept == [(path, COLOUR_CLASS[path.stem[:-1]]) for path in files]  # grey borders cropped away
    assert confident_images(colour_backbone, files, label_of=lambda path: 0) == [(p, 0) for p in files if p.stem.startswith("red")]
    grid = Grid(index=0, files=tuple(colour_folder / f"{c}0.png" for c in COLOURS), classes=(0, 1, 2, 3))
    inputs, boxes = grid_input(colour_backbone, grid, size=64)
    assert inputs.shape == (1, 3, 64, 64) and boxes == grid_boxes(64)
    for (top, left, bottom, right), rgb in zip(boxes, COLOURS.values()):
        cell = inputs[0, :, top:bottom, left:right]
        expected = (torch.tensor(rgb, dtype=torch.float32) / 255 - 0.5) / 0.5
        assert torch.allclose(cell, expected[:, None, None].expand_as(cell))


def test_rows_score_gradcam_on_the_right_cell_and_batching_changes_nothing(colour_backbone, colour_folder):
    grid = Grid(index=7, files=tuple(colour_folder / f"{c}1.png" for c in COLOURS), classes=(0, 1, 2, 3))
    inputs, boxes = grid_input(colour_backbone, grid, size=32)
    rows = pointing_rows(colour_backbone, grid, inputs, boxes, ["gradcam", "gradcampp", "uniform", "center"])
    assert [set(row) for row in rows] == [set(POINTING_FIELDS)] * 16
    by = {(row["method"], row["cell"]): row for row in rows}
    for cell in range(3):  # the map of a colour's class is that colour's channel: all of it in its cell
        assert float(by["gradcam", cell]["energy_share"]) == pytest.approx(1.0)
        assert by["gradcam", cell]["hit"] == "1" and by["gradcam", cell]["grid"] == 7
    # class 3 is a bias: no gradient, an all-zero map, no energy and no hit
    assert by["gradcam", 3]["energy_share"] == "0.000000" and by["gradcam", 3]["hit"] == "0"
    assert [float(by["uniform", cell]["energy_share"]) for cell in range(4)] == [CHANCE] * 4
    assert [float(by["center", cell]["energy_share"]) for cell in range(4)] == pytest.approx([CHANCE] * 4)
    for cell, target in enumerate(grid.classes):  # one batch of four gives the maps of four single calls
        single = compute_map("gradcampp", colour_backbone, inputs, target)
        assert float(by["gradcampp", cell]["energy_share"]) == pytest.approx(energy_share(single, boxes[cell]), abs=1e-6)
    failing = pointing_rows(colour_backbone, grid, inputs, boxes, ["gradcam"], layer="fc")
    assert all(row["error"] and row["energy_share"] == "" for row in failing)


def test_folder_run_resumes_shards_merges_and_refuses_other_grids(colour_backbone, colour_folder, tmp_path, monkeypatch):
    methods = ["gradcam", "uniform"]
    options = {"methods": methods, "grids": 3, "size": 32, "seed": 1}
    whole = tmp_path / "whole.csv"
    summaries = pointing_game_folder(colour_backbone, colour_folder, out=whole, **options)
    rows = read_csv(whole)
    assert len(rows) == 3 * 4 * len(methods)
    gradcam = next(s for s in summaries if s.method == "gradcam")
    assert gradcam.energy_share == pytest.approx(0.75) and gradcam.hit_rate == pytest.approx(0.75)  # black cells score 0
    uniform = next(s for s in summaries if s.method == "uniform")
    assert uniform.energy_share == pytest.approx(CHANCE) and uniform.hit_rate == pytest.approx(CHANCE)
    assert "| chance (2×2 grid) | 0.250 | 0.250 |" in pointing_markdown(summaries)

    interrupted = tmp_path / "resumed.csv"

    def stop_after_one(done, total, item):
        if item == "grid 0":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pointing_game_folder(colour_backbone, colour_folder, out=interrupted, progress=stop_after_one, **options)
    assert len(read_csv(interrupted)) == 4 * len(methods)
    computed = []
    original = pointing_module.pointing_rows

    def counting(backbone, grid, *args, **kwargs):
        computed.append(grid.index)
        return original(backbone, grid, *args, **kwargs)

    monkeypatch.setattr(pointing_module, "pointing_rows", counting)
    pointing_game_folder(colour_backbone, colour_folder, out=interrupted, resume=True, **options)
    monkeypatch.undo()
    assert computed == [1, 2]
    key = lambda row: (row["grid"], row["cell"], row["method"])
    assert sorted(map(key, read_csv(interrupted))) == sorted(map(key, rows))

    shards = [tmp_path / f"shard{i}.csv" for i in range(2)]
    for i, path in enumerate(shards):
        pointing_game_folder(colour_backbone, colour_folder, out=path, shard=(i, 2), **options)
    assert {row["grid"] for row in read_csv(shards[1])} == {"1"}
    merged = tmp_path / "merged.csv"
    scores = lambda summaries: [(s.method, s.cells, s.energy_share, s.hit_rate) for s in summaries]
    assert scores(merge_pointing(shards, merged)) == scores(summarize_pointing(rows))
    assert sorted(map(key, read_csv(merged))) == sorted(map(key, rows))

    with pytest.raises(InvalidParameterError, match=r"another configuration \(seed 1 there, 2 in this run\)"):
        pointing_game_folder(colour_backbone, colour_folder, out=whole, resume=True, **{**options, "seed": 2})
    # another model (here: the same network described as a model brought by the user) is refused too
    brought = dataclasses.replace(colour_backbone, spec=dataclasses.replace(colour_backbone.spec, builtin=False, key="timm:other"))
    with pytest.raises(InvalidParameterError, match="another configuration"):
        pointing_game_folder(brought, colour_folder, out=whole, resume=True, **options)
    with pytest.raises(InvalidParameterError, match="another configuration"):
        merge_pointing([whole, tmp_path / "brought.csv"] if pointing_game_folder(brought, colour_folder, out=tmp_path / "brought.csv", **options) else [])
    with pytest.raises(InvalidParameterError):
        pointing_game_folder(colour_backbone, colour_folder, out=whole, shard=(2, 2), **options)
    with pytest.raises(InvalidParameterError, match="grids"):
        pointing_game_folder(colour_backbone, colour_folder, out=whole, **{**options, "grids": 0})


def test_halves_compose_grids_only_from_their_own_images(colour_backbone, colour_folder, tmp_path):
    out = tmp_path / "tuning.csv"
    pointing_game_folder(colour_backbone, colour_folder, methods=["uniform"], out=out, grids=2, size=32, half="tuning")
    tuning = {path.name for path in list_images(colour_folder, half="tuning")}
    assert {row["file"] for row in read_csv(out)} <= tuning


# -- the real model on real photos -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_subset(shared_dir, tmp_path_factory) -> Path:
    """Links to the first 40 photos of the shared sample and its labels (its tuning half is the
    sample's tuning half), so that classifying the candidates stays quick."""
    sample = shared_dir / "imagenet-sample"
    folder = tmp_path_factory.mktemp("sample")
    for path in sorted(sample.glob("*.JPEG"))[:40] + [sample / "labels.csv"]:
        (folder / path.name).symlink_to(path)
    return folder


def test_real_gradcam_points_better_than_chance(effnet, sample_subset, tmp_path):
    folder = sample_subset
    out = tmp_path / "pointing.csv"
    summaries = pointing_game_folder(effnet, folder, methods=["gradcam", "uniform"], out=out, grids=2, half="tuning")
    by = {s.method: s for s in summaries}
    assert by["gradcam"].cells == 8
    assert by["gradcam"].energy_share > CHANCE
    assert by["uniform"].energy_share == pytest.approx(CHANCE)
    files = {row["file"] for row in read_csv(out)}
    tuning = {path.name for path in list_images(folder, half="tuning")}
    assert files <= tuning


def test_cli_pointing_game_prints_a_table_and_fails_in_one_line(sample_subset, tmp_path, capsys):
    out = tmp_path / "cli.csv"
    args = ["pointing-game", str(sample_subset), "--grids", "1", "--methods", "gradcam,center"]
    assert main([*args, "--half", "tuning", "--out", str(out), "--offline"]) == 0
    printed = capsys.readouterr().out
    assert "| Grad-CAM |" in printed and "chance" in printed
    assert len(read_csv(out)) == 8
    assert main([*args, "--size", "33", "--out", str(out)]) == 2
    assert main(["pointing-game", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert main([*args, "--methods", "nosuch", "--out", str(out)]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("camlib: error: ") for line in errors)
