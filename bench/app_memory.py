"""The app's memory over time under varied use: does the server stay flat?

It starts `streamlit run app.py` headless (by default with OMP_NUM_THREADS=1), then one headless-Chromium
session (Debian's chromium through Playwright) does random actions, one after another with a pause between
them, for ``--minutes``: a sample photo; an upload of a new photo (a random crop of a shipped photo at a random
size, so its maps are never cached); a model among EfficientNet-Lite0/1/2 and the digits example; a class
typed in the class box; a layer; a resolution (224/320/448 px); one method fewer; another page (Compare
backbones, Multiple objects, Faithfulness, How the methods work) and back. Every ``--new-session-every``
actions the browser session closes and a fresh one opens (its settings at their defaults again).

Every ``--sample-seconds`` a thread reads the server process's resident memory (VmRSS in /proc) and writes
a row (elapsed s, RSS MiB, actions done, failed actions) to ``<output>.csv``; at the end ``<output>.md``
gives the first, peak and last RSS and the least-squares slope over the last half of the run.

    python -m bench.app_memory --minutes 60 --output bench/results/app_memory
    python -m bench.app_memory --minutes 3 --pause 5     # a quick try

A failed action (a timeout, an exception on the page) is counted and logged, and the run goes on.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from camlib.app.local_server import CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, local_app_process

PHOTOS = sorted((REPO_ROOT / "camlib" / "data" / "photos").glob("*.png"))
MODELS = ("EfficientNet-Lite0", "EfficientNet-Lite1", "EfficientNet-Lite2", "Digits CNN")
SAMPLES = ("Cat: chelsea", "Coffee cup: coffee", "Rocket: rocket", "Dog and cat", "Six dogs", "Two horses", "Five puppies")
IMAGENET_CLASSES = ("tabby", "tiger cat", "golden retriever", "espresso", "coffee mug", "space shuttle", "sorrel",
                    "beagle", "Egyptian cat", "bald eagle", "goldfish", "banana")
DIGIT_CLASSES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
RESOLUTIONS = ("224 px", "320 px", "448 px")
PAGES = ("Compare backbones", "Multiple objects", "Faithfulness", "How the methods work")
ACTIONS = ("sample", "upload", "model", "class", "layer", "resolution", "fewer methods", "page")
CLICK_TIMEOUT_MS = 30_000  # finding and clicking a control; a page run has --timeout
UPLOAD_BOX = "[data-testid='stSidebar'] [data-testid='stFileUploader'] input[type='file'][accept*='.png']"
SCRIPT_DONE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.dataset.testScriptState === 'notRunning'
        && !document.querySelector('[data-testid="stMain"] [data-testid="stProgress"]');
}"""


