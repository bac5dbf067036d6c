"""One summary row per configuration of a ``bench/study_gradpp_scorecam.py`` output folder, over the images
that every configuration finished (so the rows compare like with like), as the CSV that
``bench/results_tables.py`` prints in docs/results.md.

    python bench/study_summary.py /work/runs/study_sizes --out docs/results/study_sizes_tuning_lite0_bn2.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

COLUMNS = {  # summary column: per-image column of the study's CSVs
    "average_drop": "average_drop",
    "average_increase": "average_increase",
    "insertion_auc": "insertion_auc",
    "deletion_auc": "deletion_auc",
    "average_drop_10": "drop_10",
    "average_drop_25": "drop_25",
    "average_drop_50": "drop_50",
    "complexity": "complexity",
    "masked_passes": "masked_passes",
    "seconds": "seconds",
}


def read_rows(path: Path) -> dict[str, dict]:
    """One configuration's CSV: file -> row."""
    with open(path, newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


def read_study(folder: Path) -> dict[str, dict[str, dict]]:
    """configuration name -> file -> row."""
    return {path.stem: read_rows(path) for path in sorted(folder.glob("*.csv"))}


def summary_rows(study: dict[str, dict[str, dict]]) -> list[dict]:
    common = set.intersection(*(set(rows) for rows in study.values())) if study else set()
    summary = []
    for name, rows in study.items():
        values = {key: np.mean([float(rows[f][column]) for f in common]) for key, column in COLUMNS.items()}
        values["insertion_minus_deletion"] = values["insertion_auc"] - values["deletion_auc"]
        summary.append({"configuration": name, "images": len(common), **{k: round(float(v), 4) for k, v in values.items()}})
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = summary_rows(read_study(args.study_dir))
    if not rows or not rows[0]["images"]:
        print(f"study_summary: no image finished by every configuration in {args.study_dir}", file=sys.stderr)
        return 2
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"Wrote {args.out}: {len(rows)} configurations on {rows[0]['images']} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
