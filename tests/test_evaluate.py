"""The evaluate command: sharding, resuming, merging, labels and the table."""

import csv

import numpy as np
import pytest
import torch
from conftest import make_tiny_backbone
from PIL import Image

from camlib.backbones import Backbone
from camlib.cli import main
from camlib.errors import InvalidParameterError
from camlib.evaluate import evaluate_folder, list_images, markdown_table, merge_results, parse_shard, read_rows
from camlib.images import load_image
from camlib.metrics import average_drop, average_increase

METHODS = ["cam", "gradcam"]


@pytest.fixture()
def tiny_backbone() -> Backbone:
    return make_tiny_backbone()


@pytest.fixture()
def image_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    generator = np.random.default_rng(0)
    names = [f"n0{1440764 + i:07d}_img{i}.png" for i in range(5)]
    for name in names:
        Image.fromarray(generator.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    return folder


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("# camlib-config: ")))


def test_shards_split_the_list_deterministically_and_completely(image_folder):
    everything = list_images(image_folder)
    assert len(everything) == 5
    shards = [list_images(image_folder, shard=(i, 3)) for i in range(3)]
    assert sorted(p for shard in shards for p in shard) == everything
    assert shards == [list_images(image_folder, shard=(i, 3)) for i in range(3)]
    assert list_images(image_folder, limit=2) == everything[:2]
    assert parse_shard("2/8") == (2, 8)
    with pytest.raises(InvalidParameterError):
        list_images(image_folder, shard=(3, 3))
    with pytest.raises(InvalidParameterError):
        parse_shard("half")


def _map_by_method(model, method: str, inputs: torch.Tensor, target: int) -> np.ndarray:
    from camlib.methods import CAM, GradCAM

    method_object = CAM(model, "features", classifier_layer="fc") if method == "cam" else GradCAM(model, "features")
    return method_object(inputs, [target])[0]


def _probability(model, inputs: torch.Tensor, target: int) -> float:
    with torch.no_grad():
        return float(model(inputs).double().softmax(dim=1)[0, target])


def _insertion_deletion_by_hand(model, inputs: torch.Tensor, saliency: np.ndarray, target: int, steps: int) -> tuple[float, float]:
    """Petsiuk et al.'s curves written out: pixels by saliency (raster order for ties), ``steps`` equal
    steps, deletion towards zeros and insertion from the blurred image; trapezoidal area over [0, 1]."""
    from camlib.metrics import gaussian_blur  # a plain convolution; checked against torchcam in test_metrics

    order = np.argsort(-saliency.ravel(), kind="stable")
    blurred = gaussian_blur(inputs)
    curves = {"insertion": [], "deletion": []}
    for count in np.round(np.linspace(0, saliency.size, steps + 1)).astype(int):
        moved = np.zeros(saliency.size, dtype=np.float32)
        moved[order[:count]] = 1
        moved_tensor = torch.from_numpy(moved.reshape(saliency.shape))
        curves["deletion"].append(_probability(model, inputs * (1 - moved_tensor), target))
        curves["insertion"].append(_probability(model, blurred * (1 - moved_tensor) + inputs * moved_tensor, target))
    area = {name: float(np.sum((np.array(v[1:]) + np.array(v[:-1])) / 2) / steps) for name, v in curves.items()}
    return area["insertion"], area["deletion"]


@pytest.fixture()
def decisive_backbone() -> Backbone:
    """The tiny backbone with its classifier's weights scaled up, so that the class probabilities are far
    from uniform (0.001 each) and the CSV's six decimals hold the drops and rises to many digits; class 0
    reads every channel negatively, so masking the input (which lowers the activations) raises it."""
    backbone = make_tiny_backbone()
    with torch.no_grad():
        backbone.model.fc.weight.mul_(100)
        backbone.model.fc.weight[0] = -backbone.model.fc.weight[0].abs()
        backbone.model.fc.bias[0] += 15.0  # class 0 close behind the top-1 on these images (logits about 8.4 and 9)
    return backbone


