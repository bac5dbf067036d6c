"""The app's per-method caveats (camlib.measured) against a results table made by hand."""

import pytest

from camlib import measured
from camlib.evaluate import CSV_FIELDS
from camlib.results import write_results


def row(method, kind, insertion, deletion, areas, spearman):
    values = {field: "" for field in CSV_FIELDS}
    values.update(
        file="a.png",
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


@pytest.fixture
def hand_table(tmp_path, monkeypatch):
    rows = [
        # the blob: insertion − deletion 0.30; fixed-area drops 80, 60 and 40 % (base score 0.5)
        row("center", "baseline", 0.40, 0.10, (0.1, 0.2, 0.3), 1.0),
        # inserts better than the blob but deletes worse: loses 0.25 to 0.30 by its deletion alone
        row("cam", "method", 0.45, 0.20, (0.2, 0.3, 0.4), 0.1),
        # inserts worse too, loses the 10 % drop (90 against 80) and fails the randomisation check
        row("gradcampp", "method", 0.35, 0.12, (0.05, 0.3, 0.4), 0.9),
    ]
    write_results(tmp_path / "hand.csv", CSV_FIELDS, rows, {"backbone": "hand"})
    monkeypatch.setattr(measured, "RESULTS_DIR", tmp_path)
    monkeypatch.setitem(measured.REPORT_FILES, ("hand", "layer"), "hand.csv")
    measured.report_summaries.cache_clear()
    yield
    measured.report_summaries.cache_clear()


def test_caveats_state_the_measured_numbers_and_the_blobs_deletion_advantage(hand_table):
    assert measured.caveats("cam", "hand", "layer") == [
        (
            "Does not beat a centred blob that knows nothing of the model on insertion − deletion (0.250 against 0.300): "
            "the blob's deletion AUC (0.100) is lower than this map's (0.200), since the objects of ImageNet photos tend "
            "to sit in the middle."
        )
    ]
    notes = measured.caveats("gradcampp", "hand", "layer")
    assert notes[0].startswith("Fails the model randomisation check here: its map keeps a rank correlation of 0.900 ")
    assert measured.WHY["gradcampp"] in notes[0]
    assert notes[1:] == [
        "Does not beat a centred blob that knows nothing of the model on insertion − deletion (0.230 against 0.300).",
        (
            "Does not beat a centred blob that knows nothing of the model on average drop % keeping the top 10 % "
            "(90.000 against 80.000)."
        ),
    ]


def test_no_caveats_where_nothing_was_measured(hand_table):
    assert measured.caveats("scorecam", "hand", "layer") == []
    assert measured.caveats("cam", "hand", "other_layer") == []
