"""Encoder metrics against hand-computed cases and scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from transformers_bat.evaluation import (
    average_precision,
    direction_errors_deg,
    distance_accuracy,
    error_rate,
    mean_average_precision,
    octant_accuracies,
    spatial_ast_metrics,
)


def test_average_precision_by_hand():
    # ranking: pos, neg, pos -> precision at the two positives 1/1 and 2/3 -> AP = (1 + 2/3) / 2
    assert average_precision([0.9, 0.8, 0.7], [1, 0, 1]) == pytest.approx((1 + 2 / 3) / 2)
    assert average_precision([0.1, 0.2], [0, 0]) != average_precision([0.1, 0.2], [0, 0])  # NaN


@pytest.mark.parametrize("seed", range(5))
def test_average_precision_matches_sklearn_including_ties(seed):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random((200, 6)), 1)  # many ties
    targets = rng.random((200, 6)) < 0.3
    ours, per_class = mean_average_precision(scores, targets)
    theirs = [average_precision_score(targets[:, c], scores[:, c]) for c in range(6)]
    np.testing.assert_allclose(per_class, theirs, atol=1e-12)
    assert ours == pytest.approx(np.mean(theirs))


def test_map_skips_classes_without_positives_and_checks_shapes():
    scores = np.array([[0.9, 0.1], [0.2, 0.3]])
    mean_ap, per_class = mean_average_precision(scores, np.array([[1, 0], [0, 0]]))
    assert mean_ap == 1.0 and np.isnan(per_class[1])
    with pytest.raises(ValueError, match="must both be"):
        mean_average_precision(scores, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="No class has a positive"):
        mean_average_precision(scores, np.zeros((2, 2)))


def test_distance_accuracy_is_within_one_half_metre_bin():
    assert distance_accuracy([1.0, 1.5, 2.0, 3.0], [1.0, 1.0, 1.0, 1.0]) == 0.5


@pytest.mark.parametrize(
    "predicted, true, expected",
    [((359, 0), (1, 0), 2), ((10, 89), (190, 89), 2), ((0, 90), (123, 90), 0), ((90, 10), (270, 10), 160)],
)
def test_direction_errors_wrap_and_poles(predicted, true, expected):
    assert direction_errors_deg(*predicted, *true)[0] == pytest.approx(expected, abs=1e-9)


def test_er20_mae_and_octants():
    errors = direction_errors_deg([0, 0, 0], [0, 0, 0], [10, 30, 180], [0, 0, 0])
    assert error_rate(errors) == pytest.approx(2 / 3)
    result = octant_accuracies([135, 45], [10, -10], [130, 135], [20, -5])
    assert result == {"left_right": 0.5, "front_behind": 1.0, "above_below": 1.0, "octant": 0.5}
    metrics = spatial_ast_metrics(
        np.array([[0.9, 0.1], [0.2, 0.8]]),
        np.array([[1, 0], [0, 1]]),
        [2.0, 5.0],
        [2.0, 3.0],
        [0, 0],
        [0, 0],
        [10, 30],
        [0, 0],
    )
    assert metrics["mAP"] == 1.0 and metrics["DER"] == 0.5 and metrics["ER20"] == 0.5
    assert metrics["MAE_deg"] == pytest.approx(20.0)


def test_compute_encoder_metrics_reads_trainer_predictions():
    """The Trainer hands over (event, distance, azimuth, elevation) logits and the collator's labels."""
    from transformers import EvalPrediction

    from transformers_bat import labels as lb
    from transformers_bat.evaluation import compute_encoder_metrics

    azimuth = np.array([30.0, 150.0, 200.0, 330.0])
    elevation = np.array([10.0, -20.0, 40.0, -5.0])
    distance = np.array([1.0, 2.5, 4.0, 0.5])
    events = np.eye(4, 3)[[0, 1, 2, 0]]

    def one_hot(indices, size):
        return np.eye(size)[indices] * 10.0

    predictions = (
        (events - 0.5) * 20.0,
        one_hot(lb.distance_to_index(distance), 21),
        one_hot(lb.azimuth_to_index(azimuth), 360),
        one_hot(lb.elevation_to_index(elevation), 180),
    )
    labels = (events, lb.distance_to_index(distance), lb.azimuth_to_index(azimuth), lb.elevation_to_index(elevation))
    perfect = compute_encoder_metrics(EvalPrediction(predictions=predictions, label_ids=labels))
    assert perfect["mAP"] == 1.0 and perfect["ER20"] == 0.0 and perfect["left_right"] == 1.0
    soft = tuple(np.eye(size)[index] for size, index in ((360, labels[2]), (180, labels[3])))
    again = compute_encoder_metrics(EvalPrediction(predictions=predictions, label_ids=(*labels[:2], *soft)))
    assert again == perfect  # soft direction targets are read by their argmax
    flipped = (predictions[0], predictions[1], np.roll(predictions[2], 180, axis=1), predictions[3])
    assert compute_encoder_metrics(EvalPrediction(predictions=flipped, label_ids=labels))["left_right"] == 0.0
