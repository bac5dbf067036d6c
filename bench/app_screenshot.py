"""The README's screenshot of the app: assets/app_screenshot.png, made by driving the real app in a browser.

Starts `streamlit run app.py` headless on a free localhost port (CAMLIB_OFFLINE=1, its log in a temporary
folder), opens it in headless Chromium (Debian's /usr/bin/chromium through Playwright, as
tests/test_app_browser.py does), uploads camlib/data/photos/dog_and_cat.png (or picks the coffee-cup sample
when ../shared is absent), waits for the input and the six maps, and saves a full-page screenshot.

    python bench/app_screenshot.py                      # writes assets/app_screenshot.png
    python bench/app_screenshot.py --out /tmp/app.png

Takes a minute or two on 2 CPU cores (the model loads, then the six methods run twice: once for the
default sample, once for the photo). Exits 1 with one line on stderr when chromium or playwright is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # app_browser, also under `python -m bench.app_screenshot`

from app_browser import DOG_AND_CAT, GRID_IMAGES, chromium_page, missing_browser, open_app, screenshot, show_photo

from camlib.app.local_server import EXPECTED_IMAGES, REPO_ROOT, local_app

DEFAULT_OUT = REPO_ROOT / "assets" / "app_screenshot.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the PNG to write (default: {DEFAULT_OUT.relative_to(REPO_ROOT)})")
    parser.add_argument("--photo", type=Path, default=DOG_AND_CAT, help="the image to upload (default: camlib/data/photos/dog_and_cat.png)")
    args = parser.parse_args(argv)
    problem = missing_browser()
    if problem:
        print(f"app_screenshot: {problem}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "streamlit.log"
        with local_app(log, env={**os.environ, "CAMLIB_OFFLINE": "1"}) as url, chromium_page() as page:
            open_app(page, url)
            shown = show_photo(page, args.photo)
            drawn = page.locator(GRID_IMAGES).count()
            if drawn != EXPECTED_IMAGES:
                print(f"app_screenshot: the grid shows {drawn} images, not {EXPECTED_IMAGES}", file=sys.stderr)
                return 1
            screenshot(page, args.out)
        if "Traceback" in log.read_text():
            print(f"app_screenshot: the app raised:\n{log.read_text()[-3000:]}", file=sys.stderr)
            return 1
    print(f"Wrote {args.out} ({shown}, {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
