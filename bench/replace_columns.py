"""Replace some columns of a results CSV with the same columns of a newer run on the same images, after
checking that the newer run explained the same maps.

Used when a metric's definition changed but the maps did not: the insertion / deletion AUCs of a table
whose maps took hours (the randomisation check), recomputed by a cheaper ``camlib evaluate --metrics basic``
run without ``--sanity``. Every (image, method) row of BASE must be in UPDATE, and the columns that depend
on the map alone (``--same``: the base score and the Average Drop's masked score, by default) must agree
within ``--tolerance``: otherwise the maps differ and nothing is written. The output keeps BASE's configuration with UPDATE's
``pixel_order``, and says on stdout how much each method's mean moved.

    python bench/replace_columns.py docs/results/report_lite0_bn2.csv new_bn2.csv \\
        --columns insertion_auc,deletion_auc --out docs/results/report_lite0_bn2.csv
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

import numpy as np

from camlib.results import ResultsError, check_config, read_results, read_results_file, write_results

COMPARED_KEYS = ("backbone", "layer", "weights", "target", "insertion_steps", "camlib")


def replace_columns(base_path, update_paths, columns, same, tolerance):
    base = read_results_file(base_path)
    update_rows, update_config = read_results(update_paths)
    if base.config is None or update_config is None:
        raise ResultsError("Both files need a camlib-config line.")
    check_config(
        {key: base.config.get(key) for key in COMPARED_KEYS} | {"params": base.config.get("params", {})},
        {key: update_config.get(key) for key in COMPARED_KEYS} | {"params": update_config.get("params", {})},
        where=str(base_path),
        expected_from="the update",
    )
    updates = {(row["file"], row["method"]): row for row in update_rows}
    missing = [key for key in ((row["file"], row["method"]) for row in base.rows) if key not in updates]
    if missing:
        raise ResultsError(f"The update has no row for {len(missing)} rows of the base, e.g. {missing[0]}.")
    worst = {column: 0.0 for column in same}
    moved = defaultdict(lambda: defaultdict(list))
    rows = []
    for row in base.rows:
        new = updates[(row["file"], row["method"])]
        if row.get("error") or new.get("error"):
            raise ResultsError(f"{row['file']} {row['method']}: an error row; recompute it instead.")
        for column in same:
            worst[column] = max(worst[column], abs(float(row[column]) - float(new[column])))
        for column in columns:
            moved[row["method"]][column].append(float(new[column]) - float(row[column]))
        rows.append(row | {column: new[column] for column in columns})
    if any(value > tolerance for value in worst.values()):
        raise ResultsError(f"The maps differ (largest differences {worst}); nothing written.")
    config = dict(base.config) | {"pixel_order": update_config.get("pixel_order")}
    return rows, base.fields, config, worst, moved


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base")
    parser.add_argument("update", nargs="+")
    parser.add_argument("--columns", required=True, help="comma-separated columns to take from the update")
    parser.add_argument("--same", default="base_score,masked_score", help="columns that must agree (same maps)")
    parser.add_argument("--tolerance", type=float, default=1e-3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        rows, fields, config, worst, moved = replace_columns(
            args.base, args.update, args.columns.split(","), args.same.split(","), args.tolerance
        )
    except ResultsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_results(args.out, fields, rows, config)
    print(f"{len(rows)} rows; largest differences in the checked columns: {worst}")
    print("method | " + " | ".join(f"mean change of {column} | largest |change|" for column in moved[next(iter(moved))]))
    for method, changes in moved.items():
        cells = [f"{np.mean(values):+.4f} | {np.max(np.abs(values)):.4f}" for values in changes.values()]
        print(f"{method} | " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
