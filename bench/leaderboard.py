"""The leaderboard of issue #23: every method and the three baselines on EfficientNet-Lite0, Lite1 and Lite2 at
``bn2``, report half, from the per-image rows in docs/results/ (nothing typed by hand).

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python bench/leaderboard.py --update docs/results.md

writes docs/results/leaderboard.md (the tables, the Pareto fronts, the recommendations and Grad++ScoreCAM
against Recipro-CAM, `fast` Score-CAM and Group-CAM), docs/results/leaderboard.json (the same, for the app),
docs/results/leaderboard_pareto.png, the "Leaderboard" section of docs/results.md (``--update``), and copies
the app's files into camlib/data/results/ (bench/sync_package_data.py). Each model's files can be named:
``--lite0 A.csv B.csv --pointing-lite0 P.csv Q.csv --sampled-lite0 S.csv``; a default file that does not exist
is left out (and said).

Methods evaluated on a prefix of the report half only (``sampled_*.csv``: SS-CAM and IS-CAM, whose maps cost
ten masked passes per channel) get a second table per model, with every other method on that prefix, so the
main table keeps its images: a join would cut every method down to the prefix.
``--seconds T.csv`` is a table of seconds per map (columns backbone, method, speed, file, seconds; see
``camlib.leaderboard.read_seconds_table``); without it the seconds are those of the evaluate rows.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from camlib.leaderboard import Leaderboard, build_leaderboard  # noqa: E402
from camlib.leaderboard_text import (  # noqa: E402
    field_markdown,
    field_sentences,
    leaderboard_markdown,
    model_name,
    name_of,
    pareto_sentence,
    recommendations,
    setting_line,
    setting_of,
)

RESULTS = ROOT / "docs" / "results"
MODELS = {  # model: (evaluate CSVs, pointing-game CSVs), in docs/results/
    "lite0": (["report_lite0_bn2.csv", "report_lite0_bn2_scorecam_fast.csv", "extra_lite0_bn2.csv"],
              ["pointing_lite0_bn2.csv", "extra_pointing_lite0_bn2.csv"]),
    "lite1": (["report_lite1_bn2_fast.csv", "extra_lite1_bn2.csv"], ["pointing_lite1_bn2.csv", "extra_pointing_lite1_bn2.csv"]),
    "lite2": (["report_lite2_bn2_fast.csv", "extra_lite2_bn2.csv"], ["pointing_lite2_bn2.csv", "extra_pointing_lite2_bn2.csv"]),
}  # fmt: skip
SAMPLED = {model: [f"sampled_{model}_bn2.csv"] for model in MODELS}
"""Per model, the evaluate CSVs of the methods run on a prefix of the report half only (SS-CAM, IS-CAM)."""
SECONDS = RESULTS / "extra_seconds.csv"
COMMAND = "PYTHONPATH=$PWD OMP_NUM_THREADS=1 python bench/leaderboard.py --update docs/results.md"
FAMILY_COLOURS = {"gradient": "tab:blue", "activation / score": "tab:orange", "perturbation": "tab:green"}


def existing(names: list[str], quiet: bool = False) -> list[Path]:
    found = []
    for name in names:
        path = Path(name) if "/" in name else RESULTS / name
        if path.is_file():
            found.append(path)
        elif not quiet:
            print(f"left out (no such file): {path}", file=sys.stderr)
    return found


def seconds_file(args) -> Path | None:
    return Path(args.seconds) if args.seconds else (SECONDS if SECONDS.is_file() else None)


def boards(args, seconds: Path | None) -> list[tuple[Leaderboard, Leaderboard | None]]:
    """Per model: its leaderboard, and the board of its prefix with the sampled methods (None without them)."""
    found = []
    for model in MODELS:
        evaluations = existing(getattr(args, model))
        if evaluations:
            main_board = build_leaderboard(evaluations, existing(getattr(args, f"pointing_{model}")), seconds)
            sampled = existing(getattr(args, f"sampled_{model}"), quiet=True)
            found.append((main_board, build_leaderboard(evaluations + sampled, (), seconds) if sampled else None))
    return found


def board_record(board: Leaderboard, prefix: Leaderboard | None = None) -> dict:
    sources = sorted({e.source for e in board.entries})
    record = {
        "title": f"{model_name(board)} at `{board.layer}`, {board.half} half",
        "files": sources,
        "setting": setting_line(board),
        "table": leaderboard_markdown(board),
        "pareto": pareto_sentence(board),
        "recommendations": recommendations(board),
    }
    if prefix is not None:
        record["prefix"] = prefix_record(board, prefix)
    return record


def prefix_record(board: Leaderboard, prefix: Leaderboard) -> dict:
    """The methods of ``prefix`` missing from ``board``, beside every method on the images they have."""
    from camlib.methods import METHODS

    shown = {e.method for e in board.entries}
    added = [e for e in prefix.methods if e.method not in shown]
    names = ", ".join(name_of(e) for e in added)
    costs = "; ".join(f"{name_of(e)}, {METHODS[e.method].cost}" for e in added if e.method in METHODS)
    unchecked = [name_of(e) for e in added if e.sanity is None]
    return {
        "title": f"{names}: on the first {prefix.images} report-half images of {model_name(prefix)}",
        "methods": [e.method for e in added],
        "files": sorted({e.source for e in prefix.entries}),
        "setting": setting_line(prefix),
        "table": leaderboard_markdown(prefix),
        "note": (f"Cost of one map: {costs}. So they ran on the first {prefix.images} images of the report half "
                 f"only, at the setting in the table{'; no randomisation check for ' + ', '.join(unchecked) if unchecked else ''}. "
                 f"Every other method is shown again on those {prefix.images} images, so each row compares with "
                 "each other row on the same images; the tables above keep their own images. Seconds per map of "
                 f"{names} come from their evaluate rows. With this few images most differences are ties."),
    }  # fmt: skip


def plot(found: list[Leaderboard], out: Path) -> None:
    """One panel per model: mean seconds per map (log) against mean insertion − deletion, both with their
    95 % intervals; the methods' Pareto front as a line; the centred blob's mean as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from camlib.leaderboard import front_of
    from camlib.leaderboard_text import family_of, name_of

    figure, axes = plt.subplots(1, len(found), figsize=(6.2 * len(found), 5.2), squeeze=False)
    for axis, board in zip(axes[0], found):
        for entry in board.methods:
            x, y = entry.interval("seconds"), entry.interval("insertion_minus_deletion")
            axis.errorbar(x.mean, y.mean, xerr=[[x.mean - x.low], [x.high - x.mean]], yerr=[[y.mean - y.low], [y.high - y.mean]],
                          fmt="o", color=FAMILY_COLOURS.get(family_of(entry), "k"), capsize=2, ms=5)  # fmt: skip
            axis.annotate(name_of(entry), (x.mean, y.mean), fontsize=7, xytext=(3, 3), textcoords="offset points")
        front = [board.entry(key) for key in front_of(board)]
        axis.step([e.interval("seconds").mean for e in front], [e.interval("insertion_minus_deletion").mean for e in front],
                  where="post", color="k", lw=1, alpha=0.6, label="Pareto front (means)")  # fmt: skip
        blob = next((e for e in board.entries if e.method == "center"), None)
        if blob is not None:
            axis.axhline(blob.interval("insertion_minus_deletion").mean, color="grey", ls="--", lw=1, label="centred blob (no model)")
        axis.set_xscale("log")
        axis.set(xlabel="seconds per map (log)", ylabel="insertion − deletion (higher is better)", title=f"{model_name(board)}, {board.layer}, {board.half} half")
        axis.grid(alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=f) for f, c in FAMILY_COLOURS.items()]
    axes[0][0].legend(handles=handles + axes[0][0].get_legend_handles_labels()[0], fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def cost_only_lines(found: list[tuple[Leaderboard, Leaderboard | None]], seconds: Path | None) -> list[str]:
    """The methods of camlib.methods.METHODS on neither of a model's boards, with their timed cost where the
    seconds table has it (SS-CAM and IS-CAM: ten masked passes per channel, too slow for the report half on a CPU)."""
    from camlib.methods import METHODS
    from camlib.seconds_tables import read_seconds_table

    lines = []
    for board, prefix in found:
        table = read_seconds_table(seconds, board.model) if seconds else {}
        shown = {e.method for e in board.methods} | ({e.method for e in prefix.methods} if prefix else set())
        for key in (k for k in METHODS if k not in shown):
            timed = [v for (method, _), rows in table.items() if method == key for v in rows.values()]
            cost = (f"{sum(timed) / len(timed):.1f} s per map on this CPU ({len(timed)} image{'s' * (len(timed) > 1)}, "
                    "the timing run of the table above)" if timed else "not timed")  # fmt: skip
            lines.append(f"{METHODS[key].display_name} on {model_name(board)}: not on the leaderboard; {cost}.")
    return lines


def document(found: list[tuple[Leaderboard, Leaderboard | None]], field: str, sentences: list[str], cost_only: list[str] = ()) -> str:
    """The "Leaderboard" section of docs/results.md (and the whole of docs/results/leaderboard.md)."""
    parts = [
        "## Leaderboard",
        "",
        f"Written by `{COMMAND}` from the per-image rows in docs/results/ (the paper's six and the baselines from the "
        "report tables above, the other methods from `extra_*.csv`, the pointing game from `pointing_*.csv` and "
        "`extra_pointing_*.csv`). Which method should I use? The recommendations below are read from the intervals; "
        "where they do not separate two methods, the table ranks them equal. The nine methods added beside the "
        "paper's six were run by `bash bench/leaderboard_runs.sh` on a 2-core CPU shared with other jobs and no GPU; "
        "SS-CAM and IS-CAM (ten masked passes per channel) on the first report-half images only, in a table of their "
        "own under each model. Every method of a table is compared on the images all of them have (n in each table). Seconds per map: every method on the same first report-half images of each "
        "model, one after the other per image, one CPU thread (`extra_seconds.csv`); absolute seconds are those of a "
        "loaded machine, the ratios between methods are what the plot compares.",
        "",
        "![Insertion − deletion against seconds per map, with the Pareto front](results/leaderboard_pareto.png)",
    ]
    for board, prefix in found:
        record = board_record(board, prefix)
        files = ", ".join(f"`{name}`" for name in record["files"])
        parts += ["", f"### Leaderboard: {record['title']}", "", record["setting"] + f" Evaluate files: {files}.", "", record["table"], "", record["pareto"], ""]
        parts += [f"- {line}" for line in record["recommendations"]]
        if prefix is not None:
            extra = record["prefix"]
            files = ", ".join(f"`{name}`" for name in extra["files"])
            parts += ["", f"#### {extra['title']}", "", extra["note"], "", extra["setting"] + f" Evaluate files: {files}.", "", extra["table"]]
    if cost_only:
        parts += ["", "Methods left off, with their cost: a map of these takes ten masked passes per channel (SS-CAM, "
                  "IS-CAM), so the report half with the randomisation check was out of reach of the CPU these tables "
                  "were computed on.", "", *[f"- {line}" for line in cost_only]]  # fmt: skip
    parts += ["", "### Grad++ScoreCAM in its field: Recipro-CAM, `fast` Score-CAM and Group-CAM", "",
              "Faithfulness (insertion − deletion) and cost (seconds per map) of Grad++ScoreCAM against the other cheap "
              "routes to Score-CAM's faithfulness, each as a paired difference over the same images with its 95 % interval.",
              "", field, "", *[f"- {line}" for line in sentences]]  # fmt: skip
    return "\n".join(parts) + "\n"


def update_section(text: str, section: str) -> str:
    """Replace the "## Leaderboard" section (to the next level-2 heading), or add it before "## Other backbones"."""
    found = re.search(r"^## Leaderboard\n", text, flags=re.M)
    if found:
        following = re.compile(r"^## ", flags=re.M).search(text, found.end())
        end = following.start() if following else len(text)
        return text[: found.start()] + section + ("\n" if following else "") + text[end:]
    anchor = text.find("## Other backbones")
    return text + "\n" + section if anchor < 0 else text[:anchor] + section + "\n" + text[anchor:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for model, (evaluations, pointing) in MODELS.items():
        parser.add_argument(f"--{model}", nargs="+", default=evaluations, metavar="CSV", help=f"evaluate CSVs of {model}")
        parser.add_argument(f"--pointing-{model}", nargs="*", default=pointing, metavar="CSV", help=f"pointing-game CSVs of {model}")
        parser.add_argument(f"--sampled-{model}", nargs="*", default=SAMPLED[model], metavar="CSV",
                            help=f"evaluate CSVs of {model} with methods run on a prefix of the report half only")
    parser.add_argument("--seconds", help=f"seconds-per-map table (default {SECONDS.relative_to(ROOT)} if it exists)")
    parser.add_argument("--update", metavar="MARKDOWN", help="write the Leaderboard section into this document")
    args = parser.parse_args(argv)
    seconds = seconds_file(args)
    found = boards(args, seconds)
    main_boards = [board for board, _ in found]
    field, sentences = field_markdown(main_boards), field_sentences(main_boards)
    section = document(found, field, sentences, cost_only_lines(found, seconds))
    (RESULTS / "leaderboard.md").write_text("# " + section.lstrip("# ").replace("results/leaderboard_pareto.png", "leaderboard_pareto.png"), encoding="utf-8")
    record = {"command": COMMAND, "models": [board_record(*pair) for pair in found], "field": field, "field_sentences": sentences}
    (RESULTS / "leaderboard.json").write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    plot(main_boards, RESULTS / "leaderboard_pareto.png")
    if args.update:
        path = Path(args.update)
        path.write_text(update_section(path.read_text(encoding="utf-8"), section), encoding="utf-8")
    subprocess.run([sys.executable, str(ROOT / "bench" / "sync_package_data.py")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
