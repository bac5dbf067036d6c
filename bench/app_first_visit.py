"""The first visit to a cold server, in headless Chromium: when each part of the main page first appears.

Each repeat starts a fresh `streamlit run app.py` (nothing imported, no model loaded, every cache empty), then
one browser opens the main page. A script injected before the page loads checks every 50 ms, in the page
itself, when each of these first holds, in milliseconds since the navigation began (``performance.now()``):

- content: the page's title and the sidebar's sample box are drawn;
- photo: the input photo is drawn in the main area;
- first maps: the input and three maps (the cheap methods: CAM, Grad-CAM, Grad-CAM++) are in the grid;
- all maps: the script has finished and the input and all six maps are drawn.

    python bench/load_app.py --first-visit --repeats 3      # the app's default setting
    python -m bench.app_first_visit --repeats 3             # the same

It prints one line per repeat and the median of each mark, and with ``--output`` writes them as markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from camlib.app.local_server import CHROMIUM, CHROMIUM_ARGS, EXPECTED_IMAGES, SETTLED, ServerError, local_app
from camlib.app.settings import FAST_TEST_ENV

MARKS = ("content", "photo", "first maps", "all maps")
# Runs in the page before its own scripts: records when each mark first holds (ms since navigation start).
RECORDER = """
window.__camlibMarks = {};
const camlibChecks = {
  'content': () => !!document.querySelector('[data-testid="stMain"] h1')
                && !!document.querySelector('[data-testid="stSidebar"] [data-testid="stSelectbox"]'),
  'photo': () => !!document.querySelector('[data-testid="stMain"] [data-testid="stImage"] img'),
  'first maps': () => document.querySelectorAll('.st-key-overlay_grid [data-testid="stImage"] img').length >= 4,
  'all maps': () => (%s)(%d),
};
const camlibTimer = setInterval(() => {
  for (const [name, check] of Object.entries(camlibChecks)) {
    if (!(name in window.__camlibMarks)) { try { if (check()) window.__camlibMarks[name] = performance.now(); } catch (e) {} }
  }
  if (Object.keys(window.__camlibMarks).length === Object.keys(camlibChecks).length) clearInterval(camlibTimer);
}, 50);
""" % (SETTLED, EXPECTED_IMAGES)


def first_visit(url: str, timeout_s: float) -> dict[str, float]:
    """Seconds from the start of navigation to each mark of one cold first visit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.add_init_script(RECORDER)
            page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
            page.wait_for_function(f"() => Object.keys(window.__camlibMarks).length === {len(MARKS)}",
                                   timeout=timeout_s * 1000, polling=200)
            marks = page.evaluate("() => window.__camlibMarks")
            exceptions = page.locator("[data-testid='stException']").count()
        finally:
            browser.close()
    if exceptions:
        raise RuntimeError(f"{exceptions} exception(s) shown on the page")
    return {name: marks[name] / 1000 for name in MARKS}


def measure(repeats: int, timeout_s: float, env: dict[str, str]) -> list[dict[str, float]]:
    """One cold server per repeat; the seconds it took to answer, and each mark of its first visit."""
    rows = []
    for repeat in range(repeats):
        log_path = Path(tempfile.mkstemp(prefix="camlib-first-visit-", suffix=".log")[1])
        started = time.perf_counter()
        with local_app(log_path, env=env) as url:
            row = {"server start": time.perf_counter() - started, **first_visit(url, timeout_s)}
        rows.append(row)
        print(f"repeat {repeat + 1}: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in row.items()), flush=True)
    return rows


def markdown(rows: list[dict[str, float]], command: str) -> str:
    names = list(rows[0])
    lines = [f"First visit to a cold server, headless Chromium 1440 × 900 (`{command}`); seconds since navigation "
             "began, server start since the process was spawned.", "",
             "| repeat | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {number} | " + " | ".join(f"{row[name]:.1f}" for name in names) + " |" for number, row in enumerate(rows, 1)]
    lines.append("| median | " + " | ".join(f"{statistics.median(row[name] for row in rows):.1f}" for name in names) + " |")
    return "\n".join(lines) + "\n"


def run(repeats: int, timeout_s: float, fast_test: bool, output: Path | None) -> int:
    env = {name: value for name, value in os.environ.items() if name != FAST_TEST_ENV}
    if fast_test:
        env[FAST_TEST_ENV] = "1"
    try:
        rows = measure(repeats, timeout_s, env)
    except (ServerError, RuntimeError) as error:
        print(error, file=sys.stderr)
        return 1
    text = markdown(rows, "python " + " ".join(sys.argv))
    print(text)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="cold servers, one first visit each (default 3)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one visit may take (default 600)")
    parser.add_argument("--fast-test", action="store_true", help=f"run the server with {FAST_TEST_ENV}=1")
    parser.add_argument("--output", type=Path, help="also write the table as markdown here")
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    return run(max(1, args.repeats), args.timeout, args.fast_test, args.output)


if __name__ == "__main__":
    sys.exit(main())
