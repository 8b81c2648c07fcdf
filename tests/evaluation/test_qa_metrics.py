"""Scoring of free-text answers per question type, the Table-4 figures, baselines and bad input."""

import json

import numpy as np
import pytest

from transformers_bat.evaluation import CharNgramEmbedder, format_table4, majority_predictions, score_answers
from transformers_bat.evaluation.plots import plot_directions
from transformers_bat.evaluation.qa_metrics import write_report


def record(question_type, answer, **truth):
    base = {"question_type": question_type, "answer": answer, "question": "q", "question_id": 0}
    base.update(truth)
    return base


RECORDS = [
    record("CLASSIFICATION", "Dog; Siren", labels=["Dog", "Siren"]),
    record("CLASSIFICATION", "Speech", labels=["Speech"]),
    record("DOA", "left, front, above; 2.5m", azimuth_deg=135.0, elevation_deg=10.0, distance_m=2.4),
    record("DOA", "right, behind, below; 1.0m", azimuth_deg=300.0, elevation_deg=-20.0, distance_m=1.0),
    record("MIXUP_DIRECTION", "Yes", axis="lateral"),
    record("MIXUP_DIRECTION", "No", axis="frontal"),
    record("MIXUP_DISTANCE_BOTH", "Yes"),
    record("MIXUP_NONBINARY_DIRECTION", "left"),
    record("MIXUP_NONBINARY_DISTANCE", "1.5m"),
    record("DOA", "left, front, above; 2.5m"),  # authors' release: truth only as text
]


def test_scores_by_hand():
    predictions = [
        "dog; siren",  # exact
        "Speech; Music",  # F1 = 2/3
        "left, front, above; 3.0m",  # octant right, distance 1 bin off -> within
        "right, front, below; 2.5m",  # wrong octant, 3 bins off
        "Yes",
        "Yes",
        "maybe",  # unparsable -> wrong
        "left",
        "2.5m",  # 2 bins off -> wrong
        "left, front, above; 2.5m",
    ]
    summary = score_answers(RECORDS, predictions)
    per_type = summary["per_type"]
    assert per_type["CLASSIFICATION"] == {"exact_match": 0.5, "set_f1": pytest.approx((1 + 2 / 3) / 2)}
    assert per_type["DOA"]["octant_accuracy"] == pytest.approx(2 / 3)
    assert per_type["DOA"]["distance_error"] == pytest.approx(1 / 3)
    assert per_type["DOA"]["left_right_accuracy"] == 1.0
    assert per_type["MIXUP_DIRECTION"]["binary_accuracy"] == 0.5
    assert per_type["MIXUP_DIRECTION"]["binary_accuracy_lateral"] == 1.0  # per axis too
    assert per_type["MIXUP_DIRECTION"]["binary_accuracy_frontal"] == 0.0
    assert per_type["MIXUP_DISTANCE_BOTH"]["binary_accuracy"] == 0.0
    assert summary["unparsed"] == {"MIXUP_DISTANCE_BOTH": 1}
    assert per_type["MIXUP_NONBINARY_DIRECTION"]["accuracy"] == 1.0
    assert per_type["MIXUP_NONBINARY_DISTANCE"]["accuracy"] == 0.0
    table = summary["table4"]
    assert table["BA direction"] == 50.0 and table["BA distance"] == 0.0 and table["BA average"] == 25.0
    assert table["DoA acc D"] is None


def test_detection_map_with_the_default_and_a_custom_embedder():
    records = [record("CLASSIFICATION", n, labels=[n]) for n in ("Dog", "Siren", "Church bell")]
    names = ["Dog", "Siren", "Church bell", "Speech"]
    perfect = score_answers(records, ["Dog", "Siren", "Church bell"], class_names=names)
    assert perfect["table4"]["mAP A"] == pytest.approx(100.0)

    def constant(texts):  # an embedder that knows nothing: every class ties
        return np.ones((len(texts), 4))

    clueless = score_answers(records, ["Dog", "Siren", "Church bell"], class_names=names, embedder=constant)
    assert clueless["table4"]["mAP A"] < 100.0
    with pytest.raises(ValueError, match="not among the 2 class names"):
        score_answers(records, ["Dog", "Siren", "x"], class_names=["Dog", "Siren"])


def test_char_ngram_embedder_is_deterministic_and_normalised():
    vectors = CharNgramEmbedder()(["Dog", "Dog", "Church bell"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.array_equal(vectors[0], vectors[1]) and vectors[0] @ vectors[2] < 0.5


def test_majority_baseline_and_table(tmp_path):
    predictions = majority_predictions(RECORDS)
    assert predictions[4] == predictions[5]
    rows = {
        "majority": score_answers(RECORDS, predictions)["table4"],
        "oracle": score_answers(RECORDS, [r["answer"] for r in RECORDS])["table4"],
    }
    text = format_table4(rows)
    assert "majority" in text and "oracle" in text and "BA average" in text
    assert rows["oracle"]["DoA acc B"] == 100.0
    write_report(tmp_path / "report.json", rows)
    assert json.loads((tmp_path / "report.json").read_text())["oracle"]["BA average"] == 100.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="pair up one to one"):
        score_answers(RECORDS, ["Yes"])
    with pytest.raises(ValueError, match="split is empty"):
        score_answers([], [])
    with pytest.raises(ValueError, match="MYSTERY"):
        score_answers([record("MYSTERY", "Yes")], ["Yes"])
    with pytest.raises(ValueError, match="must be strings"):
        score_answers(RECORDS[:1], [None])


def test_polar_plot(tmp_path):
    plot_directions([0, 90, 180], [10, 100, 170], tmp_path / "polar.png")
    assert (tmp_path / "polar.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="equally many"):
        plot_directions([0], [], tmp_path / "x.png")
