"""camlib.leaderboard: the join of several results files, tie-aware ranks, the Pareto front and the measured
recommendations, on hand-made data whose answers are computed by hand; each check beside a planted error."""

from __future__ import annotations

import json

import pytest

from camlib import leaderboard as lb
from camlib import leaderboard_text as text
from camlib.intervals import INDISTINGUISHABLE, verdict
from camlib.results_file import ResultsError

HEADER = "file,target,method,base_score,masked_score,insertion_auc,deletion_auc,seconds,error,kind,adcc,rand_spearman_1"
A = [0.5, 0.6, 0.4, 0.7, 0.3, 0.5, 0.6, 0.4]
WOBBLE = [0.1, -0.12] * 4  # mean −0.01, its interval spans 0


def entry(key: str, faith: list[float], seconds: float = 1.0, kind: str = "method") -> lb.Entry:
    images = [f"img{i}" for i in range(len(faith))]
    values = {"insertion_minus_deletion": dict(zip(images, faith)), "seconds": dict.fromkeys(images, seconds)}
    return lb.Entry(key, key, kind, "exact", {}, "hand-made", values)


def board(*entries: lb.Entry) -> lb.Leaderboard:
    return lb.Leaderboard("efficientnet_lite0", "bn2", "predicted", "report", list(entries), 8)


# -- ranks -------------------------------------------------------------------------------------------


def three() -> list[lb.Entry]:
    """gradcam ≥ hirescam by mean, but their paired interval spans 0; cam is 0.2 behind both on every image."""
    return [entry("gradcam", A), entry("hirescam", [a + w for a, w in zip(A, WOBBLE)]), entry("cam", [a - 0.2 for a in A])]


def test_ranks_tie_what_the_intervals_do_not_separate():
    entries = three()
    assert verdict(lb.difference(entries[0], entries[1], "insertion_minus_deletion")) == INDISTINGUISHABLE
    assert lb.ranks(entries, "insertion_minus_deletion") == {"gradcam": 1, "hirescam": 1, "cam": 3}


def test_a_ranking_by_means_alone_is_caught(monkeypatch):
    """Planted error: the side of a pair read from the means, ignoring the intervals: gradcam 1, hirescam 2 — not the tie."""
    monkeypatch.setattr(lb, "_side", lambda a, b, name: lb._mean(a, name) > lb._mean(b, name))
    assert lb.ranks(three(), "insertion_minus_deletion") != {"gradcam": 1, "hirescam": 1, "cam": 3}


def test_a_column_with_too_few_images_gets_no_ranks(monkeypatch):
    few = [entry("cheap", [0.5] * 6, seconds=0.1), entry("dear", [0.5] * 6, seconds=50.0)]
    assert lb.ranks(few, "seconds") == {}  # 6 timed images: no rank, not a tie at #1
    monkeypatch.setattr(lb, "MIN_PAIRED", 2)  # planted: a rule that ranks on 6 images would rank (and here tie) them
    assert set(lb.ranks(few, "seconds")) == {"cheap", "dear"}


def test_lower_is_better_ranks_the_cheapest_first():
    entries = [entry("gradcam", A, seconds=0.1), entry("scorecam", A, seconds=5.0)]
    entries[1].values["seconds"] = {f"img{i}": 5.0 + 0.1 * i for i in range(8)}
    assert lb.ranks(entries, "seconds") == {"gradcam": 1, "scorecam": 2}


# -- Pareto front ------------------------------------------------------------------------------------

POINTS = {"a": (1.0, 0.2), "b": (2.0, 0.3), "c": (3.0, 0.25), "d": (2.0, 0.3), "f": (1.0, 0.1), "g": (0.5, float("nan"))}
FRONT = ["a", "b", "d"]  # c: dearer and less faithful than b; f: as cheap as a, less faithful; g: not measured


def test_pareto_front_of_a_hand_made_set():
    assert lb.pareto_front(POINTS) == FRONT


def test_a_front_that_needs_strictly_better_on_both_axes_is_caught():
    """Planted error: 'dominated' only when another point is strictly cheaper AND strictly more faithful keeps f."""

    def strict(points):
        return sorted((k for k, (c, f) in points.items() if f == f and not any(c2 < c and f2 > f for c2, f2 in points.values())),
                      key=lambda k: points[k])  # fmt: skip

    assert strict(POINTS) != FRONT


