"""bench/leaderboard.py: methods run on a prefix of the report half only (SS-CAM, IS-CAM) get their own table
beside every other method on that prefix, and the main table keeps all its images."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

from camlib import leaderboard as lb

ROOT = Path(__file__).resolve().parents[1]
HEADER = "file,target,method,base_score,masked_score,insertion_auc,deletion_auc,seconds,error,kind,adcc,rand_spearman_1"


def bench_module():
    spec = importlib.util.spec_from_file_location("bench_leaderboard", ROOT / "bench" / "leaderboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(path: Path, methods: dict[str, dict], images: int, sanity: str = "0.3") -> str:
    setup = {"backbone": "efficientnet_lite0", "layer": "bn2", "target": "predicted", "speed": "exact", "params": methods}
    rows = [f"img{i:02d}.JPEG,1,{m},0.5,0.4,{0.5 + 0.01 * i + 0.1 * j},0.1,0.2,,{'baseline' if m == 'center' else 'method'},0.7,{sanity}"
            for i in range(images) for j, m in enumerate(methods)]  # fmt: skip
    path.write_text(f"# camlib-config: {json.dumps(setup)}\n{HEADER}\n" + "\n".join(rows) + "\n")
    return str(path)


@pytest.fixture
def files(tmp_path):
    main = write(tmp_path / "main.csv", {"gradcam": {}, "cam": {}, "center": {}}, images=12)
    sampled = write(tmp_path / "sampled.csv", {"sscam": {"sampled_channels": 128}}, images=8, sanity="")
    return main, sampled


def arguments(main: str, sampled: list[str]) -> argparse.Namespace:
    found = {"lite0": [main], "pointing_lite0": [], "sampled_lite0": sampled}
    for model in ("lite1", "lite2"):
        found |= {model: ["none.csv"], f"pointing_{model}": [], f"sampled_{model}": []}
    return argparse.Namespace(**found)


def test_the_main_table_keeps_its_images_and_the_prefix_table_adds_the_sampled_methods(files, capsys):
    bench = bench_module()
    main, sampled = files
    (board, prefix), = bench.boards(arguments(main, [sampled]), None)
    assert board.images == 12 and "sscam" not in {e.method for e in board.entries}
    assert prefix.images == 8 and {e.method for e in prefix.methods} == {"gradcam", "cam", "sscam"}
    record = bench.prefix_record(board, prefix)
    assert record["methods"] == ["sscam"] and "first 8 report-half images" in record["title"]
    assert "no randomisation check for SS-CAM" in record["note"] and "sampled_channels=128" in record["table"]
    assert "SS-CAM" not in "".join(bench.cost_only_lines([(board, prefix)], None))
    assert "SS-CAM" in "".join(bench.cost_only_lines([(board, None)], None))  # without the prefix table: listed as left off
    # planted error: one board of every file cuts the whole table down to the prefix
    assert lb.build_leaderboard([main, sampled]).images == 8 != board.images


def test_without_a_sampled_file_there_is_no_prefix_table(files):
    bench = bench_module()
    main, _ = files
    (board, prefix), = bench.boards(arguments(main, []), None)
    assert prefix is None and "prefix" not in bench.board_record(board, prefix)
    assert "####" not in bench.document([(board, prefix)], "", [])