def test_rows_and_summary_agree_with_hand_computed_scores(decisive_backbone, image_folder, tmp_path):
    """Every row's scores recomputed without camlib's evaluation code (the model run by hand on the input
    and on the input times the map, Average Drop and Increase by their formulas, insertion and deletion
    written out), and the summary as the mean of those hand values."""
    tiny_backbone = decisive_backbone
    out = tmp_path / "results.csv"
    steps = 4
    model = tiny_backbone.model
    files = list_images(image_folder)
    labels = {}  # class 0 for two images (masking raises it: Average Increase is not 0), the top-1 for the others
    for index, path in enumerate(files):
        with torch.no_grad():
            labels[path.name] = 0 if index < 2 else int(model(tiny_backbone.preprocess(load_image(path))).argmax(dim=1)[0])
    with open(image_folder / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "class_index", "wnid", "class_name"])
        writer.writerows([name, index, "", ""] for name, index in labels.items())
    summaries = evaluate_folder(
        tiny_backbone, image_folder, methods=METHODS, out=out, insertion_steps=steps, target="label", labels=image_folder / "labels.csv"
    )
    rows = read_csv(out)
    assert len(rows) == 5 * len(METHODS)
    by_hand: dict[str, list[tuple[float, float, float, float]]] = {method: [] for method in METHODS}
    for row in rows:
        inputs = tiny_backbone.preprocess(load_image(image_folder / row["file"]))
        target = int(row["target"])
        assert target == labels[row["file"]]
        if target == 0:  # control: the wrong class (the top-1) would fail the checks below
            with torch.no_grad():
                top_1 = int(model(inputs).argmax(dim=1)[0])
            assert abs(_probability(model, inputs, top_1) - float(row["base_score"])) > 1e-4  # 10 × the tolerance
        saliency = _map_by_method(model, row["method"], inputs, target)
        base, masked = _probability(model, inputs, target), _probability(model, inputs * torch.from_numpy(saliency), target)
        insertion, deletion = _insertion_deletion_by_hand(model, inputs, saliency, target, steps)
        assert float(row["base_score"]) == pytest.approx(base, abs=1e-5)
        assert float(row["masked_score"]) == pytest.approx(masked, abs=1e-5)
        assert float(row["insertion_auc"]) == pytest.approx(insertion, abs=1e-5)
        assert float(row["deletion_auc"]) == pytest.approx(deletion, abs=1e-5)
        by_hand[row["method"]].append((base, masked, insertion, deletion))
    for summary in summaries:
        base, masked, insertion, deletion = (np.array(column) for column in zip(*by_hand[summary.method]))
        assert summary.average_drop == pytest.approx(100 * np.mean(np.maximum(0, base - masked) / base), abs=1e-3)
        # the tiny model's increases are far above the rounding noise that Average Increase ignores
        increases = masked - base
        assert np.all((np.abs(increases) > 1e-4))
        assert summary.average_increase == pytest.approx(100 * np.mean(increases > 0), abs=1e-9)
        assert 0 < summary.average_increase < 100
        assert summary.insertion_auc == pytest.approx(insertion.mean(), abs=1e-5)
        assert summary.deletion_auc == pytest.approx(deletion.mean(), abs=1e-5)
    table = markdown_table(summaries)
    assert "| Average Drop % (lower is better) |" in table and "Grad-CAM" in table


def test_interrupted_run_loses_nothing_and_resume_computes_only_the_rest(tiny_backbone, image_folder, tmp_path, monkeypatch):
    out = tmp_path / "results.csv"

    def stop_after_two(done, total, name):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate_folder(tiny_backbone, image_folder, methods=METHODS, out=out, insertion_steps=4, progress=stop_after_two)
    kept = read_csv(out)
    assert len(kept) == 2 * len(METHODS)

    computed = []
    import camlib.evaluate as evaluate_module

    original = evaluate_module.map_row

    def counting(backbone, method, key, name, *args):
        computed.append((name, key))
        return original(backbone, method, key, name, *args)

    monkeypatch.setattr(evaluate_module, "map_row", counting)
    evaluate_folder(tiny_backbone, image_folder, methods=METHODS, out=out, insertion_steps=4, resume=True)
    assert len(computed) == 3 * len(METHODS)
    assert not {name for name, _ in computed} & {row["file"] for row in kept}
    final = read_csv(out)
    assert len(final) == 5 * len(METHODS)
    assert final[: len(kept)] == kept


