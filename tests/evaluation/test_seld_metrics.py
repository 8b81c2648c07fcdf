"""DCASE-style SELD figures on clip-level source lists."""

import pytest

from transformers_bat.evaluation.seld_metrics import seld_metrics


def source(label, azimuth, elevation=0.0):
    return {"label": label, "azimuth_deg": azimuth, "elevation_deg": elevation}


def test_perfect_and_partly_wrong_predictions():
    reference = [[source("dog", 120), source("car", 320)], [source("dog", 200)]]
    assert seld_metrics(reference, reference) == {"F20": 1.0, "LE_deg": 0.0, "LR": 1.0, "per_class_left_right": 1.0}
    predicted = [[source("dog", 130), source("car", 10)], []]  # car 50 degrees off; the second dog missed
    figures = seld_metrics(predicted, reference)
    # dog: 1 of 2 references within 20 degrees (P 1, R 0.5, F 2/3), error 10; car: paired at 50 degrees (F 0)
    assert figures["F20"] == pytest.approx((2 / 3 + 0.0) / 2)
    assert figures["LE_deg"] == pytest.approx((10 + 50) / 2)
    assert figures["LR"] == pytest.approx((0.5 + 1.0) / 2)
    assert figures["per_class_left_right"] == pytest.approx((0.5 + 1.0) / 2)  # 320 and 10 are both on the right


def test_pairs_are_assigned_by_angle_not_order():
    reference = [[source("dog", 60), source("dog", 240)]]
    predicted = [[source("dog", 235), source("dog", 65)]]
    assert seld_metrics(predicted, reference)["LE_deg"] == pytest.approx(5.0)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="2 predicted clips but 1"):
        seld_metrics([[], []], [[]])
    with pytest.raises(ValueError, match="No reference source"):
        seld_metrics([[source("dog", 1)]], [[]])
