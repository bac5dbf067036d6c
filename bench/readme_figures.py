"""Every result figure of README.md and docs/results.md outside the tables, recomputed from the committed outputs
(docs/results/*.csv and *.json) with the verdicts of camlib.intervals: one source per figure.

In the documents a figure sits between markers, ``<!--fig:NAME-->text<!--/fig-->`` (a whole generated paragraph or
list too), so a reader sees the text and this script can check or rewrite it:

    python bench/readme_figures.py                     # print every figure, NAME: text
    python bench/readme_figures.py --check             # exit 1 when a document's figure differs from the outputs
    python bench/readme_figures.py --update            # rewrite the figures in README.md and docs/results.md

tests/test_readme_figures.py runs the check.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from functools import cache
from pathlib import Path

from camlib.evaluate import directions, read_rows, summarize
from camlib.explain import display_name
from camlib.intervals import INDISTINGUISHABLE, bootstrap_mean
from camlib.pointing import by_grid, read_pointing_rows, summarize_pointing
from camlib.verdicts import BLOB_WORDS, CHECKED_AGAINST_CENTER, against_center, leader, versus

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
BENCH_RESULTS = ROOT / "bench" / "results"  # the printed outputs of the speed benchmarks
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "results.md"]
MARKER = re.compile(r"<!--fig:(?P<name>[a-z0-9_]+)-->(?P<text>.*?)<!--/fig-->", re.S)
MODELS = {  # model key -> (label, report CSV, pointing CSV)
    "lite0_bn2": ("EfficientNet-Lite0 at `bn2`", "report_lite0_bn2.csv", "pointing_lite0_bn2.csv"),
    "lite0_conv_head": ("EfficientNet-Lite0 at `conv_head`", "report_lite0_conv_head.csv", "pointing_lite0_conv_head.csv"),
    "lite1_bn2": ("EfficientNet-Lite1 at `bn2` (`fast`)", "report_lite1_bn2_fast.csv", "pointing_lite1_bn2.csv"),
    "lite2_bn2": ("EfficientNet-Lite2 at `bn2` (`fast`)", "report_lite2_bn2_fast.csv", "pointing_lite2_bn2.csv"),
}
LABELS = {"insertion_minus_deletion": "insertion − deletion", "adcc": "ADCC", "energy_share": "pointing energy share"}


@cache
def summaries(name: str) -> dict:
    return {s.method: s for s in summarize(read_rows([RESULTS / name]))}


@cache
def pointing(name: str) -> dict:
    return {s.method: s for s in summarize_pointing(read_pointing_rows([RESULTS / name]))}


def names(keys) -> str:
    shown = [display_name(key) for key in keys]
    return ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else "".join(shown) or "none"


def blob_sentence(model: str) -> str:
    """Who beats the centre blob on insertion − deletion and the fixed-area drops, by the paired intervals."""
    found = summaries(MODELS[model][1])
    sides = against_center(list(found.values()), directions())
    ins = {side: [m for m, by in sides.items() if by["insertion_minus_deletion"] == side] for side in BLOB_WORDS}
    short = [m for m, by in sides.items() if any(by[f] != "better" for f in CHECKED_AGAINST_CENTER[1:])]
    verbs = {"better": ("beats", "beat", "the blob"), INDISTINGUISHABLE: ("is", "are", "indistinguishable from it"),
             "worse": ("is", "are", "below it")}  # fmt: skip
    parts = [f"{names(ins[side])} {verbs[side][len(ins[side]) > 1]} {verbs[side][2]}" for side in verbs if ins[side]]
    cam = _difference(found["cam"], found["center"], "insertion_minus_deletion")
    drops = f"every method except {names(short)}" if short else "every method"
    return (
        f"Against the centre blob (paired, 95 %; CAM − blob {cam}), on insertion − deletion: " + "; ".join(parts)
        + f"; on the three fixed-area drops {drops} beats it."
    )  # fmt: skip


def _difference(first, second, field: str, group=None) -> str:
    gap, _ = versus(first, second, field, directions().get(field, True), group=group)
    return gap.text(3, signed=True)


def leaders_sentence(model: str) -> str:
    """The best of the methods on insertion − deletion, ADCC and the pointing game, or a tie at the top."""
    label, report, grid = MODELS[model]
    parts = []
    for field in ("insertion_minus_deletion", "adcc", "energy_share"):
        found = list((pointing(grid) if field == "energy_share" else summaries(report)).values())
        top = leader(found, field, True, group=by_grid if field == "energy_share" else None)
        best = names([top.method, *top.same_map])
        if top.outcome == "better":
            parts.append(f"{LABELS[field]}: {best} best, ahead of {display_name(top.runner_up)} by {top.difference.text(signed=True)}")
        else:
            parts.append(f"{LABELS[field]}: {best} and {display_name(top.runner_up)} tie at the top ({top.difference.text(signed=True)})")
    return "Best of the six (paired difference to the runner-up): " + "; ".join(parts) + "."


def sanity_sentence(model: str) -> str:
    found = [s for s in summaries(MODELS[model][1]).values() if s.kind == "method"]
    by = {verdict: [s.method for s in found if s.sanity_verdict == verdict] for verdict in ("passes", "fails", INDISTINGUISHABLE)}
    text = f"Randomisation check (mean Spearman against 0.5): {names(by['passes'])} pass, {names(by['fails'])} fail"
    for method in by[INDISTINGUISHABLE]:
        text += f"; {display_name(method)} is indistinguishable from the threshold ({summaries(MODELS[model][1])[method].interval('sanity_spearman').text()})"
    return text + "."


def versus_sentence(model: str) -> str:
    """Grad++ScoreCAM − Score-CAM on the three metrics, each with its verdict."""
    label, report, grid = MODELS[model]
    words = {"better": "ahead", "worse": "behind", INDISTINGUISHABLE: "indistinguishable"}
    parts = []
    for field in ("insertion_minus_deletion", "adcc", "energy_share"):
        found, group = (pointing(grid), by_grid) if field == "energy_share" else (summaries(report), None)
        gap, outcome = versus(found["gradpp_scorecam"], found["scorecam"], field, True, group=group)
        parts.append(f"{LABELS[field]} {gap.text(signed=True)} ({words[outcome]})")
    return "Grad++ScoreCAM − Score-CAM: " + "; ".join(parts) + "."


def gradpp_against_scorecam(model: str = "lite0_bn2") -> str:
    """Grad++ScoreCAM against exact Score-CAM on insertion − deletion and ADCC, in words, with the intervals."""
    found = summaries(MODELS[model][1])
    words = {"better": "ahead of", "worse": "behind", INDISTINGUISHABLE: "indistinguishable from"}
    parts = []
    for field in ("insertion_minus_deletion", "adcc"):
        gap, outcome = versus(found["gradpp_scorecam"], found["scorecam"], field, True)
        parts.append(f"{words[outcome]} it on {LABELS[field]} ({gap.text(signed=True)})")
    return " and ".join(parts)


def issue11_met(model: str) -> bool:
    """Issue 11's target: Grad++ScoreCAM the best of the six, with 95 % confidence, on all three metrics."""
    label, report, grid = MODELS[model]
    for field in ("insertion_minus_deletion", "adcc", "energy_share"):
        found = list((pointing(grid) if field == "energy_share" else summaries(report)).values())
        top = leader(found, field, True, group=by_grid if field == "energy_share" else None)
        if top.method != "gradpp_scorecam" or top.outcome != "better":
            return False
    return True


