"""The app under load: real browser sessions against `streamlit run app.py`, with latency percentiles and errors.

It starts `streamlit run app.py` headless on a free localhost port (its log in a temporary file), then
drives N concurrent sessions, one headless-Chromium browser context each (Debian's /usr/bin/chromium
through Playwright; Playwright's own browser download is never used):

- open: each session loads the main page and waits until the input and all six overlays are drawn;
  every session explains the same default sample, so the first request computes and the others wait for it;
- then R rounds; the sessions run each round at the same time and the next round starts when all are
  done. Odd rounds (1, 3, ...) give each session a sample no one has asked for yet (cold: the maps are
  computed), even rounds (2, 4, ...) give each session the sample its neighbour had in the round before
  (warm: the maps come from the cache; with one session, the first load's sample). A sample already
  asked for counts as warm whatever the round.

It prints each measurement, then p50, p90 and max per kind (cold, warm, open) and the error count, and
scans the server log for "Traceback" and "Exception". The exit status is 1 when a session failed or the
log has an exception.

    python bench/load_app.py --sessions 4 --rounds 2               # the app's default (the fast setting)
    python bench/load_app.py --sessions 4 --rounds 2 --fast-test   # CAMLIB_APP_FAST_TEST=1: the quick preset
    python -m bench.load_app --exact-and-fast                      # does one visitor's Exact hold up another?
    python bench/load_app.py --first-visit --repeats 3             # a cold server's first visit (bench/app_first_visit.py)

--exact-and-fast: two sessions open the app. Session B first explains a new sample alone (Fast, its
baseline). Then session A switches to Exact, and as soon as A's slow methods are running, B explains another
new sample at Fast. It prints B's time alone and B's time beside A's Exact run, both until B's grid is
complete and until B's first maps (CAM, Grad-CAM, Grad-CAM++) are drawn, then A's time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from camlib.app.local_server import CHROMIUM, CHROMIUM_ARGS, EXPECTED_IMAGES, SETTLED, ServerError, local_app
from camlib.app.settings import FAST_TEST_ENV

LOG_MARKERS = ("Traceback", "Exception")
EXPLAINING = """(name) => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stMarkdown"]')]
    .some((element) => element.innerText.includes('Explaining') && element.innerText.includes(name))"""


@dataclass
class Measurement:
    session: int
    round: int  # 0 is the first page load
    kind: str  # "open", "cold" or "warm"
    sample: str
    seconds: float
    error: str | None = None


def sample_labels() -> list[str]:
    """The samples the app offers, in its order: the first is the one a new session explains."""
    from streamlit.logger import get_logger

    # Outside a server, st.cache_data warns that it has no runtime: expected here, where nothing is cached.
    get_logger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)
    from camlib.app.inputs import available_samples

    return [sample.label for sample in available_samples()]


def schedule(sessions: int, rounds: int, default: str, others: list[str]) -> list[list[str]]:
    """The sample each session explains in each round (round 0 is the first page load, on the default)."""
    plan = [[default] * sessions]
    unused = list(others)
    for number in range(1, rounds + 1):
        if number % 2 == 1:
            fresh = [unused.pop(0) if unused else others[(number + session) % len(others)] for session in range(sessions)]
            plan.append(fresh)
        else:  # the neighbour's sample; with one session, the first load's
            plan.append([plan[-1][(session + 1) % sessions] if sessions > 1 else default for session in range(sessions)])
    return plan


def kinds_of(plan: list[list[str]]) -> list[list[str]]:
    """Open for the first load; then cold where a round asks for a sample for the first time, else warm."""
    seen = set(plan[0])
    kinds = [["open"] * len(plan[0])]
    for samples in plan[1:]:
        kinds.append(["warm" if sample in seen else "cold" for sample in samples])
        seen.update(samples)
    return kinds


async def page_problem(page) -> str | None:
    exceptions = await page.locator("[data-testid='stException']").count()
    if exceptions:
        return f"{exceptions} exception(s) shown on the page"
    return None


async def new_session(browser, timeout_ms: int):
    """A page in its own browser context: its own cookies and websocket, so its own Streamlit session."""
    context = await browser.new_context(viewport={"width": 1440, "height": 1200})
    page = await context.new_page()
    page.set_default_timeout(timeout_ms)
    return page


async def timed(action, page, timeout_ms: int) -> tuple[float, str | None]:
    """Seconds from the start of ``action`` until the grid has settled, and what went wrong if anything did."""
    started = time.perf_counter()
    try:
        await action()
        await page.wait_for_function(SETTLED, arg=EXPECTED_IMAGES, timeout=timeout_ms)
        return time.perf_counter() - started, await page_problem(page)
    except Exception as error:  # noqa: BLE001 - a failed session is counted and reported, not fatal
        return time.perf_counter() - started, f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


async def first_load(page, url: str, sample: str, timeout_ms: int) -> tuple[float, str | None]:
    async def load() -> None:
        await page.goto(url, wait_until="domcontentloaded")
        await page.wait_for_function(EXPLAINING, arg=sample, timeout=timeout_ms)

    return await timed(load, page, timeout_ms)


async def choose_sample(page, sample: str, timeout_ms: int) -> tuple[float, str | None]:
    async def choose() -> None:
        await page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
        await page.get_by_role("option", name=sample, exact=True).click()
        await page.wait_for_function(EXPLAINING, arg=sample, timeout=timeout_ms)

    return await timed(choose, page, timeout_ms)


async def drive(url: str, plan: list[list[str]], kinds: list[list[str]], timeout_s: float) -> list[Measurement]:
    from playwright.async_api import async_playwright

    timeout_ms = int(timeout_s * 1000)
    measurements: list[Measurement] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            pages = [await new_session(browser, timeout_ms) for _ in plan[0]]
            for number, samples in enumerate(plan):
                if number == 0:
                    runs = [first_load(page, url, sample, timeout_ms) for page, sample in zip(pages, samples)]
                else:
                    runs = [choose_sample(page, sample, timeout_ms) for page, sample in zip(pages, samples)]
                outcomes = await asyncio.gather(*runs)
                for session, ((seconds, error), sample) in enumerate(zip(outcomes, samples)):
                    measurement = Measurement(session, number, kinds[number][session], sample, seconds, error)
                    measurements.append(measurement)
                    status = f"ERROR {error}" if error else "ok"
                    print(f"round {number} session {session} {measurement.kind:<4} {seconds:7.1f} s  {sample}  {status}", flush=True)
        finally:
            await browser.close()
    return measurements


CHEAP_MAPS_DRAWN = """() => document.querySelectorAll('.st-key-overlay_grid [data-testid="stImage"] img').length >= 4"""
SLOW_METHODS_RUNNING = """() => document.querySelector('.st-key-overlay_grid [data-testid="stProgress"]') !== null"""


async def explain_sample(page, sample: str, timeout_ms: int) -> tuple[float, float, str | None]:
    """Choose a sample; seconds until the first three maps are drawn and until the grid is complete."""
    started = time.perf_counter()
    try:
        await page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
        await page.get_by_role("option", name=sample, exact=True).click()
        await page.wait_for_function(EXPLAINING, arg=sample, timeout=timeout_ms)
        await page.wait_for_function(CHEAP_MAPS_DRAWN, timeout=timeout_ms)
        first_maps = time.perf_counter() - started
        await page.wait_for_function(SETTLED, arg=EXPECTED_IMAGES, timeout=timeout_ms)
        return first_maps, time.perf_counter() - started, await page_problem(page)
    except Exception as error:  # noqa: BLE001 - reported, not fatal
        return float("nan"), time.perf_counter() - started, f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


async def exact_and_fast(url: str, samples: list[str], timeout_s: float) -> int:
    """Session B's time alone and beside session A's Exact run (see the module docstring)."""
    from playwright.async_api import async_playwright

    timeout_ms = int(timeout_s * 1000)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            exact_page, fast_page = [await new_session(browser, timeout_ms) for _ in range(2)]
            for page in (exact_page, fast_page):
                seconds, error = await first_load(page, url, samples[0], timeout_ms)
                print(f"open {seconds:6.1f} s {error or ''}", flush=True)
            first, total, error = await explain_sample(fast_page, samples[1], timeout_ms)
            print(f"B alone (Fast, {samples[1]}): first maps {first:.1f} s, all six {total:.1f} s {error or ''}", flush=True)

            async def exact_run() -> float:
                started = time.perf_counter()
                await exact_page.locator("[data-testid='stSidebar'] label").filter(has_text=re.compile("^Exact$")).click()
                await exact_page.wait_for_function(SLOW_METHODS_RUNNING, timeout=timeout_ms)
                running.set()
                await exact_page.wait_for_function(SETTLED, arg=EXPECTED_IMAGES, timeout=timeout_ms)
                return time.perf_counter() - started

            async def fast_run():
                await running.wait()
                return await explain_sample(fast_page, samples[2], timeout_ms)

            running = asyncio.Event()
            exact_seconds, (first, total, error) = await asyncio.gather(exact_run(), fast_run())
            print(f"B beside A's Exact (Fast, {samples[2]}): first maps {first:.1f} s, all six {total:.1f} s {error or ''}")
            print(f"A (Exact, {samples[0]}): {exact_seconds:.1f} s")
            return 1 if error else 0
        finally:
            await browser.close()


def report(measurements: list[Measurement]) -> int:
    errors = [m for m in measurements if m.error]
    print()
    print(f"{'kind':<5} {'n':>3} {'p50 s':>8} {'p90 s':>8} {'max s':>8} {'errors':>7}")
    for kind in ("open", "cold", "warm"):
        chosen = [m for m in measurements if m.kind == kind]
        if not chosen:
            continue
        seconds = [m.seconds for m in chosen if not m.error]
        failed = sum(1 for m in chosen if m.error)
        if seconds:
            p50, p90, worst = np.percentile(seconds, 50), np.percentile(seconds, 90), max(seconds)
            print(f"{kind:<5} {len(chosen):>3} {p50:>8.1f} {p90:>8.1f} {worst:>8.1f} {failed:>7}")
        else:
            print(f"{kind:<5} {len(chosen):>3} {'-':>8} {'-':>8} {'-':>8} {failed:>7}")
    print(f"errors: {len(errors)} of {len(measurements)} page runs")
    return len(errors)


def scan_log(log_path: Path) -> int:
    lines = log_path.read_text(errors="replace").splitlines()
    flagged = [(number, line) for number, line in enumerate(lines, 1) if any(marker in line for marker in LOG_MARKERS)]
    print(f"server log {log_path}: {len(lines)} lines, {len(flagged)} with {' or '.join(LOG_MARKERS)}")
    for number, line in flagged[:10]:
        print(f"  {number}: {line[:200]}")
    return len(flagged)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=4, help="concurrent browser sessions (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per session after the first load (default 2)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one page run may take (default 600)")
    parser.add_argument("--fast-test", action="store_true", help=f"run the server with {FAST_TEST_ENV}=1 (the quick test preset)")
    parser.add_argument("--exact-and-fast", action="store_true", help="two sessions: does one on Exact hold up one on Fast?")
    parser.add_argument("--first-visit", action="store_true",
                        help="time to first content, photo and maps of a cold server's first visit (bench/app_first_visit.py)")
    parser.add_argument("--repeats", type=int, default=3, help="with --first-visit: cold servers to time (default 3)")
    parser.add_argument("--output", type=Path, help="with --first-visit: also write the table as markdown here")
    args = parser.parse_args()
    if args.sessions < 1 or args.rounds < 0 or args.timeout <= 0:
        parser.error("--sessions must be at least 1, --rounds at least 0 and --timeout positive")
    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2

    if args.first_visit:
        sys.path.insert(0, str(Path(__file__).resolve().parent))  # also under `python -m bench.load_app`
        from app_first_visit import run

        return run(max(1, args.repeats), args.timeout, args.fast_test, args.output)
    labels = sample_labels()
    plan = schedule(args.sessions, args.rounds, labels[0], labels[1:])
    kinds = kinds_of(plan)
    log_path = Path(tempfile.mkstemp(prefix="camlib-load-app-", suffix=".log")[1])
    env = {name: value for name, value in os.environ.items() if name != FAST_TEST_ENV}
    if args.fast_test:
        env[FAST_TEST_ENV] = "1"
    setting = f"{FAST_TEST_ENV}=1 (quick test preset)" if args.fast_test else "default settings (the fast setting)"
    if args.exact_and_fast:
        with local_app(log_path, env=env) as url:
            print(f"streamlit run app.py at {url}: one session on Exact, one on Fast")
            failed = asyncio.run(exact_and_fast(url, labels, args.timeout))
        return 1 if failed or scan_log(log_path) else 0
    try:
        with local_app(log_path, env=env) as url:
            print(f"streamlit run app.py at {url}, {setting}; {args.sessions} sessions × {args.rounds} rounds after the first load")
            started = time.perf_counter()
            measurements = asyncio.run(drive(url, plan, kinds, args.timeout))
            print(f"wall time {time.perf_counter() - started:.1f} s")
    except ServerError as error:
        print(error, file=sys.stderr)
        return 1
    errors = report(measurements)
    flagged = scan_log(log_path)
    return 1 if errors or flagged else 0


if __name__ == "__main__":
    sys.exit(main())
