"""A :class:`camlib.leaderboard.Leaderboard` in words: its table (each mean with its 95 % interval and its
rank, ties where the paired intervals do not separate), the Pareto front, a measured recommendation per
use, and Grad++ScoreCAM against the other cheap answers to Score-CAM's cost (:func:`field_markdown`).
Every verdict comes from :mod:`camlib.intervals`; nothing here is typed by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence

from camlib.baselines import is_baseline
from camlib.explain import display_name
from camlib.intervals import ABOVE, BELOW, INDISTINGUISHABLE, verdict
from camlib.leaderboard import EVALUATE_ROWS, MIN_PAIRED, Entry, Leaderboard, ahead, difference, front_of, ranks
from camlib.methods import METHODS
from camlib.pointing import CHANCE

COLUMNS = (  # field, heading, digits
    ("insertion_minus_deletion", "insertion − deletion ↑", 3), ("average_drop_10", "Avg Drop % top 10 % ↓", 1),
    ("average_drop_25", "Avg Drop % top 25 % ↓", 1), ("average_drop_50", "Avg Drop % top 50 % ↓", 1),
    ("adcc", "ADCC ↑", 3), ("hit_rate", "pointing hit rate ↑", 3), ("sanity_spearman", "Spearman after randomisation ↓", 3),
    ("seconds", "seconds per map ↓", 3),
)  # fmt: skip
GAP_WORDS = {ABOVE: "ahead", BELOW: "behind", INDISTINGUISHABLE: "indistinguishable"}
MODEL_NAMES = {f"efficientnet_lite{i}": f"EfficientNet-Lite{i}" for i in range(5)}
RIVALS = ("reciprocam", ("scorecam", "fast"), "groupcam")
"""Grad++ScoreCAM's field (issue #23 point 6): the other ways to Score-CAM's faithfulness at less cost."""


def name_of(entry: Entry) -> str:
    name = display_name(entry.method) if entry.method in METHODS or is_baseline(entry.method) else entry.method
    return f"{name} ({entry.speed})" if "@" in entry.key else name


def family_of(entry: Entry) -> str:
    if entry.kind == "baseline":
        return "no model (baseline)"
    return METHODS[entry.method].family if entry.method in METHODS else "—"


def setting_of(entry: Entry) -> str:
    """``fast (mixed_precision=True, sampled_channels=128)``: the speed setting and the parameters it set."""
    params = ", ".join(f"{key}={value}" for key, value in sorted(entry.params.items()))
    return f"{entry.speed} ({params})" if params else entry.speed


def model_name(board: Leaderboard) -> str:
    return MODEL_NAMES.get(board.model, board.model)


def setting_line(board: Leaderboard) -> str:
    """What every table states: the half, the model, the layer, the target, the speed settings and n."""
    speeds = sorted({e.speed for e in board.methods})
    pointing = {len({key[0] for key in e.values.get("hit_rate", {})}) for e in board.entries if e.values.get("hit_rate")}
    grids = f"; pointing game over {max(pointing)} grids of four report-half images" if pointing else "; no pointing game"
    return (f"{board.half.capitalize()} half, {model_name(board)} at layer `{board.layer}`, target: the {board.target} class, "
            f"{board.images} images (those every method has){grids}; speed setting per method in the table ({', '.join(speeds)}).")  # fmt: skip


def leaderboard_markdown(board: Leaderboard) -> str:
    """Methods (best mean insertion − deletion first) then baselines as rows; each cell ``mean [low, high]``
    and, for methods, ``#rank`` (``#1=`` where tied)."""
    methods = board.methods
    ranked = {name: ranks(methods, name) for name, _, _ in COLUMNS}
    if _mixed_clocks(board):
        ranked["seconds"] = {}  # seconds timed in different runs (maybe machines) are not ranked against each other
    front = set(front_of(board))
    heads = ["method", "family", "setting", *(h for _, h, _ in COLUMNS), "randomisation check", "Pareto front", "n"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for entry in board.entries:
        cells = [_cell(entry, name, digits, ranked[name]) for name, _, digits in COLUMNS]
        on_front = "—" if entry.kind == "baseline" else ("**on the front**" if entry.key in front else "")
        n = len(entry.values.get("insertion_minus_deletion", {}))
        lines.append(f"| {name_of(entry)} | {family_of(entry)} | {setting_of(entry)} | " + " | ".join(cells)
                     + f" | {entry.sanity or '—'} | {on_front} | {n} |")  # fmt: skip
    return "\n".join(lines) + "\n\n" + "\n\n".join(table_notes(board))


def _cell(entry: Entry, name: str, digits: int, ranked: dict[str, int]) -> str:
    interval = entry.interval(name)
    if not math.isfinite(interval.mean):
        return "—"
    text = interval.text(digits) if interval.n > 1 else f"{interval.mean:.{digits}f} (one measurement)"
    if entry.key in ranked:
        tied = sum(rank == ranked[entry.key] for rank in ranked.values()) > 1
        text += f" #{ranked[entry.key]}{'=' if tied else ''}"
    return text


def table_notes(board: Leaderboard) -> list[str]:
    sources = sorted({e.seconds_from for e in board.entries})
    return [
        "Each mean is followed by its 95 % interval (percentile bootstrap over images; over grids for the pointing game). "
        "A method's rank is 1 + the number of methods ahead of it by the paired interval of the difference (it excludes 0); "
        "equal ranks, marked =, are ties the data cannot separate. Baselines are not ranked, nor is a method with "
        f"fewer than {MIN_PAIRED} images in a column (the seconds where they were timed on a few images).",
        "Randomisation check: the mean Spearman between the map and the map of a randomised model, *passes* below 0.5, "
        "*fails* above, each only where the interval excludes 0.5.",
        f"Seconds per map from: {', '.join(sources)}. The Pareto front (faithfulness against cost) is over the methods' means.",
        *([] if not _mixed_clocks(board) else [
            "The evaluate rows' seconds are those of the machine and run each file came from, so costs compare like "
            "for like only between methods of one file."])
    ]  # fmt: skip


def _mixed_clocks(board: Leaderboard) -> bool:
    return len({(e.seconds_from, e.source if e.seconds_from == EVALUATE_ROWS else "") for e in board.methods}) > 1


def pareto_sentence(board: Leaderboard) -> str:
    front = [board.entry(key) for key in front_of(board)]
    parts = [f"{name_of(e)} ({_seconds(e)}, {e.interval('insertion_minus_deletion').text()})" for e in front]
    return "Pareto front of insertion − deletion against seconds per map, cheapest first: " + "; ".join(parts) + "."


def _seconds(entry: Entry) -> str:
    seconds = entry.interval("seconds").mean
    return f"{seconds:.3f} s per map" if seconds < 1 else f"{seconds:.2f} s per map"


def top_tier(board: Leaderboard, name: str) -> list[Entry]:
    """The methods that no method is ahead of on ``name`` (rank 1), cheapest first."""
    ranked = ranks(board.methods, name)
    return sorted((e for e in board.methods if ranked.get(e.key) == 1), key=lambda e: e.interval("seconds").mean)


def recommendations(board: Leaderboard) -> list[str]:
    """One measured sentence per use: a demo, a teaching comparison, several objects in one photo."""
    return [_demo(board), _teaching(board), _several_objects(board)]


def _demo(board: Leaderboard) -> str:
    tier = top_tier(board, "insertion_minus_deletion")
    if not tier:
        return "**A demo**: no insertion − deletion measured."
    pick = tier[0]
    others = ", ".join(name_of(e) for e in tier[1:]) or "none"
    cheaper = [e for e in tier[1:] if ahead(pick, e, "seconds")]
    blob = _against_blob(board, pick)
    return (f"**A demo (cheap and faithful)**: {name_of(pick)}, {_seconds(pick)}, insertion − deletion "
            f"{pick.interval('insertion_minus_deletion').text()}: no method is ahead of it by the paired interval "
            f"(indistinguishable from it at the top: {others}), and it is the cheapest of those"
            f"{' (measurably cheaper than ' + str(len(cheaper)) + ' of them)' if cheaper else ''}{blob}.")  # fmt: skip


def _against_blob(board: Leaderboard, entry: Entry) -> str:
    blob = next((e for e in board.entries if e.method == "center"), None)
    if blob is None:
        return ""
    gap = difference(entry, blob, "insertion_minus_deletion")
    words = {ABOVE: "beats", BELOW: "is below", INDISTINGUISHABLE: "is indistinguishable from"}[verdict(gap, 0.0)]
    return f"; it {words} the centred blob (difference {gap.text(signed=True)})"


def _teaching(board: Leaderboard) -> str:
    passing = sorted((e for e in board.methods if e.sanity == "passes"), key=lambda e: e.interval("seconds").mean)
    best = max(board.methods, key=lambda e: e.interval("insertion_minus_deletion").mean, default=None)
    if not passing or best is None:
        return "**A teaching comparison**: the randomisation check was not run on these files."
    pick = passing[0] if passing[0].key != best.key else (passing[1] if len(passing) > 1 else passing[0])
    gap = difference(best, pick, "insertion_minus_deletion")
    side = GAP_WORDS[verdict(gap, 0.0)]
    fails = [name_of(e) for e in board.methods if e.sanity == "fails"]
    return (f"**A teaching comparison**: {name_of(pick)} ({family_of(pick)}, passes the randomisation check, {_seconds(pick)}) "
            f"beside {name_of(best)} ({family_of(best)}, highest mean insertion − deletion, "
            f"randomisation check: {best.sanity or 'not run'}): "
            f"{name_of(best)} − {name_of(pick)} = {gap.text(signed=True)} ({side}). "
            "Fail the randomisation check (their maps change little when the model's weights are randomised): "
            f"{', '.join(fails) or 'none'}.")  # fmt: skip


def _several_objects(board: Leaderboard) -> str:
    tier = top_tier(board, "hit_rate")
    if not tier:
        return "**Several objects in one photo**: the pointing game was not run for these methods."
    pick = tier[0]
    hit = pick.interval("hit_rate")
    chance = {ABOVE: "above", BELOW: "below", INDISTINGUISHABLE: "indistinguishable from"}[verdict(hit, CHANCE)]
    return (f"**Several objects in one photo (pointing game)**: {name_of(pick)}, hit rate {hit.text()} ({chance} chance, "
            f"{CHANCE:.2f}), {_seconds(pick)}; tied with it at the top (no paired interval separates them): "
            f"{', '.join(name_of(e) for e in tier[1:]) or 'none'}; it is the cheapest of those.")  # fmt: skip


def find(board: Leaderboard, wanted: str | tuple[str, str]) -> Entry | None:
    method, speed = (wanted, None) if isinstance(wanted, str) else wanted
    return next((e for e in board.entries if e.method == method and (speed is None or e.speed == speed)), None)


def field_pairs(board: Leaderboard, first: str = "gradpp_scorecam") -> list[tuple[Entry, Entry, object, object]]:
    """(``first``, rival, paired insertion − deletion difference, paired seconds difference) per rival found."""
    ours, pairs = find(board, first), []
    for wanted in RIVALS:
        rival = find(board, wanted)
        if ours is not None and rival is not None:
            pairs.append((ours, rival, difference(ours, rival, "insertion_minus_deletion"), difference(ours, rival, "seconds")))
    return pairs


def field_rows(board: Leaderboard, first: str = "gradpp_scorecam") -> list[str]:
    """Table rows: ``first`` against each of :data:`RIVALS` on faithfulness and on cost, paired."""
    rows = []
    for ours, rival, faith, cost in field_pairs(board, first):
        ratio = rival.interval("seconds").mean / ours.interval("seconds").mean
        rows.append(f"| {model_name(board)} | {display_name(rival.method)}, {setting_of(rival)} | {faith.text(signed=True)} | "
                    f"{_seconds(ours)} against {_seconds(rival)}: {cost.text(signed=True)} s, ×{ratio:.2f} | "
                    f"{_outcome(faith, cost, same_clock(ours, rival))} | {faith.n} |")  # fmt: skip
    return rows


def field_sentences(boards: Sequence[Leaderboard], first: str = "gradpp_scorecam") -> list[str]:
    """One plain sentence per rival: what Grad++ScoreCAM is against it on each model, from the intervals."""
    said: dict[str, list[str]] = {}
    for board in boards:
        for ours, rival, faith, cost in field_pairs(board, first):
            seconds = (ours.interval("seconds").mean, rival.interval("seconds").mean)
            rival_name = display_name(rival.method) + (" (fast)" if rival.method == "scorecam" else "")
            said.setdefault(rival_name, []).append(
                f"on {model_name(board)} ({setting_of(rival)}) {_outcome(faith, cost, same_clock(ours, rival))} "
                f"(insertion − deletion {faith.text(signed=True)}; "
                f"{seconds[0]:.3g} s against {seconds[1]:.3g} s per map)"
            )
    return [f"Grad++ScoreCAM against {rival}: " + "; ".join(parts) + "." for rival, parts in said.items()]


def same_clock(first: Entry, second: Entry) -> bool:
    """Their seconds were measured alike: from one timing table, or from the rows of one evaluate file."""
    return first.seconds_from == second.seconds_from and (first.seconds_from != EVALUATE_ROWS or first.source == second.source)


def _outcome(faith, cost, comparable: bool = True) -> str:
    faithful = {ABOVE: "more faithful", BELOW: "less faithful", INDISTINGUISHABLE: "indistinguishable faithfulness"}
    more = faithful[verdict(faith, 0.0)]
    cheaper = {BELOW: "cheaper", ABOVE: "dearer", INDISTINGUISHABLE: "indistinguishable cost"}[verdict(cost, 0.0)]
    return f"{more}, {cheaper if comparable else 'cost not compared (timed in different runs, maybe on different machines)'}"


def field_markdown(boards: Sequence[Leaderboard], first: str = "gradpp_scorecam") -> str:
    """Grad++ScoreCAM against Recipro-CAM, `fast` Score-CAM and Group-CAM on each model, stated from the intervals."""
    lines = [
        "| model | against | Grad++ScoreCAM − it, insertion − deletion (paired, 95 %) "
        "| seconds per map (Grad++ScoreCAM − it, paired; its cost ÷ Grad++ScoreCAM's) | Grad++ScoreCAM is | images |",
        "|---|---|---|---|---|---|",
    ]
    for board in boards:
        lines += field_rows(board, first)
    return "\n".join(lines)
