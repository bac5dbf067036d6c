"""Choose Grad++ScoreCAM's defaults on the TUNING half by a rule fixed before any number was seen.

Two steps, both on tuning-half results only (never the report half):

1. ``shortlist STUDY_DIR``: from the CSVs of ``bench/study_gradpp_scorecam.py``, the configurations that
   (a) combine scores and gradient weights (``softmax`` alone is Score-CAM on the top channels, not
   Grad++ScoreCAM) and (b) cost at most a tenth of exact Score-CAM (the ``topk-all_softmax`` row):
   mean masked passes + 3 (the forward and backward pass) <= 0.1 × (exact's mean masked passes + 1).
   They are ranked by insertion − deletion; the best ``--keep`` are printed as JSON, each with the
   ``--param`` arguments that give it.
2. ``choose --evaluate NAME=CSV ... --pointing NAME=CSV ...``: the shortlist scored by ``camlib evaluate``
   (every metric) and ``camlib pointing-game`` on the tuning half. Each candidate is ranked on ADCC,
   insertion − deletion and the pointing game's energy share (the three targets of issue 11); the
   lowest mean rank wins, ties going to fewer masked passes. Prints the winner as JSON.

    python bench/choose_gradpp_defaults.py shortlist study/lite0_bn2 --keep 4 > shortlist.json
    python bench/choose_gradpp_defaults.py choose --shortlist shortlist.json --evaluate-dir E --pointing-dir P
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from camlib.evaluate import read_rows, summarize
from camlib.pointing import read_pointing_rows, summarize_pointing

EXACT_SCORECAM = "size-full_topk-all_softmax"
FORWARD_AND_BACKWARD = 3  # one forward and one backward pass, in forward-pass units
COST_LIMIT = 0.1  # at most a tenth of exact Score-CAM


def study_means(path: Path) -> dict[str, float]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    column = {name: np.array([float(row[name]) for row in rows]) for name in ("insertion_auc", "deletion_auc", "masked_passes")}
    return {
        "images": len(rows),
        "insertion_minus_deletion": float(column["insertion_auc"].mean() - column["deletion_auc"].mean()),
        "masked_passes": float(column["masked_passes"].mean()),
    }


def params_of(name: str) -> dict:
    """GradPPScoreCAM parameters from a study configuration name, e.g. size-full_topk-64_linear-0.5."""
    params: dict = {}
    for part in name.split("_"):
        key, _, value = part.partition("-")
        if key == "size":
            params["perturbation_size"] = None if value == "full" else int(value)
        elif key == "topk":
            params["top_k"] = None if value == "all" else int(value)
        elif key == "sampled":
            params["sampled_channels"] = int(value)
        elif key == "linear":
            params["combination"], params["linear_weight"] = "linear", float(value)
        elif part in ("softmax", "relu"):
            params["combination"] = part
        elif part == "w":  # softmax_w / relu_w were split on "_"
            params["combination"] += "_w"
    return params


def param_arguments(params: dict) -> list[str]:
    return [f"gradpp_scorecam.{key}={'None' if value is None else value}" for key, value in params.items()]


def shortlist(study_dir: Path, keep: int) -> list[dict]:
    means = {path.stem: study_means(path) for path in sorted(study_dir.glob("*.csv"))}
    if EXACT_SCORECAM not in means:
        raise SystemExit(f"{study_dir} has no {EXACT_SCORECAM}.csv (exact Score-CAM): run the study with --top-ks ...,all")
    budget = COST_LIMIT * (means[EXACT_SCORECAM]["masked_passes"] + 1)
    eligible = [
        {"name": name, "params": params_of(name), **values}
        for name, values in means.items()
        if params_of(name).get("combination") != "softmax" and values["masked_passes"] + FORWARD_AND_BACKWARD <= budget
    ]
    eligible.sort(key=lambda item: (-item["insertion_minus_deletion"], item["masked_passes"]))
    for item in eligible[:keep]:
        item["param_arguments"] = param_arguments(item["params"])
    return eligible[:keep]


def choose(candidates: list[dict], evaluate_dir: Path, pointing_dir: Path) -> dict:
    scored = []
    for item in candidates:
        summary = summarize(read_rows([evaluate_dir / f"{item['name']}.csv"]))[0]
        pointing = summarize_pointing(read_pointing_rows([pointing_dir / f"{item['name']}.csv"]))[0]
        scored.append({**item, "adcc": summary.adcc, "suite_insertion_minus_deletion": summary.insertion_minus_deletion,
                       "energy_share": pointing.energy_share})  # fmt: skip
    for metric in ("adcc", "suite_insertion_minus_deletion", "energy_share"):
        order = sorted(scored, key=lambda item: -item[metric])
        for rank, item in enumerate(order, start=1):
            item[f"rank_{metric}"] = rank
    for item in scored:
        item["mean_rank"] = float(np.mean([item[key] for key in item if key.startswith("rank_")]))
    scored.sort(key=lambda item: (item["mean_rank"], item["masked_passes"]))
    return {"chosen": scored[0], "candidates": scored}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    first = commands.add_parser("shortlist")
    first.add_argument("study_dir", type=Path)
    first.add_argument("--keep", type=int, default=4)
    second = commands.add_parser("choose")
    second.add_argument("--shortlist", type=Path, required=True)
    second.add_argument("--evaluate-dir", type=Path, required=True, help="one camlib evaluate CSV per candidate, NAME.csv")
    second.add_argument("--pointing-dir", type=Path, required=True, help="one camlib pointing-game CSV per candidate, NAME.csv")
    args = parser.parse_args()
    if args.command == "shortlist":
        json.dump(shortlist(args.study_dir, args.keep), sys.stdout, indent=1)
    else:
        json.dump(choose(json.loads(args.shortlist.read_text()), args.evaluate_dir, args.pointing_dir), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
