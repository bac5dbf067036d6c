"""The leaderboard of issue #23: every method and the three baselines on EfficientNet-Lite0, Lite1 and Lite2 at
``bn2``, report half, from the per-image rows in docs/results/ (nothing typed by hand).

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python bench/leaderboard.py --update docs/results.md

writes docs/results/leaderboard.md (the tables, the Pareto fronts, the recommendations and Grad++ScoreCAM
against Recipro-CAM, `fast` Score-CAM and Group-CAM), docs/results/leaderboard.json (the same, for the app),
docs/results/leaderboard_pareto.png, the "Leaderboard" section of docs/results.md (``--update``), and copies
the app's files into camlib/data/results/ (bench/sync_package_data.py). Each model's files can be named:
``--lite0 A.csv B.csv --pointing-lite0 P.csv Q.csv``; a default file that does not exist is left out (and said).
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
    pareto_sentence,
    recommendations,
    setting_line,
)

RESULTS = ROOT / "docs" / "results"
MODELS = {  # model: (evaluate CSVs, pointing-game CSVs), in docs/results/
    "lite0": (["report_lite0_bn2.csv", "report_lite0_bn2_scorecam_fast.csv", "extra_lite0_bn2.csv"],
              ["pointing_lite0_bn2.csv", "extra_pointing_lite0_bn2.csv"]),
    "lite1": (["report_lite1_bn2_fast.csv", "extra_lite1_bn2.csv"], ["pointing_lite1_bn2.csv", "extra_pointing_lite1_bn2.csv"]),
    "lite2": (["report_lite2_bn2_fast.csv", "extra_lite2_bn2.csv"], ["pointing_lite2_bn2.csv", "extra_pointing_lite2_bn2.csv"]),
}  # fmt: skip
SECONDS = RESULTS / "extra_seconds.csv"
COMMAND = "PYTHONPATH=$PWD OMP_NUM_THREADS=1 python bench/leaderboard.py --update docs/results.md"
FAMILY_COLOURS = {"gradient": "tab:blue", "activation / score": "tab:orange", "perturbation": "tab:green"}


def existing(names: list[str]) -> list[Path]:
    found = []
    for name in names:
        path = Path(name) if "/" in name else RESULTS / name
        if path.is_file():
            found.append(path)
        else:
            print(f"left out (no such file): {path}", file=sys.stderr)
    return found


def seconds_file(args) -> Path | None:
    return Path(args.seconds) if args.seconds else (SECONDS if SECONDS.is_file() else None)


def boards(args, seconds: Path | None) -> list[Leaderboard]:
    found = []
    for model in MODELS:
        evaluations = existing(getattr(args, model))
        if evaluations:
            found.append(build_leaderboard(evaluations, existing(getattr(args, f"pointing_{model}")), seconds))
    return found


def board_record(board: Leaderboard) -> dict:
    sources = sorted({e.source for e in board.entries})
    return {
        "title": f"{model_name(board)} at `{board.layer}`, {board.half} half",
        "files": sources,
        "setting": setting_line(board),
        "table": leaderboard_markdown(board),
        "pareto": pareto_sentence(board),
        "recommendations": recommendations(board),
    }


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


def cost_only_lines(found: list[Leaderboard], seconds: Path | None) -> list[str]:
    """The methods of camlib.methods.METHODS missing from a model's leaderboard, with their timed cost where the
    seconds table has it (SS-CAM and IS-CAM: ten masked passes per channel, too slow for the report half on a CPU)."""
    from camlib.methods import METHODS
    from camlib.seconds_tables import read_seconds_table

    lines = []
    for board in found:
        table = read_seconds_table(seconds, board.model) if seconds else {}
        shown = {e.method for e in board.methods}
        for key in (k for k in METHODS if k not in shown):
            timed = [v for (method, _), rows in table.items() if method == key for v in rows.values()]
            cost = (f"{sum(timed) / len(timed):.1f} s per map on this CPU ({len(timed)} image{'s' * (len(timed) > 1)}, "
                    "the timing run of the table above)" if timed else "not timed")  # fmt: skip
            lines.append(f"{METHODS[key].display_name} on {model_name(board)}: not on the leaderboard; {cost}.")
    return lines


def document(found: list[Leaderboard], field: str, sentences: list[str], cost_only: list[str] = ()) -> str:
    """The "Leaderboard" section of docs/results.md (and the whole of docs/results/leaderboard.md)."""
    parts = [
        "## Leaderboard",
        "",
        f"Written by `{COMMAND}` from the per-image rows in docs/results/ (the paper's six and the baselines from the "
        "report tables above, the other methods from `extra_*.csv`, the pointing game from `pointing_*.csv` and "
        "`extra_pointing_*.csv`). Which method should I use? The recommendations below are read from the intervals; "
        "where they do not separate two methods, the table ranks them equal. The nine methods added beside the "
        "paper's six were run by `bash bench/leaderboard_runs.sh` on a 2-core CPU shared with other jobs and no GPU, "
        "on a prefix of the report half (name order) of each model; every method is compared on the images all of "
        "them have (n in each table). Seconds per map: every method on the same first report-half images of each "
        "model, one after the other per image, one CPU thread (`extra_seconds.csv`); absolute seconds are those of a "
        "loaded machine, the ratios between methods are what the plot compares.",
        "",
        "![Insertion − deletion against seconds per map, with the Pareto front](results/leaderboard_pareto.png)",
    ]
    for board in found:
        record = board_record(board)
        files = ", ".join(f"`{name}`" for name in record["files"])
        parts += ["", f"### Leaderboard: {record['title']}", "", record["setting"] + f" Evaluate files: {files}.", "", record["table"], "", record["pareto"], ""]
        parts += [f"- {line}" for line in record["recommendations"]]
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
    parser.add_argument("--seconds", help=f"seconds-per-map table (default {SECONDS.relative_to(ROOT)} if it exists)")
    parser.add_argument("--update", metavar="MARKDOWN", help="write the Leaderboard section into this document")
    args = parser.parse_args(argv)
    seconds = seconds_file(args)
    found = boards(args, seconds)
    field, sentences = field_markdown(found), field_sentences(found)
    section = document(found, field, sentences, cost_only_lines(found, seconds))
    (RESULTS / "leaderboard.md").write_text("# " + section.lstrip("# ").replace("results/leaderboard_pareto.png", "leaderboard_pareto.png"), encoding="utf-8")
    record = {"command": COMMAND, "models": [board_record(b) for b in found], "field": field, "field_sentences": sentences}
    (RESULTS / "leaderboard.json").write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    plot(found, RESULTS / "leaderboard_pareto.png")
    if args.update:
        path = Path(args.update)
        path.write_text(update_section(path.read_text(encoding="utf-8"), section), encoding="utf-8")
    subprocess.run([sys.executable, str(ROOT / "bench" / "sync_package_data.py")], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
