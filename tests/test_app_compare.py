"""The comparison's computations (camlib.app.compare): same-map badges, difference maps, the row's columns, the layer
where the gradient methods part ways; each with a planted error the check catches. Plus the app showing them."""

from __future__ import annotations

import numpy as np
import pytest

from camlib.app import compare


def ramp(height: int = 20, width: int = 30) -> np.ndarray:
    return np.linspace(0.0, 1.0, height * width, dtype=np.float32).reshape(height, width)


def blob(centre: tuple[int, int], height: int = 20, width: int = 30) -> np.ndarray:
    rows, columns = np.mgrid[:height, :width]
    return np.exp(-((rows - centre[0]) ** 2 + (columns - centre[1]) ** 2) / 20.0).astype(np.float32)


def test_identical_maps_are_badged_same_and_the_first_is_the_reference():
    maps = {"cam": ramp(), "gradcam": ramp().copy(), "scorecam": blob((5, 5))}
    found = compare.same_maps(maps)
    assert list(found) == ["gradcam"]
    assert found["gradcam"].reference == "cam" and found["gradcam"].agreement.same
    assert found["gradcam"].badge({"cam": "CAM"}).startswith("= same map as CAM")


def test_a_nearly_equal_map_is_near_not_same_and_a_different_one_is_neither():
    near = np.clip(ramp() + 0.03 * np.sin(np.arange(600, dtype=np.float32)).reshape(20, 30), 0, 1)
    measured = compare.agreement(ramp(), near)
    assert not measured.same and measured.near and measured.pearson == pytest.approx(1.0, abs=0.01)
    assert "nearly the same map as CAM (r = 0.99" in compare.same_maps({"cam": ramp(), "x": near})["x"].badge({"cam": "CAM"})
    far = compare.agreement(blob((5, 5)), blob((15, 25)))
    assert not far.near and far.pearson < 0.5


def test_pearson_matches_numpy_and_a_constant_map_has_none():
    a, b = ramp(), blob((10, 12))
    assert compare.agreement(a, b).pearson == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1], abs=1e-6)
    assert compare.agreement(a, np.zeros_like(a)).pearson is None
    planted = compare.Agreement(0.5, 0.95)  # a planted looser threshold would call this "near"
    assert not planted.near


def test_maps_of_different_sizes_are_compared_on_the_first_grid():
    assert compare.agreement(ramp(20, 30), ramp(40, 60)).pearson > 0.99


def test_the_difference_map_is_signed_and_coloured_red_white_blue():
    first, second = blob((5, 5)), blob((15, 25))
    difference = compare.difference_map(first, second)
    assert difference[5, 5] > 0.9 and difference[15, 25] < -0.9
    colours = compare.diverging_colours(np.array([[-1.0, 0.0, 1.0]]))
    assert colours[0, 0].tolist() == [33, 102, 172] and colours[0, 1].tolist() == [255, 255, 255]
    assert colours[0, 2].tolist() == [178, 24, 43]
    planted = np.abs(difference)  # an unsigned difference loses which method is hotter
    assert not planted[15, 25] < -0.9  # the sign check above catches it
    text = compare.difference_text("A", "B", difference)
    assert "Red: A is hotter (up to 1.00)" in text and "blue: B is hotter (up to 1.00)" in text


def test_all_tiles_fit_one_row_up_to_eight_then_rows_are_balanced():
    assert compare.grid_columns(7) == 7  # the input and the paper's six
    assert compare.grid_columns(8) == 8
    assert compare.grid_columns(16) == 8 and compare.grid_columns(10) == 5
    assert compare.grid_columns(1) == 1


EFFICIENTNET = [
    ("blocks.4.2", (1, 112, 14, 14), False), ("blocks.4", (1, 112, 14, 14), False),
    ("blocks.5", (1, 192, 7, 7), False), ("blocks.6", (1, 320, 7, 7), False), ("bn2", (1, 1280, 7, 7), True),
]
RESNET = [("layer2", (1, 128, 28, 28), False), ("layer3", (1, 256, 14, 14), False), ("layer4", (1, 512, 7, 7), True)]
SWIN = [("layers.2", (1, 14, 14, 384), False), ("layers.3", (1, 7, 7, 768), False), ("norm", (1, 7, 7, 768), True)]
VIT = [("blocks.10", (1, 197, 768), False), ("blocks.11.norm1", (1, 197, 768), True)]