def test_merged_shards_equal_one_run(tiny_backbone, image_folder, tmp_path):
    whole = evaluate_folder(tiny_backbone, image_folder, methods=METHODS, out=tmp_path / "all.csv", insertion_steps=4)
    parts = [tmp_path / f"part{i}.csv" for i in range(2)]
    for i, part in enumerate(parts):
        evaluate_folder(tiny_backbone, image_folder, methods=METHODS, out=part, shard=(i, 2), insertion_steps=4)
    merged = merge_results(parts, out=tmp_path / "merged.csv")
    assert [m.method for m in merged] == [w.method for w in whole]
    for merged_summary, whole_summary in zip(merged, whole):
        assert merged_summary.images == whole_summary.images == 5
        assert merged_summary.average_drop == pytest.approx(whole_summary.average_drop)
        assert merged_summary.average_increase == pytest.approx(whole_summary.average_increase)
        assert merged_summary.insertion_auc == pytest.approx(whole_summary.insertion_auc)
    assert len(read_rows([tmp_path / "merged.csv"])) == 5 * len(METHODS)


def test_label_targets_from_labels_csv_or_wnid(tiny_backbone, image_folder, tmp_path):
    files = list_images(image_folder)
    with open(image_folder / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "class_index", "wnid", "class_name"])
        writer.writerow([files[0].name, 7, "n01440764", "x"])
        writer.writerow(["other.png", 9, files[1].name[:9], "y"])
    out = tmp_path / "labels.csv.out"
    evaluate_folder(tiny_backbone, image_folder, methods=["gradcam"], out=out, target="label", limit=2, insertion_steps=4)
    assert [row["target"] for row in read_csv(out)] == ["7", "9"]
    with pytest.raises(InvalidParameterError, match="No ground-truth label"):
        evaluate_folder(tiny_backbone, image_folder, methods=["gradcam"], out=out, target="label", limit=3, insertion_steps=4)


