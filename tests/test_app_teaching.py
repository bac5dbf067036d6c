"""The "How the methods work" page: every method in its family with formula, cost and what it is known for, an
intro that is true of every method, and the walk-through of Grad++ScoreCAM, Score-CAM and Grad-CAM on the
session's photo, whose numbers are the library's (checked against camlib.pipeline_steps on the same photo)."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from camlib.app import inputs, method_notes, models, settings, teaching, walkthrough, widgets
from camlib.app.widgets import walkthrough as walkthrough_widget
from camlib.methods import FAMILIES, METHODS, GradCAM, GradPPScoreCAM
from camlib.pipeline_steps import method_steps

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "how_the_methods_work.py")
LITE0 = models.ModelChoice("efficientnet_lite0")
NOT_A_WEIGHTED_SUM = ("layercam", "hirescam", "eigencam", "reciprocam", "ablationcam")  # issue 23's list
OLD_INTRO = (
    "Every method weights the channels $A_k$ of one convolutional layer and sums them: "
    "$L^c = \\mathrm{ReLU}(\\sum_k \\alpha_k^c A_k)$, upsampled to the image and scaled to [0, 1]."
)


@pytest.fixture(autouse=True)
def offline_fast_app(monkeypatch, tmp_path):
    monkeypatch.setenv(settings.FAST_TEST_ENV, "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))


def sections_missing(known_for: dict, families: dict[str, list[str]]) -> list[str]:
    """The methods of the registry without a family section, a formula or a 'known for' line."""
    in_families = [key for keys in families.values() for key in keys]
    return [key for key in METHODS
            if in_families.count(key) != 1 or not teaching.method_formulas(key) or not known_for.get(key)]


def test_every_method_has_one_section_in_its_family_with_formula_and_known_for():
    families = method_notes.family_methods()
    assert list(families) == list(FAMILIES) and all(families.values())
    assert sections_missing(method_notes.KNOWN_FOR, families) == []
    assert set(method_notes.KNOWN_FOR) == set(METHODS) and set(method_notes.FAMILY_TITLES) == set(FAMILIES)
    for family, keys in families.items():
        assert all(METHODS[key].family == family for key in keys)
    anchors = [*map(method_notes.family_anchor, FAMILIES), method_notes.SAME_MAPS_ANCHOR, method_notes.WALK_ANCHOR]
    assert all(f"(#{anchor})" in method_notes.CONTENTS for anchor in anchors) and len(set(anchors)) == len(anchors)
    # planted errors: a method without its line, a method listed in no family
    without_eigencam = {key: text for key, text in method_notes.KNOWN_FOR.items() if key != "eigencam"}
    assert sections_missing(without_eigencam, families) == ["eigencam"]
    assert sections_missing(method_notes.KNOWN_FOR, {**families, "gradient": families["gradient"][1:]}) == [families["gradient"][0]]


def intro_is_true(intro: str) -> bool:
    """The intro names each method that does not weight whole channels and sum them."""
    return all(METHODS[key].display_name in intro for key in NOT_A_WEIGHTED_SUM)


def test_the_intro_does_not_claim_every_method_sums_weighted_channels():
    assert intro_is_true(method_notes.INTRO)
    assert "Most" in method_notes.INTRO and "Every method weights" not in method_notes.INTRO
    assert not intro_is_true(OLD_INTRO)  # planted error: the page's old intro


def test_the_same_maps_section_names_both_identities_and_the_reason():
    text = method_notes.SAME_MAPS
    assert "**Grad-CAM = CAM**" in text and "**SmoothGrad-CAM++ = Grad-CAM++**" in text
    assert "same at every position" in text and "global average pooling" in method_notes.SAME_MAPS_TITLE


CODE_NAMES = ("BaseCAM", "gradcampp_weights", "masked_input_scores", "capture", "../", "shared/", "camlib.")


def code_names_in(prose: str) -> list[str]:
    return [code for code in CODE_NAMES if code in prose]


def test_no_code_names_or_paths_in_the_pages_prose():
    prose = " ".join([method_notes.INTRO, *method_notes.FAMILY_INTROS.values(), *method_notes.KNOWN_FOR.values(),
                      method_notes.SAME_MAPS, teaching.pipeline_steps(), teaching.PIPELINE_DOT, walkthrough.cost_line(),
                      *(text for texts in walkthrough.STEP_TEXTS.values() for text in texts)])
    assert code_names_in(prose) == []
    # planted error: the method's docstring, which the page's pipeline steps used to quote, names code
    assert code_names_in(inspect.getdoc(GradPPScoreCAM))


def walk_table(at: AppTest, column: str):
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def sessions_gradcam_weights(label: str, target_class: int, layer: str = "bn2") -> np.ndarray:
    """Grad-CAM's channel weights for a sample photo, computed here from the library, not from the page."""
    image = inputs.sample_input(next(sample for sample in inputs.available_samples() if sample.label == label))
    backbone = models.shared_model(LITE0).backbone
    return method_steps(GradCAM(backbone.model, layer), backbone.preprocess(image.image, 224), target_class).weights


