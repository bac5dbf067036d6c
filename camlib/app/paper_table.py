"""The Grad++ScoreCAM paper's Table 1 (package data, ``camlib/data/paper``) beside camlib's Average Drop and
Increase on the Faithfulness page's images, and what differs between the two measurements."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from camlib.app.faithfulness_tables import summaries_by_key
from camlib.explain import display_name
from camlib.resources import resource_path

PAPER_DIR = resource_path("paper")  # package data: the paper's Table 1 and the README that cites it


@dataclass(frozen=True)
class PaperTable:
    values: pd.DataFrame | None  # metrics as rows, camlib method keys as columns
    reference: str  # the citation, or why the table is absent


def paper_table_1(folder: Path = PAPER_DIR) -> PaperTable:
    """``table1.csv`` and the reference line of ``README.md`` from ``camlib/data/paper``, when present."""
    table_path, readme = folder / "table1.csv", folder / "README.md"
    if not table_path.is_file():
        return PaperTable(None, f"The paper's Table 1 is not on this machine (looked for {table_path}).")
    with open(table_path, newline="") as handle:
        records = list(csv.DictReader(handle))
    values = pd.DataFrame({row["metric"]: {k: float(v) for k, v in row.items() if k != "metric"} for row in records}).T
    reference = "The Grad++ScoreCAM paper (reference not found beside table1.csv)."
    if readme.is_file():
        match = re.search(r"Reference:\s*(.+?)(?:\n\s*\n|\n- )", readme.read_text(), flags=re.DOTALL)
        if match:
            reference = " ".join(match.group(1).split())
    return PaperTable(values, reference)


def paper_comparison(rows: Sequence[dict], paper: PaperTable) -> pd.DataFrame | None:
    """The paper's Average Drop / Increase beside camlib's on these images, per method of the paper."""
    if paper.values is None:
        return None
    summaries = summaries_by_key(rows)
    records = {}
    for key in paper.values.columns:
        ours = summaries.get(key)
        records[display_name(key)] = {
            "paper: Average Drop (%) ↓": paper.values.loc["average_drop_percent", key],
            "camlib: Average Drop (%) ↓": ours.average_drop if ours else math.nan,
            "paper: Average Increase (%) ↑": paper.values.loc["average_increase_percent", key],
            "camlib: Average Increase (%) ↑": ours.average_increase if ours else math.nan,
        }
    return pd.DataFrame(records).T


def what_differs(backbone_name: str, layer: str, image_count: int) -> str:
    return (
        f"What differs: the paper uses VGG16 on 1,000 random ILSVRC2012 validation images and does not name its layer "
        f"or its target rule; here it is {backbone_name} at `{layer}` on {image_count} image(s), explaining the top-1 "
        "class, with softmax scores. Read the two side by side, not as a reproduction."
    )