def model_block(model: str) -> str:
    label = MODELS[model][0]
    images = summaries(MODELS[model][1])["cam"].images
    lines = [blob_sentence(model), leaders_sentence(model), sanity_sentence(model), versus_sentence(model)]
    return f"- **{label}**, {images} report-half images:\n" + "\n".join(f"  - {line}" for line in lines)


def accuracy_text() -> str:
    path = RESULTS / "backbone_accuracy.csv"
    with open(path, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["mode"] == "resize"]
    parts = []
    for key in dict.fromkeys(row["backbone"] for row in rows):
        hits = [100.0 * int(row["top1"]) for row in rows if row["backbone"] == key]
        parts.append(f"{display_backbone(key)} {bootstrap_mean(hits).text(1)} %")
    return ", ".join(parts) + f" (top-1, 95 % interval, {len(hits)} images)"


def display_backbone(key: str) -> str:
    return key.replace("efficientnet_lite", "Lite")


def timings_text() -> str:
    data = json.loads((RESULTS / "app_timings.json").read_text(encoding="utf-8"))
    by, res = data["seconds_by_setting"], data["seconds_by_resolution"]

    def total(seconds: dict) -> str:
        return _seconds(sum(seconds.values()))

    return (
        f"all six maps take {total(by['fast'])} at Fast (Score-CAM {_seconds(by['fast']['scorecam'])} of it, Grad++ScoreCAM "
        f"{_seconds(by['fast']['gradpp_scorecam'])}), {total(by['exact'])} at Exact (Score-CAM {_seconds(by['exact']['scorecam'])}) "
        f"and {total(by['lowres'])} at Low-res. At Fast, by resolution: "
        + ", ".join(f"{r} px gives a {e['map_size'][0]} × {e['map_size'][1]} map in {total(e['seconds'])}" for r, e in res.items())
    )


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def uniform_increase_text() -> str:
    """The share of report images on which the uniform map's score rose at all (rounding noise), at bn2 and conv_head."""
    shares = []
    for name in ("report_lite0_bn2.csv", "report_lite0_conv_head.csv"):
        rows = [r for r in read_rows([RESULTS / name]) if r["method"] == "uniform" and not r["error"]]
        shares.append(100.0 * sum(float(r["masked_score"]) > float(r["base_score"]) for r in rows) / len(rows))
    return f"{min(shares):.1f}–{max(shares):.1f} %"


