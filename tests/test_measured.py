"""The app's per-method notes (camlib.measured) against a results table made by hand: verdicts from intervals
(none from a mean alone: a planted mean-only verdict is caught), the benchmark named, and notes only where the
screen's model, layer, parameters and resolution are the ones measured."""

import pytest

from camlib import measured
from camlib.evaluate import CSV_FIELDS
from camlib.results import write_results

IMAGES = 8


def row(image, method, kind, insertion, deletion, areas, spearman):
    values = {field: "" for field in CSV_FIELDS}
    values.update(
        file=f"img{image}.png",
        target="1",
        method=method,
        kind=kind,
        base_score="0.5",
        masked_score="0.5",
        insertion_auc=str(insertion),
        deletion_auc=str(deletion),
        seconds="0.1",
    )
    values.update({f"masked_score_{percent}": str(score) for percent, score in zip((10, 25, 50), areas)})
    values.update({f"rand_spearman_{stage}": str(spearman) for stage in (1, 2, 3)})
    values.update({f"rand_ssim_{stage}": str(spearman) for stage in (1, 2, 3)})
    return values


def hand_rows():
    rows = []
    for i in range(IMAGES):
        odd = i % 2
        rows += [
            # the blob: insertion − deletion 0.30 on every image; fixed-area drops 80, 60 and 40 % (base score 0.5)
            row(i, "center", "baseline", 0.40, 0.10, (0.1, 0.2, 0.3), 1.0),
            # inserts better than the blob but deletes worse: 0.25 on every image, below the blob by its deletion
            row(i, "cam", "method", 0.45, 0.20, (0.2, 0.3, 0.4), 0.1),
            # 0.36 and 0.23 in turn: mean 0.295, a hair under the blob, indistinguishable; drop at 10 % 90 against 80
            # on every image (below the blob); Spearman 0.9 everywhere (fails)
            row(i, "gradcampp", "method", 0.46 if odd else 0.33, 0.10, (0.05, 0.3, 0.4), 0.9),
            # beats the blob everywhere; Spearman 0.3 and 0.75 in turn (mean 0.525, indistinguishable from 0.5)
            row(i, "gradpp_scorecam", "method", 0.50, 0.05, (0.2, 0.3, 0.4), 0.75 if odd else 0.3),
        ]
    return rows


@pytest.fixture
def hand_table(tmp_path, monkeypatch):
    write_results(tmp_path / "hand.csv", CSV_FIELDS, hand_rows(), {"backbone": "hand", "layer": "layer", "speed": "exact",
                                                                   "params": {"cam": {}, "gradcampp": {}, "gradpp_scorecam": {"top_k": 32}}})  # fmt: skip
    monkeypatch.setattr(measured, "RESULTS_DIR", tmp_path)
    monkeypatch.setitem(measured.REPORT_FILES, ("hand", "layer"), "hand.csv")
    monkeypatch.setattr(measured, "_input_size", lambda backbone: 224)
    measured.report_summaries.cache_clear()
    yield
    measured.report_summaries.cache_clear()


WHERE = "In camlib's benchmark (8 report-half ImageNet photos, hand at layer, exact setting), this method"


def check_notes():
    assert measured.caveats("cam", "hand", "layer") == [
        f"{WHERE} is below a centred blob that knows nothing of the model on insertion − deletion (difference "
        "−0.050 [−0.050, −0.050], 95 % interval): the blob's deletion AUC (0.100) is lower than this map's (0.200; "
        "difference +0.100 [0.100, 0.100]), since the objects of ImageNet photos tend to sit in the middle."
    ]
    notes = measured.caveats("gradcampp", "hand", "layer")
    assert notes[0].startswith(f"{WHERE} fails the model randomisation check: its map keeps a mean rank correlation of 0.900 [0.900, 0.900]")
    assert measured.WHY["gradcampp"] in notes[0]
    assert notes[1].startswith(f"{WHERE} is indistinguishable from a centred blob that knows nothing of the model on insertion − deletion (difference −0.005 [")
    assert notes[2] == (
        f"{WHERE} is below a centred blob that knows nothing of the model on average drop % keeping the top 10 % "
        "(difference +10.00 [10.00, 10.00], 95 % interval)."
    )
    assert len(notes) == 3
    (sanity,) = measured.caveats("gradpp_scorecam", "hand", "layer")
    assert sanity.startswith(f"{WHERE} is indistinguishable from the threshold of the model randomisation check: its map keeps a mean rank correlation of 0.525 [")


def test_notes_give_the_intervals_the_verdicts_they_support_and_the_benchmark(hand_table, monkeypatch):
    check_notes()
    # planted error: a verdict from the mean alone would call Grad-CAM++ "below the blob" (0.295 < 0.300)
    import camlib.verdicts

    monkeypatch.setattr(camlib.verdicts, "better_or_worse", lambda gap, higher: "better" if (gap.mean > 0) == higher else "worse")
    measured.report_summaries.cache_clear()
    with pytest.raises(AssertionError):
        check_notes()


def test_notes_only_where_the_screen_matches_what_was_measured(hand_table):
    assert measured.caveats("scorecam", "hand", "layer") == []  # not measured
    assert measured.caveats("cam", "hand", "other_layer") == []
    assert measured.caveats("cam", "other_model", "layer") == []
    assert measured.caveats("cam", "hand", "layer", params={}, resolution=224)  # the measured setting
    assert measured.caveats("gradpp_scorecam", "hand", "layer", params={"top_k": 32})
    assert measured.caveats("gradpp_scorecam", "hand", "layer", params={"top_k": 16}) == []  # another setting
    assert measured.caveats("cam", "hand", "layer", params={}, resolution=448) == []  # another input size


def test_the_shipped_notes_read_the_issues_intervals():
    """On the committed rows: CAM at bn2 is indistinguishable from the blob (−0.0025 [−0.021, 0.016]), never ✗."""
    measured.report_summaries.cache_clear()
    (cam,) = [note for note in measured.caveats("cam", "efficientnet_lite0", "bn2") if "insertion − deletion" in note]
    assert "is indistinguishable from a centred blob" in cam and "−0.003 [−0.021, 0.016]" in cam
    assert "EfficientNet" in measured.fast_setting_text() and "indistinguishably" in measured.fast_setting_text()
    exact = measured.caveats("scorecam", "efficientnet_lite0", "bn2", params={})
    fast = measured.caveats("scorecam", "efficientnet_lite0", "bn2", params={"mixed_precision": True, "sampled_channels": 128})
    assert "exact setting" in exact[0] and "fast setting" in fast[0]
    assert measured.caveats("scorecam", "efficientnet_lite0", "bn2", params={"sampled_channels": 64}) == []
