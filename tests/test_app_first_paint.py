"""The first paint: the page's title, the sidebar's image box and the photo come before torch and the model load,
and the photo shown while the model loads never stays on screen. Each check has a planted error it catches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
import streamlit as st
from streamlit.testing.v1 import AppTest

from camlib.app import widgets

REPO_ROOT = Path(__file__).resolve().parents[1]
LOADING = "loading the model"


def imports_torch(statement: str) -> bool:
    """Whether ``statement``, run in a fresh interpreter, imports torch."""
    code = f"import sys\n{statement}\nprint('torch' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True)
    return output.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.slow  # over 2 s on the 2-core runner
def test_the_first_paint_imports_neither_torch_nor_the_methods():
    first_paint = "from camlib.app import widgets\nwidgets.page_setup; widgets.how_to_read; widgets.sidebar_image; widgets.first_run_preview"
    assert not imports_torch(first_paint)
    assert imports_torch(first_paint + "\nwidgets.sidebar_image_and_model")  # the planted error: the model panel first


def preview_page():
    import streamlit as st

    from camlib.app import widgets
    from camlib.app.inputs import available_samples, sample_input

    image = sample_input(available_samples()[0])
    with widgets.first_run_preview(image):
        if st.session_state.get("camlib_test_stop"):
            widgets.stop_page()  # as the model panel does when a model cannot load
    st.image(image.image, caption="the grid's input")


def captions_shown(at: AppTest) -> list[str]:
    return [caption for element in at.main if element.type == "image" for caption in (image.caption for image in element.proto.imgs)]


def plain_stop() -> None:
    """The planted error: ``st.stop()`` without emptying the preview first; it stays on screen."""
    st.stop()


@pytest.mark.parametrize("stop, stays", [(None, False), (plain_stop, True)])
def test_the_photo_shown_while_the_model_loads_goes_also_when_the_page_stops(stop, stays, monkeypatch):
    if stop is not None:
        monkeypatch.setattr(widgets, "stop_page", stop)
    at = AppTest.from_function(preview_page, default_timeout=120)
    at.session_state["camlib_test_stop"] = True
    at.run()
    assert any(LOADING in caption for caption in captions_shown(at)) is stays


def test_the_preview_is_shown_on_a_sessions_first_run_only():
    at = AppTest.from_function(preview_page, default_timeout=120).run()
    assert captions_shown(at) == ["the grid's input"]
    assert at.session_state["camlib_previewed"] is True  # it was drawn on this first run
    at.run()
    assert captions_shown(at) == ["the grid's input"]
    assert len([element for element in at.main if element.type == "empty"]) == 0  # no slot on a later run
