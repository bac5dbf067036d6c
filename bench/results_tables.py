"""Print the tables of docs/results.md from the per-image rows in docs/results/ (the numbers are never typed),
or write them into the document under their headings.

    python bench/results_tables.py > /tmp/tables.md
    python bench/results_tables.py --update docs/results.md
"""

from __future__ import annotations

import argparse
import csv
import re
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
CHOICE = ("Grad++ScoreCAM's four shortlisted configurations scored with the whole suite, tuning half "
          "(`docs/results/choice_tuning_lite0_bn2.json`)", "choice_tuning_lite0_bn2.json")
CHOICE_COLUMNS = [  # key in the JSON, heading, decimals
    ("masked_passes", "masked passes", 0), ("adcc", "ADCC", 3), ("suite_insertion_minus_deletion", "insertion − deletion", 3),
    ("energy_share", "pointing energy share", 3), ("mean_rank", "mean rank", 2),
]  # fmt: skip
POINTING = [
    ("Grid pointing game, EfficientNet-Lite0 at `bn2`, report half", ["pointing_lite0_bn2.csv"]),
    ("Grid pointing game, EfficientNet-Lite0 at `conv_head`, report half", ["pointing_lite0_conv_head.csv"]),
    ("Grid pointing game, EfficientNet-Lite1 at `bn2`, report half", ["pointing_lite1_bn2.csv"]),
    ("Grid pointing game, EfficientNet-Lite2 at `bn2`, report half", ["pointing_lite2_bn2.csv"]),
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
    lines += ["", STUDY_NOTE]
    return "\n".join(lines)


STUDY_NOTE = (
    "Means only: the study kept one summary row per configuration, not per-image rows, so these means carry no "
    "interval and no verdict is drawn from them; they ranked configurations on the tuning half, and every claim "
    "about the chosen default is made on the report half, with intervals, in the tables above."
)


def choice_markdown(path: Path) -> str:
    """The shortlisted configurations of ``bench/choose_gradpp_defaults.py`` with their suite scores and ranks."""
    import json

    candidates = json.loads(path.read_text(encoding="utf-8"))["candidates"]
    lines = ["| configuration | " + " | ".join(heading for _, heading, _ in CHOICE_COLUMNS) + " |",
             "|---" * (len(CHOICE_COLUMNS) + 1) + "|"]  # fmt: skip
    for candidate in candidates:
        name = candidate["name"].removeprefix("size-full_")
        lines.append(f"| {name} | " + " | ".join(f"{float(candidate[key]):.{digits}f}" for key, _, digits in CHOICE_COLUMNS) + " |")
    return "\n".join(lines + ["", STUDY_NOTE])


def tables() -> list[tuple[str, str, bool]]:
    """(title, markdown, whole_section) for every table whose rows exist. A whole section (the table and
    its notes) runs to the next heading; a study's table is followed by prose, so only its rows are replaced."""
    found = []
    for title, names in EVALUATIONS:
        paths = [RESULTS / name for name in names if (RESULTS / name).is_file()]
        if paths:
            found.append((title, markdown_table(summarize(read_rows(paths))), True))
    for title, names in POINTING:
        paths = [RESULTS / name for name in names if (RESULTS / name).is_file()]
        if paths:
            rows = read_pointing_rows(paths)
            grids = len({row["grid"] for row in rows})
            found.append((f"{title} ({grids} grids of 448 × 448)", pointing_markdown(summarize_pointing(rows)), True))
    for title, name in STUDIES:
        if (RESULTS / name).is_file():
            found.append((title, study_markdown(RESULTS / name), False))
    if (RESULTS / CHOICE[1]).is_file():
        found.append((CHOICE[0], choice_markdown(RESULTS / CHOICE[1]), False))
    return found


def update_document(text: str, found: list[tuple[str, str, bool]]) -> tuple[str, list[str]]:
    """Put each table of ``found`` under the heading of the same title in ``text`` (any level; a pointing
    title matches whatever its grid count was). Returns the text and the titles with no heading."""
    missing = []
    for title, table, whole_section in found:
        stem = re.escape(re.sub(r" \(\d+ grids of [^)]*\)$", "", title))
        heading = re.search(rf"^(#+) {stem}(?: \(\d+ grids of [^)]*\))?\n", text, flags=re.M)
        if heading is None:
            missing.append(title)
            continue
        if whole_section:
            following = re.compile(r"^#", flags=re.M).search(text, heading.end())
            end = following.start() if following else len(text)
        else:
            end = re.compile(r"\n*(?:\|.*\n)+(?:\n" + re.escape(STUDY_NOTE) + r"\n)?").match(text, heading.end()).end()
        text = text[: heading.start()] + f"{heading.group(1)} {title}\n\n{table}\n" + ("\n" if whole_section else "") + text[end:]
    return text, missing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", metavar="MARKDOWN", help="write the tables into this document under their headings")
    args = parser.parse_args(argv)
    found = tables()
    if args.update is None:
        for title, table, _ in found:
            print(f"### {title}\n\n{table}\n")
        return 0
    path = Path(args.update)
    text, missing = update_document(path.read_text(encoding="utf-8"), found)
    path.write_text(text, encoding="utf-8")
    for title in missing:
        print(f"left out (no heading of that title in {path.name}): {title}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
