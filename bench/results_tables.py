"""Print the tables of docs/results.md from the per-image rows in docs/results/ (the numbers are never typed).

    python bench/results_tables.py > /tmp/tables.md
"""

from __future__ import annotations

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
POINTING = [
    ("Grid pointing game, EfficientNet-Lite0 at `bn2`, report half", ["pointing_lite0_bn2.csv"]),
    ("Grid pointing game, EfficientNet-Lite0 at `conv_head`, report half", ["pointing_lite0_conv_head.csv"]),
]


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
    return 0


if __name__ == "__main__":
    sys.exit(main())