@pytest.mark.slow  # loads EfficientNet-Lite0 and runs the page twice
def test_the_walkthrough_shows_the_sessions_photo_with_the_librarys_numbers():
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not at.exception and not at.tabs  # nothing is computed before the button
    assert len(at.get("latex")) >= len(METHODS)
    headers = [header.value for header in at.header]
    assert all(method_notes.FAMILY_TITLES[family] in headers for family in FAMILIES)
    assert [sub.value for sub in at.subheader if sub.value in {i.display_name for i in METHODS.values()}] == [
        METHODS[key].display_name for keys in method_notes.family_methods().values() for key in keys
    ]
    at.button(key=walkthrough_widget.BUTTON_KEY).click().run()
    assert not at.exception
    assert [tab.label for tab in at.tabs] == [METHODS[key].display_name for key in walkthrough.WALKED_METHODS]
    label, layer = at.sidebar.selectbox(key=widgets.SAMPLE_KEY).value, at.sidebar.selectbox(key="camlib_layer::efficientnet_lite0").value
    class_box = next(box for box in at.sidebar.selectbox if box.key.startswith("camlib_class::"))
    table = walk_table(at, "Mean gradient (the weight)")
    expected = sessions_gradcam_weights(label, class_box.value, layer)
    np.testing.assert_allclose(table["Mean gradient (the weight)"], expected[table.index], rtol=1e-4, atol=1e-7)
    assert {"Grad-CAM++ weight w", "Score C", "Final weight α"} <= set(walk_table(at, "Grad-CAM++ weight w").columns)
    assert any(label.split(":")[0] in caption.value for caption in at.caption)

    other = "Coffee cup: coffee (scikit-image)"
    at.sidebar.selectbox(key=widgets.SAMPLE_KEY).select(other).run()
    assert not at.tabs  # a new photo needs the button again
    at.button(key=walkthrough_widget.BUTTON_KEY).click().run()
    class_box = next(box for box in at.sidebar.selectbox if box.key.startswith("camlib_class::"))
    coffee = walk_table(at, "Mean gradient (the weight)")
    np.testing.assert_allclose(coffee["Mean gradient (the weight)"], sessions_gradcam_weights(other, class_box.value, layer)[coffee.index],
                               rtol=1e-4, atol=1e-7)
    with pytest.raises(AssertionError):  # planted error: the first photo's numbers are not this photo's
        np.testing.assert_allclose(coffee["Mean gradient (the weight)"], expected[coffee.index], rtol=1e-4, atol=1e-7)


@pytest.fixture
def tiny_walks(monkeypatch):
    """The three walks on a tiny random backbone (8 channels at ``features``), through the page's cached function."""
    from types import SimpleNamespace

    from conftest import make_tiny_backbone
    from PIL import Image

    backbone = make_tiny_backbone(classes=5)
    monkeypatch.setattr(walkthrough, "shared_model", lambda _choice: SimpleNamespace(backbone=backbone))
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, size=(32, 40, 3), dtype=np.uint8))
    params = {"gradpp_scorecam": (("top_k", 4),), "scorecam": (("batch_size", 3),), "gradcam": ()}
    walkthrough.walk.clear()
    return {key: walkthrough.walk("tiny-test", LITE0, image, 32, "features", 2, key, params[key]) for key in params}


def test_the_walks_numbers_are_their_steps_and_the_words_count_right(tiny_walks):
    gradpp, scorecam, gradcam = tiny_walks["gradpp_scorecam"], tiny_walks["scorecam"], tiny_walks["gradcam"]
    shown = [view.channel for view in gradpp.channels]
    assert len(shown) == walkthrough.SHOWN_CHANNELS and set(shown) <= set(range(8))
    table = walkthrough.numbers_table(gradpp)
    np.testing.assert_allclose(table["Final weight α"], gradpp.steps.weights[shown], rtol=1e-6)
    np.testing.assert_allclose(table["Grad-CAM++ weight w"], gradpp.steps.gradient_weights[shown], rtol=1e-6)
    with pytest.raises(AssertionError):  # planted error: the softmax shares alone are not Grad++ScoreCAM's weights
        np.testing.assert_allclose(table["Final weight α"], table["Softmax share of C"].fillna(0), rtol=1e-6)
    assert table["Score C"].isna().sum() == sum(channel not in gradpp.steps.chosen for channel in shown)  # unscored: no score
    gradcam_table = walkthrough.numbers_table(gradcam)
    np.testing.assert_allclose(gradcam_table["Mean gradient (the weight)"], gradcam.steps.weights[gradcam_table.index], rtol=1e-6)
    assert all(view.masked_input.dtype == np.uint8 and view.masked_input.shape == (32, 40, 3) for view in scorecam.channels)
    assert all(view.masked_input is None for view in gradcam.channels)
    assert "the 4 channels with the largest $w$" in walkthrough.step_texts(gradpp)[0]
    assert "of all 8 channels" in walkthrough.step_texts(scorecam)[2]
    assert walkthrough.scored_line(scorecam).startswith("8 masked photos")
    contributions = np.clip(scorecam.steps.contributions, 0, None)
    percent = 100 * contributions[[view.channel for view in scorecam.channels]].sum() / contributions.sum()
    assert f"make {percent:.0f} %" in walkthrough.share_line(scorecam)


def test_the_empty_channel_note_appears_only_when_a_scored_channel_is_empty(tiny_walks):
    import dataclasses

    gradpp = tiny_walks["gradpp_scorecam"]
    assert gradpp.steps.empty_chosen() == 0 and walkthrough.empty_channels_note(gradpp) is None
    activations = gradpp.steps.activations.copy()
    activations[gradpp.steps.chosen[0]] = 0  # planted: one of the scored channels is zero everywhere
    emptied = dataclasses.replace(gradpp, steps=dataclasses.replace(gradpp.steps, activations=activations))
    assert walkthrough.empty_channels_note(emptied).startswith("1 of the 4 channels")
    assert walkthrough.empty_channels_note(dataclasses.replace(emptied, method_key="scorecam")) is None
