"""Drive the app in headless Chromium: open it, show a photo, wait for the six maps, take a screenshot.

Shared by the real-browser test (tests/test_app_browser.py) and the README's screenshot
(bench/app_screenshot.py); the server itself starts in camlib.app.local_server. Needs Debian's chromium
(/usr/bin/chromium) and the playwright Python package; Playwright's own browser download is never used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from camlib.app.local_server import CHROMIUM, CHROMIUM_ARGS, EXPECTED_IMAGES, REPO_ROOT, SETTLED

DOG_AND_CAT = REPO_ROOT / "camlib" / "data" / "photos" / "dog_and_cat.png"
FALLBACK_SAMPLE = "Coffee cup: coffee (scikit-image)"
"""The sample shown when the photo given to :func:`show_photo` is absent."""
RUN_TIMEOUT_MS = 180_000  # one script run: model load plus six methods on a 2-core CPU, with a wide margin
VIEWPORT = {"width": 1440, "height": 1560}

GRID_IMAGES = ".st-key-overlay_grid [data-testid='stImage'] img"
GRID_CAPTIONS = ".st-key-overlay_grid [data-testid='stImageCaption']"
UPLOAD_BOX = "[data-testid='stSidebar'] [data-testid='stFileUploader'] input[type='file'][accept*='.png']"  # the image box, not the model's
METHOD_NAMES = ("CAM", "Grad-CAM", "Grad-CAM++", "SmoothGrad-CAM++", "Grad++ScoreCAM", "Score-CAM")


def missing_browser() -> str | None:
    """Why the app cannot be driven here (one line), or None when chromium and playwright are both there."""
    if not CHROMIUM.is_file():
        return f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright; no browser download needed)"
    return None


@contextmanager
def chromium_page() -> Iterator[object]:
    """A page of a headless Chromium (Debian's), closed on exit; its default timeout is one script run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(RUN_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def wait_until_settled(page) -> None:
    """Until the script has finished and the input and the six overlays are drawn."""
    page.wait_for_function(SETTLED, arg=EXPECTED_IMAGES, timeout=RUN_TIMEOUT_MS)


def open_app(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_until_settled(page)


def show_photo(page, photo: Path = DOG_AND_CAT) -> str:
    """Upload ``photo`` in the sidebar (or, when it is absent, choose :data:`FALLBACK_SAMPLE`), wait until
    its maps are drawn, and return the name the page shows for it."""
    if photo.is_file():
        page.locator(UPLOAD_BOX).set_input_files(str(photo))
        expected_name = photo.name
    else:
        page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
        page.get_by_role("option", name=FALLBACK_SAMPLE).click()
        expected_name = FALLBACK_SAMPLE.split(":")[0]
    page.get_by_text(expected_name, exact=False).first.wait_for()
    page.locator("[data-testid='stMain']").get_by_text(expected_name, exact=False).first.wait_for()
    wait_until_settled(page)
    return expected_name


def screenshot(page, path: Path) -> None:
    """The whole page, once the last chart is drawn, as a PNG at ``path``."""
    page.locator("[data-testid='stPlotlyChart']").last.wait_for()
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