def fast_text() -> str:
    exact, fast = summaries("report_lite0_bn2.csv")["scorecam"], summaries("report_lite0_bn2_scorecam_fast.csv")["scorecam"]
    parts = []
    for field, digits in (("average_drop", 2), ("insertion_minus_deletion", 3), ("adcc", 3)):
        gap, _ = versus(fast, exact, field, True)
        parts.append(f"{_label(field)} {getattr(fast, field):.{digits}f} against {getattr(exact, field):.{digits}f} (fast − exact {gap.text(digits, signed=True)})")
    return f"on the {fast.images} report-half images at `bn2`, fast Score-CAM scores " + ", ".join(parts)


def table_rows(path: Path) -> list[list[str]]:
    """The cells of a markdown table's data rows in a benchmark's output file (header and rule skipped)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def cpu_methods_text() -> str:
    """bench/bench_methods.py's table and Score-CAM floor as it wrote them (``--out``), on lines of their own."""
    text = (BENCH_RESULTS / "bench_methods_quick.md").read_text(encoding="utf-8").splitlines()
    table = [line for line in text if line.startswith("|")]
    floors = [line for line in text if "Score-CAM floor" in line]
    return "\n" + "\n".join(table) + "\n\n" + "\n".join(f"Floor: {line}" for line in floors) + "\n"


def extra_ratios_text() -> str:
    """Faster peer / camlib for the added methods that a peer implements, from bench/bench_extra_methods.py's output."""
    parts = []
    for method, _, _, _, peer, ratio, _ in table_rows(BENCH_RESULTS / "extra_methods.txt"):
        if not peer.startswith("camlib"):
            named = f" ({peer.split(' ')[0]})" if peer.startswith("torchcam") else ""
            parts.append(f"{method} {float(ratio):.2f}×{named}")
    return ", ".join(parts)


def extra_no_peer_text() -> str:
    """Recipro-CAM and Group-CAM (in no peer library) against camlib's exact Score-CAM, at bn2 on 224 px."""
    rows = [row for row in table_rows(BENCH_RESULTS / "extra_methods.txt") if row[4].startswith("camlib") and row[1].startswith("bn2")]
    seconds = " and ".join(f"{float(row[2]):.2f} s" for row in rows)
    ratios = " and ".join(f"{float(row[5]):.0f}×" for row in rows)
    return f"they take {seconds}, {ratios} less than exact Score-CAM in the same run ({float(rows[0][3]):.1f} s)"


def _label(field: str) -> str:
    return {"average_drop": "Average Drop %"}.get(field, LABELS.get(field, field))


def figures() -> dict[str, str]:
    """Figure name -> its text, every one recomputed from the committed outputs."""
    found = {f"block_{model}": "\n" + model_block(model) + "\n" for model in MODELS}  # markers on their own lines
    found["gradpp_lite0_bn2"] = gradpp_against_scorecam()
    found["issue11"] = "is met" if any(issue11_met(model) for model in MODELS) else "is not met on any of the four"
    if (RESULTS / "backbone_accuracy.csv").is_file():
        found["top1"] = accuracy_text()
    found["timings"] = timings_text()
    found["uniform_increase"] = uniform_increase_text()
    found["fast_vs_exact"] = fast_text()
    found["cpu_methods"] = cpu_methods_text()
    found["extra_ratios"] = extra_ratios_text()
    found["extra_no_peer"] = extra_no_peer_text()
    return found


def rewrite(text: str, found: dict[str, str]) -> tuple[str, list[str]]:
    """``text`` with every marked figure replaced by its value; and the names that differed or are unknown."""
    differing = []

    def replace(match: re.Match) -> str:
        name = match["name"]
        if name not in found:
            differing.append(f"{name} (no such figure)")
            return match[0]
        if match["text"] != found[name]:
            differing.append(name)
        return f"<!--fig:{name}-->{found[name]}<!--/fig-->"

    return MARKER.sub(replace, text), differing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a document differs from the outputs")
    parser.add_argument("--update", action="store_true", help="rewrite the figures in the documents")
    args = parser.parse_args(argv)
    found = figures()
    if not (args.check or args.update):
        for name, text in found.items():
            print(f"{name}: {text}")
        return 0
    stale = []
    for path in DOCUMENTS:
        text, differing = rewrite(path.read_text(encoding="utf-8"), found)
        stale += [f"{path.name}: {name}" for name in differing]
        if args.update:
            path.write_text(text, encoding="utf-8")
    for line in stale:
        print(("rewritten: " if args.update else "differs from the outputs: ") + line, file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
