"""The app's method families and its Leaderboard page (AppTest), each check beside a planted error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from camlib.app import leaderboard, method_families
from camlib.methods import METHODS, PAPER_METHODS

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "leaderboard.py")
TIMEOUT_S = 60
GOOD = {"title": "EfficientNet-Lite0 at `bn2`, report half", "setting": "Report half, EfficientNet-Lite0 at layer `bn2`, target: the "
        "predicted class, 125 images; no pointing game; speed setting per method in the table (exact).",
        "table": "| method |\n|---|\n| Grad-CAM |", "pareto": "Pareto front: Grad-CAM.", "recommendations": ["**A demo**: Grad-CAM."]}  # fmt: skip


def _methods_sidebar_only():
    from camlib.app import widgets

    widgets.sidebar_method_settings()


def methods_sidebar() -> AppTest:
    return AppTest.from_function(_methods_sidebar_only, default_timeout=TIMEOUT_S).run()


def test_families_cover_every_method_once_with_the_registrys_family():
    groups = method_families.by_family()
    assert sorted(key for keys in groups.values() for key in keys) == sorted(METHODS)
    assert all(METHODS[key].family == family for family, keys in groups.items() for key in keys)
    assert groups["gradient"][:3] == ["gradcam", "gradcampp", "smoothgradcampp"]  # the paper's first
    assert "perturbation" in method_families.method_label("reciprocam")


def test_the_sidebar_defaults_to_the_papers_six_and_adds_a_family_in_one_click():
    at = methods_sidebar()
    box = at.sidebar.multiselect(key=method_families.METHODS_KEY)
    assert sorted(box.value) == sorted(PAPER_METHODS)
    assert box.options.index(method_families.method_label("hirescam")) < box.options.index(method_families.method_label("cam"))  # grouped
    at.sidebar.button(key="camlib_add_family::perturbation").click().run()
    assert not at.exception, [item.message for item in at.exception]
    chosen = at.sidebar.multiselect(key=method_families.METHODS_KEY).value
    assert sorted(chosen) == sorted([*PAPER_METHODS, "reciprocam", "ablationcam"])
    assert at.sidebar.button(key="camlib_add_family::perturbation").disabled
    at.sidebar.button(key="camlib_paper_six").click().run()
    assert sorted(at.sidebar.multiselect(key=method_families.METHODS_KEY).value) == sorted(PAPER_METHODS)


def test_a_family_button_that_replaces_the_choice_is_caught():
    """Planted error: adding a family that drops what was chosen (the paper's six) fails the check above."""
    state = {method_families.METHODS_KEY: list(PAPER_METHODS)}
    method_families.add_family(state, "perturbation")
    assert set(PAPER_METHODS) <= set(state[method_families.METHODS_KEY])
    planted = {method_families.METHODS_KEY: method_families.by_family()["perturbation"]}
    assert not set(PAPER_METHODS) <= set(planted[method_families.METHODS_KEY])


def test_the_leaderboard_page_shows_each_models_setting_table_and_plot():
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT_S).run()
    assert not at.exception, [item.message for item in at.exception]
    assert not at.error, [box.value for box in at.error]
    board = leaderboard.load_leaderboard()
    settings = [box.value for box in at.info]
    expected = [line for r in board.models for line in (r["setting"], *([r["prefix"]["setting"]] if "prefix" in r else []))]
    assert settings == expected and len(board.models) == 3
    assert all("Report half" in line and "speed setting" in line and " images" in line for line in settings)
    prefixes = [r["prefix"] for r in board.models if "prefix" in r]
    assert [e.label for e in at.expander if "report-half images" in e.label] == [p["title"] for p in prefixes]
    text = "\n".join(item.value for item in at.markdown)
    assert "Grad++ScoreCAM −" in text and "randomisation check" in text
    assert any("Pareto front" in caption for image in at.main.image for caption in image.captions)


def damaged(tmp_path, record: dict) -> Path:
    path = tmp_path / "leaderboard.json"
    path.write_text(json.dumps({"models": [record], "field": "", "field_sentences": [], "command": "x"}))
    return path


@pytest.mark.parametrize("drop", ["speed setting", " half", " images"])
def test_a_table_that_does_not_state_its_setting_is_refused(tmp_path, drop):
    record = {**GOOD, "setting": GOOD["setting"].replace(drop, " ")}
    assert leaderboard.load_leaderboard(damaged(tmp_path, GOOD)).models == [GOOD]
    with pytest.raises(leaderboard.LeaderboardMissing, match="does not state its setting"):
        leaderboard.load_leaderboard(damaged(tmp_path, record))


def test_a_prefix_table_that_does_not_state_its_setting_is_refused(tmp_path):
    prefix = {"title": "SS-CAM: on the first 8 report-half images", "setting": GOOD["setting"].replace("125", "8"),
              "table": "| method |", "note": "n"}  # fmt: skip
    assert leaderboard.load_leaderboard(damaged(tmp_path, {**GOOD, "prefix": prefix})).models[0]["prefix"] == prefix
    for planted in ({**prefix, "setting": "SS-CAM, 8 of them"}, "a table"):
        with pytest.raises(leaderboard.LeaderboardMissing, match="does not state its setting"):
            leaderboard.load_leaderboard(damaged(tmp_path, {**GOOD, "prefix": planted}))


def test_the_page_shows_one_line_when_the_leaderboard_is_missing(monkeypatch, tmp_path):
    """Planted error: a page pointed at a missing file must say so in one line, not raise or show empty tabs."""
    monkeypatch.setattr(leaderboard, "LEADERBOARD_FILE", tmp_path / "none.json")
    monkeypatch.setattr(leaderboard.load_leaderboard, "__defaults__", (tmp_path / "none.json",))
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT_S).run()
    assert not at.exception
    assert [box.value for box in at.error] and "No leaderboard ships" in at.error[0].value
    assert not at.info
