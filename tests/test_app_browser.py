"""The app in a real browser: `streamlit run app.py` on a free localhost port, driven by headless Chromium.

Needs Debian's chromium (/usr/bin/chromium) and the playwright Python package; Playwright's own browser
download is never used. The test uploads ../shared/images/dog_and_cat.png (or picks a sample when
../shared is absent), waits for the input and the six overlays, counts them, and saves a screenshot to
assets/app_screenshot.png (the README's) and to the test's tmp folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
DOG_AND_CAT = REPO_ROOT.parent / "shared" / "images" / "dog_and_cat.png"
SCREENSHOT = REPO_ROOT / "assets" / "app_screenshot.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 60
RUN_TIMEOUT_MS = 180_000  # one script run: model load plus six methods (exact Score-CAM) on a 2-core CPU
EXPECTED_IMAGES = 7  # the input and six overlays

GRID_IMAGES = ".st-key-overlay_grid [data-testid='stImage'] img"
SETTLED = """(expected) => {
    const grid = document.querySelector('.st-key-overlay_grid');
    const app = document.querySelector('[data-testid="stApp"]');
    if (!grid || !app || app.dataset.testScriptState !== 'notRunning') return false;
    if (grid.querySelector('[data-stale="true"], [data-testid="stProgress"]')) return false;
    return grid.querySelectorAll('[data-testid="stImage"] img').length === expected;
}"""

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not answer within {SERVER_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def app_url(tmp_path):
    port = _free_port()
    log = tmp_path / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(url, server, log)
        yield url, log
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


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
        finally:
            browser.close()
    assert "Traceback" not in log.read_text()