@pytest.mark.parametrize(("candidates", "default", "expected"), [
    (EFFICIENTNET, "bn2", "blocks.4"), (RESNET, "layer4", "layer3"), (SWIN, "norm", "layers.2"), (VIT, "blocks.11.norm1", None),
])
def test_the_parting_layer_is_the_last_one_before_the_default_stage(candidates, default, expected):
    assert compare.parting_layer(candidates, default) == expected


def test_a_planted_parting_layer_that_ignores_the_grid_is_caught():
    def planted(candidates, default):  # "the layer just before the default": still on the 7 × 7 grid, past the pooling's stage
        names = [name for name, _, _ in candidates]
        return names[names.index(default) - 1]

    assert planted(EFFICIENTNET, "bn2") != compare.parting_layer(EFFICIENTNET, "bn2")


def test_the_reason_names_the_identity_only_at_the_pooling_layer():
    assert "Grad-CAM = CAM" in compare.identity_reason("bn2", "bn2")
    assert "Grad-CAM = CAM" not in compare.identity_reason("blocks.4", "bn2")
    assert "`blocks.4`" in compare.parting_text("blocks.4", "bn2") and "`bn2`" in compare.parting_text("blocks.4", "bn2")


# -- the main page shows them (Streamlit's AppTest, random-free offline Lite0 at the quick test setting) ------