# -- recommendations ---------------------------------------------------------------------------------


def recommendation_board() -> lb.Leaderboard:
    """gradcam: best mean, 1 s; hirescam: tied with it, 0.1 s; cam: clearly behind, 0.01 s."""
    entries = three()
    for item, seconds in zip(entries, (1.0, 0.1, 0.01)):
        item.values["seconds"] = {f"img{i}": seconds + 0.001 * i for i in range(8)}
    return board(*entries)


def test_the_demo_is_the_cheapest_method_tied_at_the_top():
    sentence = text.recommendations(recommendation_board())[0]
    assert sentence.startswith("**A demo (cheap and faithful)**: HiResCAM,"), sentence
    assert "Grad-CAM" in sentence.split("at the top:")[1]


def test_a_demo_pick_by_best_mean_or_by_cost_alone_is_caught(monkeypatch):
    """Planted errors: the top tier read as 'best mean only' (Grad-CAM) or as every method (CAM, the cheapest)."""
    monkeypatch.setattr(text, "top_tier", lambda b, name: [max(b.methods, key=lambda e: lb._mean(e, name))])
    assert not text.recommendations(recommendation_board())[0].startswith("**A demo (cheap and faithful)**: HiResCAM,")
    monkeypatch.setattr(text, "top_tier", lambda b, name: sorted(b.methods, key=lambda e: lb._mean(e, "seconds")))
    assert not text.recommendations(recommendation_board())[0].startswith("**A demo (cheap and faithful)**: HiResCAM,")


# -- files -------------------------------------------------------------------------------------------


def write(path, rows, **config) -> str:
    setup = {"backbone": "efficientnet_lite0", "layer": "bn2", "target": "predicted", "speed": "exact", "params": {}, **config}
    body = "\n".join(f"img{i}.JPEG,1,{m},0.5,0.4,{ins},{dele},{s},,{k},0.7,0.3" for i, m, ins, dele, s, k in rows)
    path.write_text(f"# camlib-config: {json.dumps(setup)}\n{HEADER}\n{body}\n")
    return str(path)


def test_files_join_per_image_and_method_with_hand_computed_means(tmp_path):
    first = write(tmp_path / "a.csv", [(0, "gradcam", 0.6, 0.1, 0.02, "method"), (1, "gradcam", 0.4, 0.2, 0.04, "method"),
                                       (0, "center", 0.3, 0.1, 0.0, "baseline"), (1, "center", 0.3, 0.2, 0.0, "baseline")])  # fmt: skip
    second = write(tmp_path / "b.csv", [(0, "hirescam", 0.7, 0.1, 0.03, "method"), (1, "hirescam", 0.5, 0.1, 0.05, "method")])
    timing = tmp_path / "t.csv"
    timing.write_text("backbone,method,file,seconds\nefficientnet_lite0,gradcam,x,0.5\nefficientnet_lite0,gradcam,y,0.7\nother,gradcam,z,9\n")
    found = lb.build_leaderboard([first, second], seconds=timing)
    assert [e.key for e in found.entries] == ["hirescam", "gradcam", "center"]  # methods by mean ins − del, then baselines
    assert found.entry("hirescam").interval("insertion_minus_deletion").mean == pytest.approx(0.5)  # (0.6 + 0.4) / 2
    assert found.entry("gradcam").interval("insertion_minus_deletion").mean == pytest.approx(0.35)  # (0.5 + 0.2) / 2
    assert found.entry("gradcam").interval("seconds").mean == pytest.approx(0.6)  # the timing table, other model skipped
    assert found.entry("hirescam").interval("seconds").mean == pytest.approx(0.04)  # the evaluate rows
    assert lb.difference(found.entry("hirescam"), found.entry("gradcam"), "insertion_minus_deletion").mean == pytest.approx(0.15)
    assert found.entry("gradcam").sanity == "passes"  # Spearman 0.3 on both images: wholly below 0.5


