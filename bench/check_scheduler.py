"""docs/scheduler: the Slurm array scripts and the Kubernetes Indexed Job run camlib as they say.

A slow check, not part of the README's test command (five Python processes that import torch, about 30 s
of its 5-minute budget on the 2-core machine): run it with ``python -m pytest -q bench/check_scheduler.py``.


No scheduler is needed: the tests set the variables Slurm and Kubernetes set, and run the scripts'
commands on a small folder with one baseline (no method), so they stay fast.
"""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

yaml = pytest.importorskip("yaml")

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEDULER = REPO_ROOT / "docs" / "scheduler"
CAMLIB = f"{sys.executable} -m camlib"


@pytest.fixture()
def folder(tmp_path):
    images = tmp_path / "val"
    images.mkdir()
    generator = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(generator.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(images / f"img{i}.png")
    return images


def run(command, env, cwd, **kwargs):
    """``command`` with ``env`` over this environment, in ``cwd`` (a test's tmp_path: a script's default output
    folder, $PWD/camlib-results, lands there, never in the repository)."""
    environ = {**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)}
    for name in ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "JOB_COMPLETION_INDEX"):
        if name not in env:
            environ.pop(name, None)
    return subprocess.run(command, env=environ, cwd=cwd, capture_output=True, text=True, timeout=300, check=False, **kwargs)


def files_in(path):
    with open(path, newline="") as handle:
        return sorted(row["file"] for row in csv.DictReader(line for line in handle if not line.startswith("#")))


@pytest.mark.slow  # three Python processes that import torch and load Lite0: 80 s on the shared machine
def test_slurm_array_then_merge(folder, tmp_path):
    out = tmp_path / "results"
    common = {"IMAGES": str(folder), "OUT_DIR": str(out), "METHODS": "center", "CAMLIB": CAMLIB}
    for task in (1, 2):  # an array declared as --array=1-2
        done = run(["bash", str(SCHEDULER / "slurm_evaluate.sh")],
                   {**common, "SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "2"}, tmp_path)
        assert done.returncode == 0, done.stderr
    assert files_in(out / "shard-1.csv") == ["img0.png", "img2.png", "img4.png"]
    assert files_in(out / "shard-2.csv") == ["img1.png", "img3.png"]
    merged = run(["bash", str(SCHEDULER / "slurm_merge.sh")], common, tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert files_in(out / "all.csv") == [f"img{i}.png" for i in range(5)]
    assert "| images | 5 |" in (out / "table.md").read_text()


@pytest.mark.slow  # two Python processes that import torch: 24 s on the shared machine
def test_kubernetes_indexed_job_command_covers_its_shard(folder, tmp_path):
    evaluate, merge = yaml.safe_load_all((SCHEDULER / "kubernetes_indexed_job.yaml").read_text())
    spec = evaluate["spec"]
    assert spec["completionMode"] == "Indexed"
    command = spec["template"]["spec"]["containers"][0]["args"][0]
    assert f"--shards {spec['completions']}" in command and "--shard auto" in command
    results = tmp_path / "results"
    results.mkdir()
    local = (command.replace("camlib evaluate", f"{CAMLIB} evaluate").replace("/data/imagenet/val", str(folder))
             .replace("/results", str(results)).replace("--methods all,baselines", "--methods center")
             .replace(f"--shards {spec['completions']}", "--shards 5"))  # 5 images here, 50,000 there
    done = run(["sh", "-c", local], {"JOB_COMPLETION_INDEX": "3"}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (results / "shard-3.done").is_file()
    assert files_in(results / "shard-3.csv") == ["img3.png"]
    merge_command = merge["spec"]["template"]["spec"]["containers"][0]["args"][0]
    local_merge = merge_command.replace("camlib evaluate-merge", f"{CAMLIB} evaluate-merge").replace("/results", str(results))
    merged = run(["sh", "-c", local_merge], {}, tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "| images | 1 |" in merged.stdout and (results / "table.md").is_file()
