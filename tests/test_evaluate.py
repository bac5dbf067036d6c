"""The evaluate command: sharding, resuming, merging, labels and the table."""

import csv
import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from camlib.backbones import BACKBONES, Backbone, imagenet_class_names
from camlib.cli import main
from camlib.errors import InvalidParameterError
from camlib.evaluate import evaluate_folder, list_images, markdown_table, merge_results, parse_shard, read_rows
from camlib.metrics import average_drop, average_increase
from conftest import make_tiny_gap_net

METHODS = ["cam", "gradcam"]


@pytest.fixture()
def tiny_backbone() -> Backbone:
    spec = dataclasses.replace(
        BACKBONES["efficientnet_lite0"], input_size=32, default_layer="features", cam_layer="features", cam_classifier="fc"
    )
    return Backbone(spec=spec, model=make_tiny_gap_net(classes=1000), device=torch.device("cpu"), class_names=imagenet_class_names())


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


def test_rows_and_summary_agree(tiny_backbone, image_folder, tmp_path):
    out = tmp_path / "results.csv"
    summaries = evaluate_folder(tiny_backbone, image_folder, methods=METHODS, out=out, insertion_steps=4)
    rows = read_csv(out)
    assert len(rows) == 5 * len(METHODS)
    for summary in summaries:
        mine = [r for r in rows if r["method"] == summary.method]
        base = [float(r["base_score"]) for r in mine]
        masked = [float(r["masked_score"]) for r in mine]
        assert summary.average_drop == pytest.approx(average_drop(base, masked))
        assert summary.average_increase == pytest.approx(average_increase(base, masked))
        assert 0 <= summary.insertion_auc <= 1 and 0 <= summary.deletion_auc <= 1
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

    original = evaluate_module._evaluate_one

    def counting(backbone, method, key, name, *args):
        computed.append((name, key))
        return original(backbone, method, key, name, *args)

    monkeypatch.setattr(evaluate_module, "_evaluate_one", counting)
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


def test_cli_evaluate_and_merge(image_folder, tmp_path, capsys):
    out = tmp_path / "cli.csv"
    code = main(["evaluate", str(image_folder), "--methods", "gradcam,gradcampp", "--limit", "2", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| seconds per image |" in printed and "Grad-CAM++" in printed
    assert len(read_csv(out)) == 4
    assert main(["evaluate-merge", str(out)]) == 0
    assert "| Average Increase % (higher is better) |" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "No such folder" in capsys.readouterr().err


def test_common_images_keeps_only_images_every_method_scored(tiny_backbone, image_folder, tmp_path):
    out = tmp_path / "partial.csv"
    evaluate_folder(tiny_backbone, image_folder, methods=["cam"], out=out, insertion_steps=4)
    evaluate_folder(tiny_backbone, image_folder, methods=["gradcam"], out=out, limit=2, resume=True, insertion_steps=4)
    everything = {s.method: s.images for s in merge_results([out])}
    common = {s.method: s.images for s in merge_results([out], common_images=True)}
    assert everything == {"cam": 5, "gradcam": 2}
    assert common == {"cam": 2, "gradcam": 2}
