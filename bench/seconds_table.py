"""One table of seconds per map for the leaderboard, from the ``seconds`` step of bench/leaderboard_runs.sh.

    python bench/seconds_table.py RUN_DIR/seconds_*.csv --out docs/results/extra_seconds.csv

Each input is a ``camlib evaluate`` CSV (its configuration line names the model and the speed setting); the
output has one row per timed map: backbone, method, speed, file, seconds (``camlib.seconds_tables``). Rows
with an error and the baselines (no computation to time) are left out.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camlib.results_file import read_results_file  # noqa: E402

COLUMNS = ("backbone", "method", "speed", "file", "seconds")


def timed_rows(path: Path) -> list[dict]:
    results = read_results_file(path)
    config = results.config or {}
    backbone, speed = config.get("backbone"), config.get("speed", "exact")
    if not backbone:
        raise SystemExit(f"{path}: no configuration line naming the model")
    return [
        {"backbone": backbone, "method": row["method"], "speed": speed, "file": row["file"], "seconds": row["seconds"]}
        for row in results.rows
        if row.get("kind") != "baseline" and not row.get("error") and row.get("seconds")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    rows = [row for path in args.inputs for row in timed_rows(path)]
    with open(args.out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} timed maps from {len(args.inputs)} files -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