def rss_mib(pid: int) -> float:
    """The resident set size of process ``pid``, in MiB (VmRSS in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def new_photo(rng: random.Random, folder: Path) -> Path:
    """A random crop of a shipped photo at a random size, flipped at random, as PNG or JPEG."""
    with Image.open(rng.choice(PHOTOS)) as opened:
        image = opened.convert("RGB")
    width, height = image.size
    left, top = rng.randrange(0, width // 4 + 1), rng.randrange(0, height // 4 + 1)
    image = image.crop((left, top, left + width * 3 // 4, top + height * 3 // 4))
    side = rng.randrange(200, 1600)
    image = image.resize((side, max(64, int(side * rng.uniform(0.5, 1.5)))))
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    suffix = rng.choice((".png", ".jpg"))
    path = folder / f"photo_{time.monotonic_ns()}{suffix}"
    image.save(path)
    return path


class Driver:
    """One browser session on the app, and the random actions it does."""

    def __init__(self, browser, url: str, rng: random.Random, folder: Path, timeout_s: float) -> None:
        self.browser, self.url, self.rng, self.folder = browser, url, rng, folder
        self.timeout_ms = int(timeout_s * 1000)
        self.context = self.page = None
        self.model = MODELS[0]

    def open(self) -> None:
        if self.context is not None:
            self.context.close()
        self.context = self.browser.new_context(viewport={"width": 1440, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(CLICK_TIMEOUT_MS)
        self.page.goto(self.url, wait_until="domcontentloaded")
        self.model = MODELS[0]
        self.settle()

    def settle(self) -> None:
        self.page.wait_for_timeout(1000)  # let the rerun start
        self.page.wait_for_function(SCRIPT_DONE, timeout=self.timeout_ms, polling=500)
        exceptions = self.page.locator("[data-testid='stException']").count()
        if exceptions:
            raise RuntimeError(f"{exceptions} exception(s) on the page")

    def _open(self, box) -> None:
        """Open a select box's list (a second click when the first only took the focus from another box)."""
        box.click()
        listbox = self.page.get_by_role("listbox").first
        try:
            listbox.wait_for(state="visible", timeout=3000)
        except Exception:  # noqa: BLE001 - one more try, then the action fails with the click's own error
            box.click()
            listbox.wait_for(state="visible", timeout=5000)

    def _select(self, box, text: str, exact_option: str | None = None) -> None:
        self._open(box)
        if exact_option is not None:
            self.page.get_by_role("option", name=re.compile(re.escape(exact_option))).first.click()
        else:
            self.page.keyboard.type(text)
            self.page.keyboard.press("Enter")

    def _sidebar_box(self, key_prefix: str):
        return self.page.locator(f"[data-testid='stSidebar'] [class*='st-key-{key_prefix}'] [data-testid='stSelectbox']").first

    def act(self, action: str) -> str:
        page, rng = self.page, self.rng
        if action == "sample":
            choice = rng.choice(SAMPLES)
            self._select(self._sidebar_box("camlib_sample"), choice, exact_option=choice)
        elif action == "upload":
            choice = new_photo(rng, self.folder)
            page.locator(UPLOAD_BOX).set_input_files(str(choice))
        elif action == "model":
            choice = rng.choice(MODELS)
            self._select(self._sidebar_box("camlib_backbone"), choice, exact_option=choice)
            self.model = choice
        elif action == "class":
            choice = rng.choice(DIGIT_CLASSES if self.model == "Digits CNN" else IMAGENET_CLASSES)
            self._select(self._sidebar_box("camlib_class"), choice)
        elif action == "layer":
            self._open(self._sidebar_box("camlib_layer"))
            options = page.get_by_role("option")
            index = rng.randrange(min(6, options.count()))
            choice = options.nth(index).inner_text()
            options.nth(index).click()
        elif action == "resolution":
            choice = rng.choice(RESOLUTIONS)
            page.locator("[data-testid='stSidebar'] label").filter(has_text=re.compile(f"^{choice}$")).first.click()
        elif action == "fewer methods":
            page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect'] input").first.click()
            page.keyboard.press("Backspace")
            page.locator("[data-testid='stMain'] h1").first.click()  # closes the list and takes the focus away
            choice = "the last method removed"
        else:
            choice = rng.choice(PAGES)
            page.get_by_role("link", name=choice).first.click()
            self.settle()
            page.get_by_role("link", name="Compare methods").first.click()
        self.settle()
        return str(choice)


class Sampler(threading.Thread):
    """Writes the server's RSS every ``every_s`` seconds to a CSV file, until stopped."""

    def __init__(self, pid: int, path: Path, every_s: float, counts: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pid, self.path, self.every_s, self.counts = pid, path, every_s, counts
        self.rows: list[tuple[float, float, int, int]] = []
        self.stopped = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        with self.path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["elapsed_s", "rss_mib", "actions", "failed"])
            while True:
                row = (round(time.monotonic() - self.started_at, 1), round(rss_mib(self.pid), 1),
                       self.counts["actions"], self.counts["failed"])
                self.rows.append(row)
                writer.writerow(row)
                handle.flush()
                print(f"[{row[0]:7.0f} s] server RSS {row[1]:7.1f} MiB after {row[2]} actions ({row[3]} failed)", flush=True)
                if self.stopped.wait(self.every_s):
                    return


