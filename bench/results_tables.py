"""Print the tables of docs/results.md from the per-image rows in docs/results/ (the numbers are never typed).

    python bench/results_tables.py > /tmp/tables.md
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from camlib.evaluate import markdown_table, read_rows, summarize
from camlib.pointing import pointing_markdown, read_pointing_rows, summarize_pointing

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
EVALUATIONS = [
    ("EfficientNet-Lite0 at `bn2` (the default layer), report half", ["report_lite0_bn2.csv"]),
    ("EfficientNet-Lite0 at `conv_head`, report half", ["report_lite0_conv_head.csv"]),
    ("EfficientNet-Lite0 at `bn2`, Score-CAM at the `fast` setting (the app's default), report half",
     ["report_lite0_bn2_scorecam_fast.csv"]),
    ("EfficientNet-Lite1 at `bn2`, report half, `fast` setting", ["report_lite1_bn2_fast.csv"]),
    ("EfficientNet-Lite2 at `bn2`, report half, `fast` setting", ["report_lite2_bn2_fast.csv"]),
]  # fmt: skip
STUDIES = [
    ("Grad++ScoreCAM's study, EfficientNet-Lite0 at `bn2`, tuning half (GPU)", "study_tuning_lite0_bn2.csv"),
    ("Grad++ScoreCAM's perturbation resolution, EfficientNet-Lite0 at `bn2`, tuning half (one CPU thread)",
     "study_sizes_tuning_lite0_bn2.csv"),
]  # fmt: skip
# The centre blob on the same tuning images as a study (camlib evaluate --half tuning --limit N --methods center).
STUDY_BASELINES = {"study_sizes_tuning_lite0_bn2.csv": "blob_tuning62_lite0_bn2.csv"}
STUDY_COLUMNS = [  # summary column, heading, decimals
    ("images", "images", 0), ("average_drop", "Avg Drop %", 1), ("average_increase", "Avg Inc %", 1),
    ("insertion_minus_deletion", "ins − del", 3), ("average_drop_10", "Avg Drop % at 10 % area", 1),
    ("average_drop_25", "at 25 %", 1), ("average_drop_50", "at 50 %", 1), ("complexity", "complexity", 3),
    ("masked_passes", "masked passes", 0), ("seconds", "s / image", 2),
]  # fmt: skip
POINTING = [
    ("Grid pointing game, EfficientNet-Lite0 at `bn2`, report half", ["pointing_lite0_bn2.csv"]),
    ("Grid pointing game, EfficientNet-Lite0 at `conv_head`, report half", ["pointing_lite0_conv_head.csv"]),
]


def study_markdown(path: Path) -> str:
    """A study summary (bench/study_summary.py) as a table, best insertion − deletion first."""
    with open(path, newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: -float(row["insertion_minus_deletion"]))
    columns = [column for column in STUDY_COLUMNS if column[0] in rows[0]]
    lines = ["| configuration | " + " | ".join(heading for _, heading, _ in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]  # fmt: skip
    baseline = STUDY_BASELINES.get(path.name)
    if baseline:
        blob = summarize(read_rows([RESULTS / baseline]))[0]
        rows.append({"configuration": "centre blob (no model), same images", **{key: getattr(blob, key, "nan") for key, _, _ in columns}})
    for row in rows:
        cells = [f"{float(row[key]):.{decimals}f}" for key, _, decimals in columns]
        lines.append(f"| {row['configuration']} | " + " | ".join(cells).replace("nan", "—") + " |")
    return "\n".join(lines)


def main() -> int:
    for title, names in EVALUATIONS:
        paths = [RESULTS / name for name in names if (RESULTS / name).is_file()]
        if paths:
            print(f"### {title}\n\n{markdown_table(summarize(read_rows(paths)))}\n")
    for title, names in POINTING:
        paths = [RESULTS / name for name in names if (RESULTS / name).is_file()]
        if paths:
            rows = read_pointing_rows(paths)
            grids = len({row["grid"] for row in rows})
            print(f"### {title} ({grids} grids of 448 × 448)\n\n{pointing_markdown(summarize_pointing(rows))}\n")
    for title, name in STUDIES:
        if (RESULTS / name).is_file():
            print(f"### {title}\n\n{study_markdown(RESULTS / name)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
