"""The app in a real browser: `streamlit run app.py` on a free localhost port, driven by headless Chromium.

Needs Debian's chromium (/usr/bin/chromium) and the playwright Python package; Playwright's own browser
download is never used. The test uploads ../shared/images/dog_and_cat.png (or picks a sample when
../shared is absent), waits for the input and the six overlays, counts them, and saves a screenshot to
assets/app_screenshot.png (the README's) and to the test's tmp folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from camlib.app.local_server import CHROMIUM, CHROMIUM_ARGS, EXPECTED_IMAGES, SETTLED, local_app

REPO_ROOT = Path(__file__).resolve().parents[1]
DOG_AND_CAT = REPO_ROOT.parent / "shared" / "images" / "dog_and_cat.png"
SCREENSHOT = REPO_ROOT / "assets" / "app_screenshot.png"
RUN_TIMEOUT_MS = 180_000  # one script run: model load plus six methods on a 2-core CPU, with a wide margin

GRID_IMAGES = ".st-key-overlay_grid [data-testid='stImage'] img"

pytestmark = pytest.mark.browser


@pytest.fixture
def app_url(tmp_path):
    log = tmp_path / "streamlit.log"
    with local_app(log) as url:
        yield url, log


def test_app_renders_all_overlays_in_chromium(app_url, tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    url, log = app_url

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1560})
            page.set_default_timeout(RUN_TIMEOUT_MS)
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_function(SETTLED, arg=EXPECTED_IMAGES, timeout=RUN_TIMEOUT_MS)

            if DOG_AND_CAT.is_file():
                page.locator("[data-testid='stSidebar'] [data-testid='stFileUploader'] input[type='file']").set_input_files(str(DOG_AND_CAT))
                expected_name = DOG_AND_CAT.name
            else:
                page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
                page.get_by_role("option", name="Coffee cup: coffee (scikit-image)").click()
                expected_name = "Coffee cup"
            page.get_by_text(expected_name, exact=False).first.wait_for()
            page.locator("[data-testid='stMain']").get_by_text(expected_name, exact=False).first.wait_for()
            page.wait_for_function(SETTLED, arg=EXPECTED_IMAGES, timeout=RUN_TIMEOUT_MS)

            images = page.locator(GRID_IMAGES)
            assert images.count() == EXPECTED_IMAGES
            captions = page.locator(".st-key-overlay_grid [data-testid='stImageCaption']").all_inner_texts()
            assert captions[0].startswith("Input")
            for name in ("CAM", "Grad-CAM", "Grad-CAM++", "SmoothGrad-CAM++", "Grad++ScoreCAM", "Score-CAM"):
                assert any(caption.startswith(f"{name} ·") for caption in captions), captions
            assert page.locator("[data-testid='stException']").count() == 0
            page.locator("[data-testid='stPlotlyChart']").last.wait_for()

            page.screenshot(path=str(tmp_path / "app_screenshot.png"), full_page=True)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(tmp_path / "app_screenshot.png", SCREENSHOT)

            replace_the_upload_without_a_flash(page, tmp_path)
        finally:
            browser.close()
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
    box = page.locator("[data-testid='stSidebar'] [data-testid='stFileUploader'] input[type='file']")
    box.set_input_files(str(gif))
    page.locator("[data-testid='stMain']").get_by_text("second.gif", exact=False).first.wait_for()
    page.wait_for_function(SETTLED, arg=EXPECTED_IMAGES, timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("window.flashes") == []
    assert "not allowed" not in page.locator("[data-testid='stSidebar']").inner_text()
