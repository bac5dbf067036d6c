"""The app in a real browser: `streamlit run app.py` on a free localhost port, driven by headless Chromium.

Needs Debian's chromium (/usr/bin/chromium) and the playwright Python package; Playwright's own browser
download is never used. The test uploads camlib/data/photos/dog_and_cat.png, waits for the input and the six overlays, counts them, and saves a screenshot to
the test's tmp folder (the README's screenshot comes from bench/app_screenshot.py, which drives the
browser with the same steps: bench/app_browser.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from camlib.app.local_server import EXPECTED_IMAGES, local_app

# bench/ is not a package: the bench script and this test share bench/app_browser.py from its folder.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from app_browser import (
    GRID_CAPTIONS,
    GRID_IMAGES,
    METHOD_NAMES,
    UPLOAD_BOX,
    chromium_page,
    missing_browser,
    open_app,
    screenshot,
    show_photo,
    wait_until_settled,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # starts a server and Chromium: 27 s


@pytest.fixture
def app_url(tmp_path):
    log = tmp_path / "streamlit.log"
    with local_app(log) as url:
        yield url, log


def test_app_renders_all_overlays_in_chromium(app_url, tmp_path):
    problem = missing_browser()
    if problem:
        pytest.skip(problem)
    url, log = app_url

    with chromium_page() as page:
        open_app(page, url)
        show_photo(page)

        images = page.locator(GRID_IMAGES)
        assert images.count() == EXPECTED_IMAGES
        captions = page.locator(GRID_CAPTIONS).all_inner_texts()
        assert captions[0].startswith("Input")
        for name in METHOD_NAMES:
            assert any(caption.startswith(f"{name} ·") for caption in captions), captions
        assert page.locator("[data-testid='stException']").count() == 0

        screenshot(page, tmp_path / "app_screenshot.png")  # under tmp_path only: the README's is bench/app_screenshot.py's

        replace_the_upload_without_a_flash(page, tmp_path)
    assert "Traceback" not in log.read_text()


# Records, from now on, whether the main page ever shows the default sample's name or a broken image.
WATCH_FOR_FLASH = """() => {
    window.flashes = [];
    const main = document.querySelector('[data-testid="stMain"]');
    const check = () => {
        if (main.innerText.includes('Cat: chelsea')) window.flashes.push('the default sample');
        for (const img of main.querySelectorAll('img')) {
            if (img.complete && img.naturalWidth === 0 && img.getAttribute('src')) window.flashes.push('a broken image');
        }
    };
    new MutationObserver(check).observe(main, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def replace_the_upload_without_a_flash(page, tmp_path):
    """A second upload (a GIF, which the box must accept) replaces the first without showing the default sample."""
    import numpy as np
    from PIL import Image

    gif = tmp_path / "second.gif"
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(gif)
    page.evaluate(WATCH_FOR_FLASH)
    box = page.locator(UPLOAD_BOX)
    box.set_input_files(str(gif))
    page.locator("[data-testid='stMain']").get_by_text("second.gif", exact=False).first.wait_for()
    wait_until_settled(page)
    assert page.evaluate("window.flashes") == []
    assert "not allowed" not in page.locator("[data-testid='stSidebar']").inner_text()
