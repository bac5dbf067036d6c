"""`streamlit run app.py` on a free localhost port, and what a headless browser needs to drive it.

Used by the real-browser test (tests/test_app_browser.py) and the load benchmark (bench/load_app.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Debian's chromium; Playwright's own browser download is never used.
CHROMIUM = Path("/usr/bin/chromium")
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

EXPECTED_IMAGES = 7  # the main page's grid: the input and six overlays
# A JavaScript predicate, given the expected count: the script has finished, nothing in the main page's
# grid is stale or still showing a progress bar, and the input and every overlay are drawn.
SETTLED = """(expected) => {
    const grid = document.querySelector('.st-key-overlay_grid');
    const app = document.querySelector('[data-testid="stApp"]');
    if (!grid || !app || app.dataset.testScriptState !== 'notRunning') return false;
    if (grid.querySelector('[data-stale="true"], [data-testid="stProgress"]')) return false;
    return grid.querySelectorAll('[data-testid="stImage"] img').length === expected;
}"""


class ServerError(RuntimeError):
    """The server exited or did not answer; the message ends with the tail of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_app(log_path: Path, *, env: dict[str, str] | None = None, start_timeout_s: float = 90.0) -> Iterator[str]:
    """Run the app headless on 127.0.0.1, its output in ``log_path``; yields its URL and stops it on exit."""
    with local_app_process(log_path, env=env, start_timeout_s=start_timeout_s) as (url, _):
        yield url


@contextmanager
def local_app_process(
    log_path: Path, *, env: dict[str, str] | None = None, start_timeout_s: float = 90.0
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Like :func:`local_app`, but yields the server process too (e.g. to sample its memory)."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ if env is None else env))
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_healthy(url, server, log_path, start_timeout_s)
        yield url, server
    finally:
        _stop(server)


def _wait_until_healthy(url: str, server: subprocess.Popen, log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ServerError(f"streamlit exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise ServerError(f"streamlit did not answer within {timeout_s:.0f} s:\n{log_path.read_text()[-3000:]}")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=15)