def test_methods_are_compared_on_the_images_they_all_have(tmp_path, monkeypatch):
    six = write(tmp_path / "six.csv", [(0, "gradcam", 0.6, 0.1, 0.02, "method"), (1, "gradcam", 0.9, 0.1, 0.04, "method")])
    prefix = write(tmp_path / "new.csv", [(0, "hirescam", 0.7, 0.1, 0.03, "method")])  # run on the first image only
    found = lb.build_leaderboard([six, prefix])
    assert found.images == 1
    assert found.entry("gradcam").interval("insertion_minus_deletion").mean == pytest.approx(0.5)  # img0 only, not 0.65
    monkeypatch.setattr(lb, "shared_images", lambda files: {row["file"] for f in files for row in f.rows})  # planted: every image
    assert lb.build_leaderboard([six, prefix]).entry("gradcam").interval("insertion_minus_deletion").mean == pytest.approx(0.65)


@pytest.mark.parametrize(("key", "value"), [("layer", "conv_head"), ("backbone", "efficientnet_lite1"), ("target", "1"), ("half", "tuning")])
def test_files_of_another_model_layer_target_or_half_are_refused(tmp_path, key, value):
    first = write(tmp_path / "a.csv", [(0, "gradcam", 0.6, 0.1, 0.02, "method")])
    second = write(tmp_path / "b.csv", [(0, "hirescam", 0.7, 0.1, 0.03, "method")], **{key: value})
    with pytest.raises(ResultsError, match=key):
        lb.build_leaderboard([first, second])


def test_a_method_at_two_speeds_is_two_entries_and_twice_at_one_speed_is_refused(tmp_path):
    exact = write(tmp_path / "a.csv", [(0, "scorecam", 0.6, 0.1, 9.0, "method"), (0, "center", 0.3, 0.1, 0.0, "baseline")])
    fast = write(tmp_path / "b.csv", [(0, "scorecam", 0.5, 0.1, 2.0, "method"), (0, "center", 0.3, 0.1, 0.0, "baseline")],
                 speed="fast", params={"scorecam": {"sampled_channels": 128}})  # fmt: skip
    found = lb.build_leaderboard([exact, fast])
    assert [e.key for e in found.entries] == ["scorecam@exact", "scorecam@fast", "center"]
    assert text.setting_of(found.entry("scorecam@fast")) == "fast (sampled_channels=128)"
    with pytest.raises(ResultsError, match="keep it in one file"):
        lb.build_leaderboard([exact, write(tmp_path / "c.csv", [(0, "scorecam", 0.5, 0.1, 2.0, "method")])])
    with pytest.raises(ResultsError, match="share no image"):
        lb.build_leaderboard([exact, write(tmp_path / "d.csv", [(1, "gradcam", 0.5, 0.1, 2.0, "method")])])


def test_pointing_hits_attach_and_the_table_states_the_setting(tmp_path):
    evaluated = write(tmp_path / "a.csv", [(i, m, 0.6, 0.1, 0.02, "method") for i in range(2) for m in ("gradcam", "cam")])
    pointing = tmp_path / "p.csv"
    lines = ["grid,cell,file,target,method,energy_share,hit,seconds,error"]
    lines += [f"{g},{c},img{c},1,gradcam,0.5,{int(c != 3)},0.1," for g in range(2) for c in range(4)]
    pointing.write_text("\n".join(lines) + "\n")
    found = lb.build_leaderboard([evaluated], [pointing])
    assert found.entry("gradcam").interval("hit_rate").mean == pytest.approx(0.75)  # 3 of 4 cells in each grid
    table = text.leaderboard_markdown(found)
    assert "0.750 [0.750, 0.750]" in table and "| exact |" in table
    line = text.setting_line(found)
    assert line.startswith("Report half, EfficientNet-Lite0 at layer `bn2`") and "2 images" in line and "2 grids" in line


