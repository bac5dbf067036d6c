"""One source per figure: every marked figure of README.md and docs/results.md equals what bench/readme_figures.py
recomputes from the committed outputs, and a planted change (to a document's figure, or to one per-image row) is caught."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import readme_figures  # noqa: E402

STALE = ["69.08", "68.28", "18.83", "18.48", "12.98", "12.9×", "13.1×", "costs 1.7×", "82.8 %", "passes by 0.002",
         "leads insertion − deletion on Lite1", "does **not** beat the centre\n  blob",
         "19.33×", "**2.03×**", "18.6×", "0.856 (0.369)", "| NVIDIA H200 |", "0.136 s against"]  # fmt: skip


@pytest.fixture(scope="module")
def figures():
    return readme_figures.figures()


@pytest.mark.parametrize("document", readme_figures.DOCUMENTS, ids=lambda path: path.name)
def test_every_marked_figure_is_what_the_script_prints(figures, document):
    text = document.read_text(encoding="utf-8")
    assert readme_figures.MARKER.search(text), f"{document.name} has no marked figure"
    _, differing = readme_figures.rewrite(text, figures)
    assert differing == [], f"{document.name}: run python bench/readme_figures.py --update ({differing})"
    for stale in STALE:
        assert stale not in text, stale


def test_every_figure_appears_in_a_document(figures):
    used = {match["name"] for path in readme_figures.DOCUMENTS for match in readme_figures.MARKER.finditer(path.read_text(encoding="utf-8"))}
    assert set(figures) <= used
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("block_lite0_bn2", "block_lite1_bn2", "timings", "top1", "fast_vs_exact", "uniform_increase",
                 "cpu_methods", "extra_ratios", "extra_no_peer"):
        assert f"<!--fig:{name}-->" in readme


def test_the_figures_say_what_the_intervals_support(figures):
    lite0 = figures["block_lite0_bn2"]
    assert "CAM, Grad-CAM, Grad-CAM++, SmoothGrad-CAM++ and Grad++ScoreCAM are indistinguishable from it" in lite0
    assert "CAM − blob −0.003 [−0.021, 0.016]" in lite0
    assert "Grad++ScoreCAM is indistinguishable from the threshold (0.503 [0.457, 0.548])" in lite0
    assert "insertion − deletion −0.013 [−0.024, −0.003] (behind)" in lite0
    assert "insertion − deletion +0.004 [−0.003, 0.012] (indistinguishable)" in figures["block_lite1_bn2"]
    assert "insertion − deletion −0.005 [−0.011, 0.002] (indistinguishable)" in figures["block_lite2_bn2"]
    assert figures["uniform_increase"] == "5.6–7.2 %"
    import json

    fast = json.loads((readme_figures.RESULTS / "app_timings.json").read_text(encoding="utf-8"))["seconds_by_setting"]["fast"]
    assert figures["timings"].startswith(f"all six maps take {readme_figures._seconds(sum(fast.values()))} at Fast")
    assert figures["extra_ratios"].startswith("HiResCAM 3.86×, XGrad-CAM 1.40× (torchcam)")
    assert "IS-CAM 0.92×" in figures["extra_ratios"] and "Recipro" not in figures["extra_ratios"]
    assert figures["extra_no_peer"] == "they take 0.10 s and 1.47 s, 197× and 13× less than exact Score-CAM in the same run (19.6 s)"


def test_a_planted_change_in_a_document_is_caught(figures):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    planted = text.replace("CAM − blob −0.003 [−0.021, 0.016]", "CAM − blob −0.004 [−0.021, 0.016]", 1)
    assert planted != text
    _, differing = readme_figures.rewrite(planted, figures)
    assert differing == ["block_lite0_bn2"]
    unknown = text + "\n<!--fig:made_up-->1.0<!--/fig-->\n"
    assert readme_figures.rewrite(unknown, figures)[1] == ["made_up (no such figure)"]


def test_a_planted_change_in_the_committed_rows_is_caught(tmp_path, monkeypatch):
    """Lower CAM's insertion AUC on one image of the bn2 rows: the recomputed figure moves, and the README's no longer matches."""
    for name in ("report_lite0_bn2.csv", "pointing_lite0_bn2.csv"):
        shutil.copy(readme_figures.RESULTS / name, tmp_path / name)
    path = tmp_path / "report_lite0_bn2.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if ",cam," in line)
    fields = lines[index].split(",")
    fields[5] = f"{float(fields[5]) - 0.5:.6f}"  # insertion_auc
    lines[index] = ",".join(fields)
    path.write_text("".join(lines), encoding="utf-8")
    original = readme_figures.blob_sentence("lite0_bn2")
    monkeypatch.setattr(readme_figures, "RESULTS", tmp_path)
    readme_figures.summaries.cache_clear()
    try:
        changed = readme_figures.blob_sentence("lite0_bn2")
    finally:
        readme_figures.summaries.cache_clear()
    assert changed != original
    assert changed not in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_timings_are_read_from_the_benchs_output_file(tmp_path):
    import json

    from camlib import timings

    written = json.loads((readme_figures.RESULTS / "app_timings.json").read_text(encoding="utf-8"))
    # the package's copy of the bench's file (tests/test_resources.py fails when the two drift apart)
    assert timings.TIMINGS_FILE.read_bytes() == (readme_figures.RESULTS / "app_timings.json").read_bytes()
    assert timings.SECONDS_BY_SETTING == written["seconds_by_setting"]
    assert timings.setting_seconds("fast") == pytest.approx(sum(written["seconds_by_setting"]["fast"].values()))
    assert timings.map_size(448) == tuple(written["seconds_by_resolution"]["448"]["map_size"])
    # without the file nothing is claimed (a planted absence reads as "not measured", not as typed numbers)
    assert timings._load(tmp_path / "absent.json") == {}


def test_a_planted_change_in_a_benchmark_output_is_caught(tmp_path, monkeypatch, figures):
    """Edit one camlib time in the CPU table's output, and one ratio in the added methods' output: the figures move."""
    for name in ("bench_methods_quick.md", "extra_methods.txt"):
        shutil.copy(readme_figures.BENCH_RESULTS / name, tmp_path / name)
    table = tmp_path / "bench_methods_quick.md"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("| efficientnet_lite0 | gradcam |"))
    cells = lines[index].split("|")
    cells[3] = f" {float(cells[3]) + 0.5:.3f} "
    lines[index] = "|".join(cells)
    table.write_text("".join(lines), encoding="utf-8")
    extra = tmp_path / "extra_methods.txt"
    extra.write_text(extra.read_text(encoding="utf-8").replace("| 3.86 |", "| 3.96 |"), encoding="utf-8")
    monkeypatch.setattr(readme_figures, "BENCH_RESULTS", tmp_path)
    assert readme_figures.cpu_methods_text() != figures["cpu_methods"]
    assert readme_figures.extra_ratios_text().startswith("HiResCAM 3.96×")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    planted = {**figures, "cpu_methods": readme_figures.cpu_methods_text(), "extra_ratios": readme_figures.extra_ratios_text()}
    assert sorted(readme_figures.rewrite(readme, planted)[1]) == ["cpu_methods", "extra_ratios"]