@pytest.mark.slow  # the real EfficientNet-Lite0 through the CLI, all metrics: 20-34 s on the shared machine
def test_cli_evaluate_and_merge(image_folder, tmp_path, capsys):
    out = tmp_path / "cli.csv"
    code = main(["evaluate", str(image_folder), "--methods", "gradcam,gradcampp", "--limit", "2", "--metrics", "basic", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| seconds per image |" in printed and "Grad-CAM++" in printed
    assert len(read_csv(out)) == 4
    assert main(["evaluate-merge", str(out)]) == 0
    assert "| Average Increase % (higher is better) |" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "No such folder" in capsys.readouterr().err
    both = tmp_path / "both.csv"
    assert main(["evaluate", str(image_folder), "--methods", "gradcam,center", "--limit", "1", "--out", str(both)]) == 0
    printed = capsys.readouterr().out
    assert "| kind | method | baseline |" in printed and "Centre blob (no model)" in printed and "| ADCC (higher is better) |" in printed
    assert [(row["method"], row["kind"]) for row in read_csv(both)] == [("gradcam", "method"), ("center", "baseline")]
    assert main(["explain", str(image_folder / read_csv(both)[0]["file"]), "--methods", "center", "--out", str(tmp_path / "g.png")]) == 2
    assert "Unknown method 'center'" in capsys.readouterr().err


def test_common_images_keeps_only_images_every_method_scored(tiny_backbone, image_folder, tmp_path):
    out = tmp_path / "partial.csv"
    evaluate_folder(tiny_backbone, image_folder, methods=["cam"], out=out, insertion_steps=4)
    evaluate_folder(tiny_backbone, image_folder, methods=["gradcam"], out=out, limit=2, resume=True, insertion_steps=4)
    everything = {s.method: s.images for s in merge_results([out])}
    common = {s.method: s.images for s in merge_results([out], common_images=True)}
    assert everything == {"cam": 5, "gradcam": 2}
    assert common == {"cam": 2, "gradcam": 2}


# -- baselines and the new metrics ---------------------------------------------------------------


def test_method_lists_take_baselines_and_explain_does_not():
    from camlib.baselines import BASELINES
    from camlib.errors import UnknownMethodError
    from camlib.evaluate import DEFAULT_SELECTION, parse_evaluation_list
    from camlib.methods import PAPER_METHODS, parse_method_list

    assert parse_evaluation_list(DEFAULT_SELECTION) == [*PAPER_METHODS, *BASELINES]  # "all" is the paper's six
    assert parse_evaluation_list("center, gradcam,gradcam") == ["gradcam", "center"]
    assert parse_evaluation_list("baselines") == ["center", "uniform", "random"]
    with pytest.raises(UnknownMethodError, match="baselines"):
        parse_evaluation_list("gradcam,middle")
    with pytest.raises(UnknownMethodError):
        parse_evaluation_list(" , ")
    with pytest.raises(UnknownMethodError):
        parse_method_list("gradcam,center")


def test_new_columns_against_independent_computations(tiny_backbone, image_folder, tmp_path, monkeypatch):
    from camlib.baselines import baseline_map
    from camlib.evaluate import AREA_COLUMNS, CSV_FIELDS
    from camlib.images import load_image
    from camlib.methods import GradCAM

    calls = []
    original = Backbone.probabilities
    monkeypatch.setattr(Backbone, "probabilities", lambda self, inputs: calls.append(1) or original(self, inputs))
    out = tmp_path / "suite.csv"
    summaries = evaluate_folder(tiny_backbone, image_folder, methods=["gradcam", "center", "uniform"], out=out, limit=3, insertion_steps=4)
    assert len(calls) == 3  # the base score and the top-1 class: one forward per image, not one per method
    rows = read_csv(out)
    assert list(rows[0]) == CSV_FIELDS
    assert [row["kind"] for row in rows[:3]] == ["method", "baseline", "baseline"]
    for name in {row["file"] for row in rows}:
        assert len({row["base_score"] for row in rows if row["file"] == name}) == 1

    model = tiny_backbone.model
    for row in rows:
        inputs = tiny_backbone.preprocess(load_image(image_folder / row["file"]))
        target = int(row["target"])
        if row["method"] == "gradcam":
            saliency = np.asarray(GradCAM(model, "features").compute(inputs, [target])[0])
            again = np.asarray(GradCAM(model, "features").compute(inputs * torch.as_tensor(saliency), [target])[0])
            expected = (np.corrcoef(saliency.ravel(), again.ravel())[0, 1] + 1) / 2
            assert float(row["coherency"]) == pytest.approx(expected, abs=1e-5)
        else:
            saliency = baseline_map(row["method"], *inputs.shape[-2:])
        assert float(row["complexity"]) == pytest.approx(float(saliency.mean()), abs=1e-6)
        with torch.no_grad():
            probabilities = model(inputs).softmax(dim=1)[0, target]
            for column, percent in zip(AREA_COLUMNS, (10, 25, 50)):
                keep = int(np.floor(percent / 100 * saliency.size + 0.5))
                order = np.argsort(-saliency.ravel(), kind="stable")[:keep]
                mask = np.zeros(saliency.size, dtype=np.float32)
                mask[order] = 1
                masked = model(inputs * torch.as_tensor(mask.reshape(saliency.shape))).softmax(dim=1)[0, target]
                assert float(row[column]) == pytest.approx(float(masked), abs=1e-5)
        assert float(row["base_score"]) == pytest.approx(float(probabilities), abs=1e-5)
    center = [row for row in rows if row["method"] == "center"]
    uniform = [row for row in rows if row["method"] == "uniform"]
    assert all(float(row["coherency"]) == pytest.approx(1.0) for row in center)
    assert all(row["coherency"] == "" and float(row["adcc"]) == 0.0 for row in uniform)

    by_method = {s.method: s for s in summaries}
    for key, summary in by_method.items():
        mine = [row for row in rows if row["method"] == key]
        base = [float(row["base_score"]) for row in mine]
        assert summary.kind == ("method" if key == "gradcam" else "baseline")
        assert summary.average_drop_25 == pytest.approx(average_drop(base, [float(row["masked_score_25"]) for row in mine]))
        assert summary.insertion_minus_deletion == pytest.approx(summary.insertion_auc - summary.deletion_auc)
        assert summary.complexity == pytest.approx(np.mean([float(row["complexity"]) for row in mine]))
    assert np.isnan(by_method["uniform"].coherency) and by_method["uniform"].adcc == 0.0
    # a map of all ones leaves the input as it is: no drop, no increase (rounding noise is not one)
    assert by_method["uniform"].average_drop == pytest.approx(0.0, abs=1e-3) and by_method["uniform"].average_increase == 0.0


def test_basic_metrics_leave_the_new_columns_empty_and_the_table_short(tiny_backbone, image_folder, tmp_path):
    out = tmp_path / "basic.csv"
    summaries = evaluate_folder(tiny_backbone, image_folder, methods=["gradcam"], out=out, limit=2, insertion_steps=4, metrics="basic")
    rows = read_csv(out)
    assert all(row["complexity"] == row["masked_score_10"] == row["adcc"] == "" for row in rows)
    table = markdown_table(summaries)
    assert "Complexity" not in table and "| kind |" not in table and "Insertion − deletion" in table
    with pytest.raises(InvalidParameterError, match="--metrics"):
        evaluate_folder(tiny_backbone, image_folder, methods=["gradcam"], out=out, metrics="some")


def _rows(method, kind, insertion_minus_deletion, kept_scores, images=8):
    """Per-image rows (as in the CSV) whose insertion − deletion and top-10/25/50 % scores are given per image."""
    rows = []
    for i in range(images):
        idm = insertion_minus_deletion[i % len(insertion_minus_deletion)]
        rows.append({"file": f"img{i}.png", "target": "0", "method": method, "base_score": "1.0", "masked_score": "0.9",
                     "insertion_auc": f"{0.2 + idm}", "deletion_auc": "0.2", "seconds": "0.1", "error": "", "kind": kind,
                     "complexity": "0.3", "coherency": "" if method == "uniform" else "0.9", "adcc": "0.7", "sparseness": "0.4",
                     **{f"masked_score_{p}": f"{score}" for p, score in zip((10, 25, 50), kept_scores)}})  # fmt: skip
    return rows


def _blob_table_summaries():
    from camlib.evaluate import summarize

    return summarize(
        _rows("gradcam", "method", [0.40], (0.50, 0.70, 0.90))  # every image above the blob: beats it (✓)
        + _rows("cam", "method", [0.20], (0.30, 0.70, 0.95))  # every image below on ins − del and the 10 % drop (✗)
        + _rows("gradcampp", "method", [0.36, 0.23], (0.40, 0.70, 0.80))  # mean 0.295 < 0.3, interval straddles (≈)
        + _rows("center", "baseline", [0.30], (0.40, 0.70, 0.80))
        + _rows("uniform", "baseline", [0.10], (0.01, 0.01, 0.10))
    )


def _check_blob_verdicts(summaries):
    from camlib.evaluate import blob_verdicts, fails_against_center

    assert fails_against_center(summaries) == {"gradcam": [], "cam": ["insertion_minus_deletion", "average_drop_10"], "gradcampp": []}
    assert blob_verdicts(summaries)["gradcampp"]["insertion_minus_deletion"] == "indistinguishable"
    lines = markdown_table(summaries).splitlines()
    assert "| Insertion − deletion (higher is better) | 0.400 [0.400, 0.400] ✓ | 0.200 [0.200, 0.200] ✗ | 0.295 [0.246, 0.344] ≈ | 0.300 [0.300, 0.300] | 0.100 [0.100, 0.100] |" in lines
    assert "| Average Drop % keeping the top 10 % (lower is better) | 50.00 [50.00, 50.00] ✓ | 70.00 [70.00, 70.00] ✗ | 60.00 [60.00, 60.00] ≈ | 60.00 [60.00, 60.00] | 99.00 [99.00, 99.00] |" in lines
    return lines


def test_table_marks_baselines_directions_and_the_blob_verdicts_from_paired_intervals(monkeypatch):
    summaries = _blob_table_summaries()
    # the interval of Grad-CAM++'s mean: half its images at 0.36 and half at 0.23 (hand-computed mean 0.295)
    assert summaries[2].insertion_minus_deletion == pytest.approx(0.295)
    lines = _check_blob_verdicts(summaries)
    table = "\n".join(lines)
    assert lines[2] == "| kind | method | method | method | baseline | baseline |"
    assert "| Coherency (higher is better) | 0.900 [0.900, 0.900] | 0.900 [0.900, 0.900] | 0.900 [0.900, 0.900] | 0.900 [0.900, 0.900] | — |" in lines
    for label in ("Complexity (mean map value) (lower is better)", "ADCC (higher is better)", "Sparseness (Gini) (higher is better)",
                  "Average Drop % keeping the top 50 % (lower is better)", "Average Increase % (higher is better)"):
        assert f"| {label} |" in table
    assert "Centre blob (no model)" in lines[0]
    assert "CAM" in table.split("Below the blob on at least one checked metric:")[1].splitlines()[0]
    assert "Grad-CAM++" in table.split("Indistinguishable from the blob on at least one checked metric:")[1].splitlines()[0]

    # planted error: the verdict read off the mean alone calls Grad-CAM++ "below the blob"; the check catches it
    import camlib.verdicts

    def from_mean(gap, higher_is_better):
        return "better" if (gap.mean > 0) == higher_is_better else "worse"

    monkeypatch.setattr(camlib.verdicts, "better_or_worse", from_mean)
    with pytest.raises(AssertionError):
        _check_blob_verdicts(_blob_table_summaries())


def test_resume_refuses_a_csv_with_other_columns(tiny_backbone, image_folder, tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("file,target,method,base_score,masked_score,insertion_auc,deletion_auc,seconds,error\n")
    with pytest.raises(InvalidParameterError, match="other columns"):
        evaluate_folder(tiny_backbone, image_folder, methods=["gradcam"], out=old, resume=True, insertion_steps=4)


# -- tuning / report halves and --shard auto --------------------------------------------------------


def test_halves_are_the_even_and_odd_indices_before_limit_and_shard(image_folder):
    everything = list_images(image_folder)
    tuning, report = list_images(image_folder, half="tuning"), list_images(image_folder, half="report")
    assert tuning == [everything[0], everything[2], everything[4]] and report == [everything[1], everything[3]]
    assert list_images(image_folder, half="report", limit=1) == [everything[1]]
    assert list_images(image_folder, half="tuning", shard=(1, 2)) == [everything[2]]
    assert list_images(image_folder, half="tuning", limit=2, shard=(1, 2)) == [everything[2]]
    with pytest.raises(InvalidParameterError, match="--half"):
        list_images(image_folder, half="odd")


def test_half_on_the_command_line(image_folder, tmp_path):
    out = tmp_path / "report.csv"
    assert main(["evaluate", str(image_folder), "--methods", "center", "--half", "report", "--metrics", "basic", "--out", str(out)]) == 0
    everything = list_images(image_folder)
    assert [row["file"] for row in read_csv(out)] == [everything[1].name, everything[3].name]


@pytest.mark.parametrize(
    ("environ", "shards", "expected"),
    [
        ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "8"}, None, (3, 8)),
        ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"}, None, (3, 4)),
        ({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"}, 2, (0, 2)),
        ({"JOB_COMPLETION_INDEX": "9"}, 10, (9, 10)),
    ],
)
def test_shard_auto_reads_the_scheduler(environ, shards, expected):
    assert parse_shard("auto", shards=shards, environ=environ) == expected


@pytest.mark.parametrize(
    ("environ", "shards", "message"),
    [
        ({}, None, "none is set"),
        ({"SLURM_ARRAY_TASK_ID": "3"}, None, "SLURM_ARRAY_TASK_COUNT is not set"),
        ({"SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_COUNT": "8"}, None, "out of range"),
        ({"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "8"}, None, "not a non-negative integer"),
        ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "8"}, 4, "disagrees"),
        ({"JOB_COMPLETION_INDEX": "2"}, None, "needs --shards"),
        ({"JOB_COMPLETION_INDEX": "5"}, 5, "out of range"),
        ({"JOB_COMPLETION_INDEX": "0", "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "1"}, 1, "both"),
    ],
)
def test_shard_auto_refuses_a_missing_or_inconsistent_environment(environ, shards, message):
    with pytest.raises(InvalidParameterError, match=message):
        parse_shard("auto", shards=shards, environ=environ)


def test_shard_auto_on_the_command_line(image_folder, tmp_path, monkeypatch, capsys):
    for name in ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "JOB_COMPLETION_INDEX"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "auto.csv"
    assert main(["evaluate", str(image_folder), "--methods", "center", "--shard", "auto", "--out", str(out)]) == 2
    assert "none is set" in capsys.readouterr().err
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    assert main(["evaluate", str(image_folder), "--methods", "center", "--shard", "auto", "--shards", "2", "--metrics", "basic", "--out", str(out)]) == 0
    assert [row["file"] for row in read_csv(out)] == [p.name for p in list_images(image_folder, shard=(1, 2))]
    assert main(["evaluate", str(image_folder), "--methods", "center", "--shard", "0/2", "--shards", "2", "--out", str(out)]) == 2
    assert "--shards N goes with --shard auto" in capsys.readouterr().err


def test_merge_reads_csvs_written_before_the_new_columns(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text(
        "file,target,method,base_score,masked_score,insertion_auc,deletion_auc,seconds,error\n"
        "a.png,1,gradcam,0.5,0.25,0.6,0.2,0.1,\n"
        "b.png,1,gradcam,0.4,0.6,0.5,0.1,0.3,\n"
    )
    (summary,) = merge_results([old], out=tmp_path / "merged.csv")
    assert summary.kind == "method" and summary.average_drop == pytest.approx(25.0)
    assert summary.insertion_minus_deletion == pytest.approx(0.4) and np.isnan(summary.adcc)
    table = markdown_table([summary])
    # per image 0.4 and 0.4: the interval is the point; Average Drop 50 % and 0 %: resamples give 0, 25 or 50
    assert "Insertion − deletion (higher is better) | 0.400 [0.400, 0.400] |" in table and "ADCC" not in table
    assert "| Average Drop % (lower is better) | 25.00 [0.00, 50.00] |" in table
    assert read_csv(tmp_path / "merged.csv")[0]["kind"] == ""


def _randomised_by_hand(model, names: list[str], seed: int):
    """A copy of ``model`` with every submodule of ``names`` re-initialised after ``torch.manual_seed(seed + 1)``
    (Quantus's MPRT procedure, as camlib documents it)."""
    import copy

    randomised = copy.deepcopy(model)
    modules = dict(randomised.named_modules())
    with torch.random.fork_rng(), torch.no_grad():
        for name in names:
            for sub in modules[name].modules():
                if hasattr(sub, "reset_parameters"):
                    torch.manual_seed(seed + 1)
                    sub.reset_parameters()
    return randomised.eval()


def test_sanity_columns_match_hand_randomisation_and_baselines_fail(tiny_backbone, image_folder, tmp_path):
    """``--sanity`` writes, for each map, the Spearman correlation (scipy) and SSIM (scikit-image) against
    Grad-CAM on copies of the tiny model whose top 1, 2 and 3 layers (fc; fc, features; fc, features,
    stem) were re-initialised by hand; the model-free centre blob keeps rank correlation 1 and fails."""
    from scipy.stats import spearmanr
    from skimage.metrics import structural_similarity

    from camlib.methods import GradCAM
    from camlib.sanity import SANITY_FIELDS

    out = tmp_path / "sanity.csv"
    summaries = evaluate_folder(tiny_backbone, image_folder, methods=["gradcam", "center"], out=out, limit=2, sanity=True)
    rows = read_csv(out)
    model = tiny_backbone.model
    cascade = [["fc"], ["fc", "features"], ["fc", "features", "stem"]]
    randomised = [_randomised_by_hand(model, names, seed=0) for names in cascade]
    for row in [row for row in rows if row["method"] == "gradcam"]:
        inputs = tiny_backbone.preprocess(load_image(image_folder / row["file"]))
        target = int(row["target"])
        saliency = GradCAM(model, "features")(inputs, [target])[0].astype(np.float64)
        for stage, copy_of_model in enumerate(randomised, start=1):
            other = GradCAM(copy_of_model, "features")(inputs, [target])[0].astype(np.float64)
            assert float(row[f"rand_spearman_{stage}"]) == pytest.approx(spearmanr(saliency.ravel(), other.ravel())[0], abs=1e-5)
            assert float(row[f"rand_ssim_{stage}"]) == pytest.approx(structural_similarity(saliency, other, data_range=1.0), abs=1e-5)
        assert float(row["rand_spearman_3"]) < 0.9  # the case tells: the fully randomised model's map differs
    for row in [row for row in rows if row["method"] == "center"]:
        assert all(float(row[column]) == pytest.approx(1.0) for column in SANITY_FIELDS)
    by = {s.method: s for s in summaries}
    assert by["center"].sanity_spearman == pytest.approx(1.0)
    assert by["center"].sanity_passes is False and by["center"].sanity_verdict == "fails"  # Spearman 1 on every image
    assert by["gradcam"].sanity_verdict in ("passes", "fails", "indistinguishable")
    table = markdown_table(summaries)
    assert "sanity check" in table and "**fails**" in table


def test_without_sanity_the_columns_stay_empty(tiny_backbone, image_folder, tmp_path):
    from camlib.sanity import SANITY_FIELDS

    out = tmp_path / "plain.csv"
    summaries = evaluate_folder(tiny_backbone, image_folder, methods=["gradcam"], out=out, limit=1)
    assert all(row[column] == "" for row in read_csv(out) for column in SANITY_FIELDS)
    assert summaries[0].sanity_passes is None and "sanity check" not in markdown_table(summaries)


def test_the_randomisation_verdict_comes_from_the_interval_not_the_mean(monkeypatch):
    """Spearman 0.3 and 0.75 in turn (mean 0.525): indistinguishable from 0.5; 0.9 everywhere fails; 0.1 passes."""
    import camlib.summary
    from camlib.evaluate import summarize
    from camlib.intervals import ABOVE, BELOW

    def rows(method, values):
        found = _rows(method, "method", [0.3], (0.5, 0.7, 0.9))
        for row, value in zip(found, values * len(found)):
            row.update({f"rand_spearman_{stage}": str(value) for stage in (1, 2, 3)})
        return found

    def verdicts():
        summaries = summarize(rows("gradcam", [0.3, 0.75]) + rows("cam", [0.9]) + rows("gradcampp", [0.1]))
        return {s.method: s.sanity_verdict for s in summaries}

    expected = {"gradcam": "indistinguishable", "cam": "fails", "gradcampp": "passes"}
    assert verdicts() == expected
    assert "indistinguishable from 0.5" in markdown_table(summarize(rows("gradcam", [0.3, 0.75])))
    # planted error: the verdict from the mean alone fails Grad-CAM at 0.525
    monkeypatch.setattr(camlib.summary, "verdict", lambda interval, threshold: ABOVE if interval.mean > threshold else BELOW)
    assert verdicts() != expected


@pytest.mark.parametrize("steps", [0, -3, 10**9, 2.5, "16", True, None])
def test_insertion_steps_are_checked_before_any_work(tiny_backbone, image_folder, tmp_path, monkeypatch, steps):
    import camlib.evaluate as evaluate_module

    out = tmp_path / "results.csv"
    with pytest.raises(InvalidParameterError, match="insertion_steps must be"):
        evaluate_folder(tiny_backbone, image_folder, methods=["center"], out=out, insertion_steps=steps)
    assert not out.exists()
    explained = []
    with pytest.raises(InvalidParameterError, match="insertion_steps must be"):
        evaluate_module.evaluate_images(tiny_backbone, [("a.png", image_folder / "n01440764_img0.png")], {},
                                        insertion_steps=steps, on_map=lambda *a: explained.append(a))  # fmt: skip
    # planted error: without the check, the same call starts working instead of refusing
    monkeypatch.setattr(evaluate_module, "check_steps", lambda steps, *a, **k: steps)
    evaluate_module.evaluate_images(tiny_backbone, [], {}, insertion_steps=steps)


def test_insertion_steps_in_range_are_kept_as_whole_numbers():
    from camlib.evaluate import check_options
    from camlib.metrics import MAX_STEPS

    assert check_options("all", np.int64(16)) == 16 and type(check_options("basic", np.int64(16))) is int
    assert check_options("all", MAX_STEPS) == MAX_STEPS
    with pytest.raises(InvalidParameterError, match="--metrics"):
        check_options("some", 16)
