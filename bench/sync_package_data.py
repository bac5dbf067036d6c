"""Copy the files of docs/results/ that the app reads at run time into camlib/data/results/ (package data).

docs/results/ is the one source of these rows (bench/results_tables.py and docs/results.md read it); the
installed package cannot reach it, so camlib ships copies, listed in ``camlib.resources.PACKAGED_RESULTS``.
Run after docs/results/ changes; ``tests/test_resources.py`` fails until the copies are equal again.

    python bench/sync_package_data.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

from camlib.resources import PACKAGED_RESULTS

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    target = ROOT / "camlib" / "data" / "results"
    target.mkdir(parents=True, exist_ok=True)
    for name in PACKAGED_RESULTS:
        shutil.copyfile(ROOT / "docs" / "results" / name, target / name)
        print(f"docs/results/{name} -> camlib/data/results/{name}")


if __name__ == "__main__":
    main()