def test_pointing_hits_compare_on_the_grids_every_method_has(tmp_path, monkeypatch):
    evaluated = write(tmp_path / "a.csv", [(i, m, 0.6, 0.1, 0.02, "method") for i in range(2) for m in ("gradcam", "cam")])
    lines = ["grid,cell,file,target,method,energy_share,hit,seconds,error"]
    lines += [f"{g},{c},img{c},1,gradcam,0.5,{int(g == 0 or c == 0)},0.1," for g in range(2) for c in range(4)]
    lines += [f"0,{c},img{c},1,cam,0.5,1,0.1," for c in range(4)]  # cam run on the first grid only
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n")
    found = lb.build_leaderboard([evaluated], [tmp_path / "p.csv"])
    assert found.entry("gradcam").interval("hit_rate").mean == pytest.approx(1.0)  # grid 0 only, not 5 of 8
    assert "1 grids" in text.setting_line(found)
    monkeypatch.setattr(lb, "keep_shared_cells", lambda entries: None)  # planted: every method on its own grids
    assert lb.build_leaderboard([evaluated], [tmp_path / "p.csv"]).entry("gradcam").interval("hit_rate").mean == pytest.approx(0.625)


def test_grad_pp_scorecam_field_states_cost_only_when_timed_alike():
    """Rows from two evaluate files (maybe two machines) get no cost verdict; a timing table's do. Planted
    error: a same_clock that trusts any two evaluate rows would call the cost."""
    ours = entry("gradpp_scorecam", A, seconds=1.0)
    rival = entry("reciprocam", [a - 0.2 for a in A], seconds=0.1)
    rival.source = "other.csv"
    found = board(ours, rival)
    assert "more faithful, cost not compared" in text.field_rows(found)[0]
    for item in (ours, rival):
        item.seconds_from = "seconds.csv"
    assert "more faithful, dearer" in text.field_rows(found)[0]
    rival.seconds_from = ours.seconds_from = lb.EVALUATE_ROWS
    assert not (lambda a, b: a.seconds_from == b.seconds_from)(ours, rival) is text.same_clock(ours, rival)


def test_a_timing_json_of_app_timings_applies_to_its_model_only(tmp_path):
    timing = tmp_path / "t.json"
    timing.write_text(json.dumps({"backbone": "EfficientNet-Lite0", "seconds_by_setting": {"exact": {"gradcam": 0.02, "scorecam": 7.7}}}))
    assert lb.read_seconds_table(timing, "efficientnet_lite0")[("scorecam", "exact")] == {"timing": 7.7}
    assert lb.read_seconds_table(timing, "efficientnet_lite1") == {}  # another model's timings are not borrowed
    bad = tmp_path / "b.csv"
    bad.write_text("method,seconds\ngradcam,-1\n")
    with pytest.raises(Exception, match="not a number of seconds"):
        lb.read_seconds_table(bad, "efficientnet_lite0")


