"""Issue 22 point 3: the screen says only what is true of what it shows. Each test here failed on the code before
its fix; most run a small script of the app's own widgets under AppTest, so that they take a second or two."""

from __future__ import annotations

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest

from camlib.app import inputs, settings, widgets

TIMEOUT_S = 120


@pytest.fixture(autouse=True)
def offline_fast_app(monkeypatch, tmp_path):
    monkeypatch.setenv(settings.FAST_TEST_ENV, "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))


def _image_script():
    import streamlit as st

    from camlib.app import widgets

    image = widgets.sidebar_image()
    st.markdown(f"explaining {image.name}")


def test_the_sample_box_names_no_sample_while_an_upload_is_explained():
    at = AppTest.from_function(_image_script, default_timeout=TIMEOUT_S).run()
    at.sidebar.selectbox(key=widgets.SAMPLE_KEY).select("Coffee cup: coffee (scikit-image)").run()
    assert at.sidebar.selectbox(key=widgets.SAMPLE_KEY).value == "Coffee cup: coffee (scikit-image)"
    at.sidebar.get_by_key(widgets.uploader_key_in(at.session_state)).set_value(
        ("rocket.png", inputs.sample_bytes("skimage:rocket"), "image/png")).run()
    assert not at.exception and "explaining rocket.png" in at.markdown[0].value
    box = at.sidebar.selectbox(key=widgets.SAMPLE_KEY)
    assert box.value is None and "rocket.png" in box.placeholder  # not "Coffee cup" under an explained rocket
    at.sidebar.button(key="camlib_use_sample").click().run()
    assert at.sidebar.selectbox(key=widgets.SAMPLE_KEY).value == "Coffee cup: coffee (scikit-image)"
    assert "explaining Coffee cup" in at.markdown[0].value


def test_every_image_uploader_lists_every_format_it_takes():
    text = inputs.image_formats_text()
    assert text == "PNG, JPEG, WebP, BMP, GIF, TIFF"
    at = AppTest.from_function(_image_script, default_timeout=TIMEOUT_S).run()
    label = at.sidebar.get_by_key(widgets.uploader_key_in(at.session_state)).label
    assert text in label