APP = str(__import__("pathlib").Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def app(monkeypatch, tmp_path):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    from camlib.app import settings

    monkeypatch.setenv(settings.FAST_TEST_ENV, "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    return AppTest.from_file(APP, default_timeout=300).run()


def captions_under_maps(at) -> str:
    return " ".join(caption.value for caption in at.main.caption)


def badge_lines(at) -> list[str]:
    """Each map's badge line: its popover's label."""
    return [popover.proto.popover.label for popover in at.main.get("popover")]


def details(at) -> str:
    return " ".join(caption.value for popover in at.main.get("popover") for caption in popover.caption)


def test_the_page_badges_same_maps_says_why_and_offers_the_parting_layer(app):
    at = app
    assert not at.exception, [item.message for item in at.exception]
    lines = badge_lines(at)
    assert any(line.startswith("= CAM") for line in lines)  # Grad-CAM at bn2, on this photo
    assert "same map as CAM" in details(at) and "(This photo)" in details(at)
    assert any(line.startswith("at bn2") for line in lines)  # CAM's own layer, in its cell
    assert any("Grad-CAM = CAM" in box.value for box in at.main.info)
    # no more than two lines of text under a map: its image caption and one badge line (no loose captions)
    page_lines = ("Upload an image", "0 ← map value", "Each map is scaled", "At `", "Red: ")  # above and below the grid
    loose = [caption.value for caption in at.main.caption if caption.value not in details(at)]
    assert loose and all(line.startswith(page_lines) for line in loose), loose
    at.button(key="camlib_parting").click().run()
    assert not at.exception, [item.message for item in at.exception]
    assert at.sidebar.selectbox(key="camlib_layer::efficientnet_lite0").value == "blocks.4"
    assert any(line.startswith("at bn2") for line in badge_lines(at))  # CAM did not move, and says so
    assert "`blocks.4`, does not apply to it" in details(at)
    assert not any(line.startswith("= CAM") for line in badge_lines(at))


def test_removing_every_method_shows_a_message(app):
    at = app
    at.sidebar.multiselect(key="camlib_methods").set_value([]).run()
    assert not at.exception, [item.message for item in at.exception]
    assert any("No method is chosen" in box.value for box in at.main.warning)


@pytest.mark.parametrize(("spec", "expected"), [("efficientnet_lite0", "blocks.4"), ("timm:resnet18", "layer3")])
def test_on_real_architectures_the_parting_layer_is_a_whole_stage(spec, expected):
    from camlib.backbones import load_model

    backbone = load_model(spec, pretrained=False, allow_download=False) if ":" in spec else load_model(spec, allow_download=False)
    candidates, default = backbone.candidate_layers(), backbone.default_layer
    assert compare.parting_layer(candidates, default, compare.stage_units(backbone.model)) == expected
    if spec == "efficientnet_lite0":  # without the stages: blocks.5.0.bn1, a layer inside the default's stage
        assert compare.parting_layer(candidates, default) != expected


# -- point 4: every speed setting earns its place --------------------------------------------------


def test_the_app_offers_no_lowres_and_the_cli_names_the_command_for_its_fidelity(monkeypatch):
    import re
    from pathlib import Path

    from camlib import cli
    from camlib.app import settings

    monkeypatch.delenv(settings.FAST_TEST_ENV, raising=False)
    assert "lowres" not in settings.speed_options() and "lowres" not in settings.SPEED_PRESETS
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    help_text = " ".join(cli.SPEED_HELP.split())
    # the help states no correlation figure (its measured output was not kept) but names the command that measures it
    assert "bench/fast_vs_exact.py" in help_text and "bench/fast_vs_exact.py" in readme
    assert not re.search(r"correlating 0\.\d+", help_text)
    planted = help_text.replace("further from exact", "further from exact, correlating 0.856 with exact")
    assert re.search(r"correlating 0\.\d+", planted)  # a typed-in figure would be caught


def test_the_difference_view_subtracts_two_chosen_maps(app):
    at = app
    images = [image for image in at.main.image if any(" − " in caption for caption in image.captions)]
    assert len(images) == 1 and images[0].captions[0] == "Grad++ScoreCAM − Grad-CAM"
    assert any("Red: Grad++ScoreCAM is hotter" in caption.value for caption in at.main.caption)
    assert at.main.selectbox(key="camlib_difference_first").value == "gradpp_scorecam"


def _one_cell_with_notes():
    import numpy as np
    import streamlit as st

    from camlib.app.badges import Badge, cam_layer_badge
    from camlib.app.widgets.display import Display
    from camlib.app.widgets.grid import _show_result
    from camlib.explain import MethodResult

    saliency = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    _show_result(st.empty(), np.zeros((8, 8, 3), np.uint8), MethodResult("cam", "CAM", saliency, 0.1), Display(0.5, "jet"),
                 [cam_layer_badge("blocks.5", "bn2"), Badge("✗ rand", "camlib's benchmark", "a long benchmark note"),
                  Badge("≈ blob", "camlib's benchmark", "another"), Badge("≈ blob", "camlib's benchmark", "a third")])


def test_benchmark_notes_are_one_click_away_and_the_cells_own_lines_stay_visible():
    """Under the map: its caption and one line of badges (CAM's layer among them); the sentences behind the badges."""
    from streamlit.testing.v1 import AppTest

    from camlib.app.badges import BADGE_KEY

    at = AppTest.from_function(_one_cell_with_notes, default_timeout=60).run()
    assert not at.exception, [item.message for item in at.exception]
    popovers = at.get("popover")
    assert len(popovers) == 1 and popovers[0].proto.popover.label == "at bn2 ✗ rand ≈ blob"
    inside = [caption.value for caption in popovers[0].caption]
    assert inside[0].startswith("**at bn2** (CAM): CAM always uses the layer feeding the global average pooling, `bn2`")
    assert "`blocks.5`, does not apply to it" in inside[0]
    assert inside[1:] == ["**✗ rand** (camlib's benchmark): a long benchmark note",
                          "**≈ blob** (camlib's benchmark): another", "**≈ blob** (camlib's benchmark): a third", BADGE_KEY]
    outside = [caption.value for caption in at.caption if caption.value not in inside]
    assert outside == []  # no text under the map beyond its image caption and the badge line
