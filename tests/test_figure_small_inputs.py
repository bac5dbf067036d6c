"""A model trained on small pictures (the example ``digits`` model sees 32 × 32) gives a readable figure.

``camlib explain --out`` and the app's grid download write :meth:`Explanation.grid`; before tiles were
enlarged for display, the digits model's grid was 148 × 68 pixels with its titles cut to "Inpu" and "Sco".
Each check runs beside a planted error it must catch: the enlargement switched off, a figure whose tiles
are too narrow for their titles.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from camlib import publication_figures as figure_module
from camlib import overlays as render
from camlib.backbones import Backbone, BackboneSpec
from camlib.examples import digits as ex
from camlib.explain import explain
from camlib.publication_figures import FigureRow, draw_figure, figure_bytes

TITLES = ("Input: eight", "Grad-CAM++ 0.02s", "Score-CAM 0.19s", "CAM 0.00s")
SMALL = 32


def small_tiles(size: tuple[int, int] = (SMALL, SMALL)) -> list[tuple[str, np.ndarray]]:
    generator = np.random.default_rng(0)
    return [(title, generator.integers(0, 256, (*size, 3), dtype=np.uint8)) for title in TITLES]


def check_readable_grid(picture: np.ndarray, tiles: list[tuple[str, np.ndarray]]) -> None:
    """Every tile shown at least MIN_DISPLAY_SIDE on its shorter side, pixel for pixel, and every title whole."""
    height, width = tiles[0][1].shape[:2]
    factor = render.display_factor(height, width)
    assert min(height, width) * factor >= 224
    assert picture.shape[:2] == (render.TITLE_HEIGHT + height * factor + 2 * render.GAP,
                                 len(tiles) * width * factor + (len(tiles) + 1) * render.GAP)
    for index, (title, tile) in enumerate(tiles):
        assert render.fitted_title(title, width * factor) == title
        left = render.GAP + index * (width * factor + render.GAP)
        shown = picture[render.GAP + render.TITLE_HEIGHT:render.GAP + render.TITLE_HEIGHT + height * factor,
                        left:left + width * factor]
        np.testing.assert_array_equal(shown, tile.repeat(factor, 0).repeat(factor, 1))  # nearest: maps unchanged


@pytest.mark.parametrize("size", [(SMALL, SMALL), (28, 40), (100, 150)])
def test_grid_enlarges_small_tiles_pixel_for_pixel(size):
    tiles = small_tiles(size)
    check_readable_grid(render.grid(tiles), tiles)


def test_grid_check_catches_tiles_left_small(monkeypatch):
    tiles = small_tiles()
    monkeypatch.setattr(render, "MIN_DISPLAY_SIDE", 1)  # planted: no enlargement, the 148 × 68 grid
    picture = render.grid(tiles)
    assert picture.shape[:2] == (68, 148)
    assert render.fitted_title("Input: eight", SMALL) == "Inpu"
    with pytest.raises(AssertionError):
        check_readable_grid(picture, tiles)


def test_grid_check_catches_smoothed_enlargement(monkeypatch):
    tiles = small_tiles()
    def bilinear(picture, size=None):
        height, width = size or render.display_size(picture.shape[:2])
        return np.asarray(Image.fromarray(picture).resize((width, height), Image.Resampling.BILINEAR))
    monkeypatch.setattr(render, "enlarge_for_display", bilinear)  # planted: the pixels blurred
    with pytest.raises(AssertionError):
        check_readable_grid(render.grid(tiles), tiles)


def test_long_thin_tiles_are_enlarged_within_a_bound():
    assert render.display_size((2, 600)) == (6, 1800)  # 224 / 2 = 112 times would make it 67,200 px long
    assert render.display_size((1, 5000)) == (1, 5000)
    assert render.display_size((16, 32)) == (224, 448)


def test_large_tiles_are_left_alone():
    assert render.display_factor(224, 337) == 1 and render.display_size((300, 451)) == (300, 451)
    assert render.grid_size(4, 224) == (224 + render.TITLE_HEIGHT + 2 * render.GAP, 4 * 224 + 5 * render.GAP)
    assert render.grid_size(4, SMALL) == render.grid_size(4, 224)


def test_message_tile_of_a_small_input_has_room_for_its_text():
    tile = render.message_tile("Needs a classifier layer after global pooling", (SMALL, SMALL))
    assert tile.shape == (224, 224, 3)
    assert (tile < 200).any(axis=2)[16:50].sum() > 100  # at least one line of dark text
    picture = render.grid([("Input", small_tiles()[0][1]), ("CAM: n/a", tile)])
    assert picture.shape[1] == 2 * 224 + 3 * render.GAP


@pytest.fixture(scope="module")
def digits_backbone() -> Backbone:
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = ex.build()
    model.load_state_dict(safetensors_torch.load_file(str(ex.WEIGHTS_PATH)))
    spec = BackboneSpec("digits", "Digits", ex.TARGET_LAYER, ex.INPUT_SIZE, (ex.MEAN,) * 3, (ex.STD,) * 3, ex.build,
                        cam_layer=ex.TARGET_LAYER, cam_classifier=ex.CLASSIFIER_LAYER)
    return Backbone(spec, model.eval(), torch.device("cpu"), tuple(ex.class_names()))


def test_digits_explanation_grid_is_readable(digits_backbone):
    """The picture ``camlib explain --out`` writes for the 32-px example model."""
    picture = Image.new("RGB", (64, 64), "white")
    explanation = explain(digits_backbone, picture, methods=["cam", "gradcam", "scorecam"])
    assert explanation.image.shape == (SMALL, SMALL, 3)
    grid = explanation.grid()
    tiles = [(f"Input · maps for {explanation.target_name}", explanation.image)]
    tiles += [(f"{result.display_name} {result.seconds:.2f}s",
               render.overlay(explanation.image, result.saliency)) for result in explanation.results.values()]
    check_readable_grid(grid, tiles)
    for result in explanation.results.values():
        assert result.saliency.shape == (SMALL, SMALL)  # the maps keep the model's resolution


def titles_fit(figure) -> list[str]:
    """The column titles wider than their tile."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    return [axes.get_title() for axes in figure.axes
            if axes.get_title() and axes.title.get_window_extent(renderer).width > axes.get_window_extent(renderer).width]


def small_rows() -> list[FigureRow]:
    image = small_tiles()[0][1]
    saliency = np.linspace(0, 1, SMALL * SMALL, dtype=np.float32).reshape(SMALL, SMALL)
    return [FigureRow("digits", image, {"Grad-CAM++": saliency, "Score-CAM": saliency, "CAM": None}, {"CAM": "n/a"})]


def test_figure_of_a_small_input_is_full_size_with_whole_titles():
    assert titles_fit(draw_figure(small_rows(), title="digits")) == []
    with Image.open(io.BytesIO(figure_bytes(small_rows(), title="digits"))) as png:
        assert png.width >= 4 * figure_module.TILE_WIDTH_INCHES * figure_module.PNG_DPI
        assert png.height >= 0.9 * figure_module.TILE_WIDTH_INCHES * figure_module.PNG_DPI


def test_figure_check_catches_narrow_tiles(monkeypatch):
    monkeypatch.setattr(figure_module, "TILE_WIDTH_INCHES", 0.25)  # planted: tiles as small as 32 px at 128 dpi
    assert "Grad-CAM++" in titles_fit(draw_figure(small_rows(), title="digits"))