def slope_mib_per_hour(rows: list[tuple[float, float, int, int]]) -> float:
    times = np.array([row[0] for row in rows]) / 3600
    values = np.array([row[1] for row in rows])
    return float(np.polyfit(times, values, 1)[0]) if len(rows) >= 2 else float("nan")


def summary(rows, counts: dict[str, int], minutes: float, command: str) -> str:
    values = [row[1] for row in rows]
    first_half = [row for row in rows if row[0] < rows[-1][0] / 2]
    half = [row for row in rows if row[0] >= rows[-1][0] / 2]
    return "\n".join([
        f"Server RSS under varied use for {rows[-1][0] / 60:.0f} min (asked: {minutes:g}); `{command}`.",
        "A map's working memory comes and goes (Score-CAM's masked batches at 448 px), so the samples swing; the",
        "lowest sample of each half shows what stays.",
        "",
        "| first | peak | last | lowest, first half | lowest, last half | slope, last half | slope, whole run | actions | failed |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {values[0]:.0f} MiB | {max(values):.0f} MiB | {values[-1]:.0f} MiB | {min(row[1] for row in first_half or rows):.0f} MiB | "
        f"{min(row[1] for row in half):.0f} MiB | {slope_mib_per_hour(half):+.0f} MiB/h | "
        f"{slope_mib_per_hour(rows):+.0f} MiB/h | {counts['actions']} | {counts['failed']} |",
        "",
        "Actions done: " + ", ".join(f"{name} {counts.get(name, 0)}" for name in ACTIONS) + ".",
        "",
    ])


def drive(url: str, pid: int, args, output: Path) -> int:
    from playwright.sync_api import sync_playwright

    rng = random.Random(args.seed)
    counts = {"actions": 0, "failed": 0}
    sampler = Sampler(pid, output.with_suffix(".csv"), args.sample_seconds, counts)
    deadline = time.monotonic() + args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="camlib-memory-") as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        driver = Driver(browser, url, rng, Path(folder), args.timeout)
        driver.open()
        sampler.start()
        while time.monotonic() < deadline:
            action = "new session" if counts["actions"] and counts["actions"] % args.new_session_every == 0 else rng.choice(ACTIONS)
            started = time.perf_counter()
            print(f"{action} …", flush=True)
            try:
                done = driver.open() if action == "new session" else driver.act(action)
                print(f"{action}: {done or ''} ({time.perf_counter() - started:.1f} s)", flush=True)
            except Exception as error:  # noqa: BLE001 - counted, then a fresh session goes on
                counts["failed"] += 1
                print(f"{action} FAILED after {time.perf_counter() - started:.1f} s: {str(error).splitlines()[0][:200]}", flush=True)
                driver.open()
            counts["actions"] += 1
            counts[action] = counts.get(action, 0) + 1
            time.sleep(args.pause)
        browser.close()
    sampler.stopped.set()
    sampler.join()
    text = summary(sampler.rows, counts, args.minutes, "python -m bench.app_memory " + " ".join(sys.argv[1:]))
    output.with_suffix(".md").write_text(text)
    print(text)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="how long to drive the app (default 60)")
    parser.add_argument("--pause", type=float, default=10.0, help="seconds between actions (default 10)")
    parser.add_argument("--sample-seconds", type=float, default=30.0, help="seconds between RSS samples (default 30)")
    parser.add_argument("--new-session-every", type=int, default=12, help="actions per browser session (default 12)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one action may take (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", default="1", help="OMP_NUM_THREADS for the server (default 1)")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "bench" / "results" / "app_memory",
                        help="where the .csv and .md go (default bench/results/app_memory)")
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    log_path = Path(tempfile.mkstemp(prefix="camlib-app-memory-", suffix=".log")[1])
    env = {**os.environ, "OMP_NUM_THREADS": args.threads}
    with local_app_process(log_path, env=env) as (url, server):
        print(f"streamlit run app.py at {url} (pid {server.pid}, OMP_NUM_THREADS={args.threads}); log {log_path}", flush=True)
        return drive(url, server.pid, args, args.output)


if __name__ == "__main__":
    sys.exit(main())