def pointing_file(path, method: str, files: list[str], config: dict | None = None) -> str:
    lines = ([f"# camlib-config: {json.dumps(config)}"] if config else []) + ["grid,cell,file,target,method,energy_share,hit,seconds,error"]
    lines += [f"0,{c},{name},1,{method},0.5,1,0.1," for c, name in enumerate(files)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_pointing_files_with_and_without_a_configuration_join_when_their_grids_agree(tmp_path):
    evaluated = write(tmp_path / "a.csv", [(0, m, 0.6, 0.1, 0.02, "method") for m in ("gradcam", "hirescam")])
    old = pointing_file(tmp_path / "p.csv", "gradcam", ["a", "b", "c", "d"])
    new = pointing_file(tmp_path / "q.csv", "hirescam", ["a", "b", "c", "d"], {"backbone": "efficientnet_lite0", "layer": "bn2", "params": {}})
    found = lb.build_leaderboard([evaluated], [old, new])
    assert found.entry("hirescam").interval("hit_rate").mean == pytest.approx(1.0)
    other_grids = pointing_file(tmp_path / "r.csv", "hirescam", ["a", "b", "x", "d"])
    with pytest.raises(ResultsError, match="other grids"):
        lb.build_leaderboard([evaluated], [old, other_grids])
    other_layer = pointing_file(tmp_path / "s.csv", "hirescam", ["a", "b", "c", "d"], {"backbone": "efficientnet_lite0", "layer": "conv_head", "params": {}})
    with pytest.raises(ResultsError, match="layer"):
        lb.build_leaderboard([evaluated], [old, other_layer])
    setup = {"backbone": "efficientnet_lite0", "layer": "bn2", "params": {}}
    at_448 = pointing_file(tmp_path / "t.csv", "hirescam", ["a", "b", "c", "d"], {**setup, "size": 448})
    at_480 = pointing_file(tmp_path / "u.csv", "gradcam", ["a", "b", "c", "d"], {**setup, "size": 480})
    with pytest.raises(ResultsError, match="grids of 480 px"):
        lb.build_leaderboard([evaluated], [at_448, at_480])
    also_448 = pointing_file(tmp_path / "v.csv", "gradcam", ["a", "b", "c", "d"], {**setup, "size": 448})
    assert lb.build_leaderboard([evaluated], [at_448, also_448]).entry("gradcam").interval("hit_rate").mean == pytest.approx(1.0)


def test_a_timing_table_times_only_entries_run_at_its_settings_parameters(tmp_path, monkeypatch):
    """The table's SS-CAM ran at the exact setting; an SS-CAM run with 128 sampled channels keeps its own
    rows' seconds. Planted error: matching on the method and speed alone borrows the exact run's 546 s."""
    rows = [(i, m, 0.6, 0.1, 5.0, "method") for i in range(2) for m in ("sscam", "gradcam")]
    sampled = write(tmp_path / "s.csv", rows, params={"sscam": {"sampled_channels": 128}, "gradcam": {}})
    timing = tmp_path / "t.csv"
    timing.write_text("backbone,method,speed,file,seconds\n" + "".join(
        f"efficientnet_lite0,{m},exact,img{i}.JPEG,{s}\n" for i in range(2) for m, s in (("sscam", 546), ("gradcam", 0.5))))
    found = lb.build_leaderboard([sampled], seconds=timing)
    assert found.entry("sscam").interval("seconds").mean == pytest.approx(5.0)  # its own rows
    assert found.entry("sscam").seconds_from == lb.EVALUATE_ROWS
    assert found.entry("gradcam").interval("seconds").mean == pytest.approx(0.5)  # the table
    monkeypatch.setattr(lb, "runs_as_timed", lambda entry: True)
    planted = lb.build_leaderboard([sampled], seconds=timing)
    assert planted.entry("sscam").interval("seconds").mean == pytest.approx(546)  # caught: the wrong setting's time


def test_runs_as_timed_follows_the_speed_settings_parameters():
    fast = lb.Entry("scorecam", "scorecam", "method", "fast", {"sampled_channels": 128, "mixed_precision": True}, "f")
    assert lb.runs_as_timed(fast)
    assert not lb.runs_as_timed(lb.Entry("scorecam", "scorecam", "method", "exact", {"sampled_channels": 128}, "f"))
    assert lb.runs_as_timed(lb.Entry("center", "center", "baseline", "fast", {}, "f"))


def test_no_ranks_in_a_column_where_some_entries_have_too_few_values(monkeypatch):
    """SS-CAM timed on 16 images beside methods timed on 6: ranking the two well-timed ones would print #1 beside a
    48-s method while a 0.1-s one has no rank. Planted error: ranking only the well-measured entries."""
    mixed = [entry("sscam", [0.5] * 16, seconds=48.0), entry("iscam", [0.5] * 16, seconds=49.0), entry("cam", [0.5] * 6, seconds=0.1)]
    assert lb.ranks(mixed, "seconds") == {}
    assert lb.ranks(mixed[:2], "seconds") != {}  # the two alone are ranked (tied)
    monkeypatch.setattr(lb, "MIN_PAIRED", 6)
    assert set(lb.ranks(mixed, "seconds")) == {"sscam", "iscam", "cam"}


def test_seconds_timed_in_different_runs_get_no_ranks():
    one, other = entry("gradcam", A, seconds=1.0), entry("hirescam", A, seconds=2.0)
    other.source = "other.csv"  # evaluate rows of another file: another clock
    table = text.leaderboard_markdown(board(one, other))
    assert "2.000 [2.000, 2.000] #" not in table and "1.000 [1.000, 1.000] #" not in table
    other.source = one.source
    assert "1.000 [1.000, 1.000] #1" in text.leaderboard_markdown(board(one, other))  # planted: one clock is ranked
