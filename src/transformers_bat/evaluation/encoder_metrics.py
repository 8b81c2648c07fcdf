"""Spatial-AST metrics as the reference defines them: event mAP, distance accuracy / DER, ER20, MAE.

All functions are plain numpy, deterministic and offline. Angles are degrees in the listener frame of
:mod:`transformers_bat.labels`.
"""

from __future__ import annotations

import numpy as np

from .. import labels as lb


def average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Average precision of one class: sum over score thresholds of (recall step) x precision.

    Ties in score form one threshold (the convention of scikit-learn's `average_precision_score`). NaN when the
    class has no positive example.
    """
    scores = np.asarray(scores, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64) > 0.5
    if not targets.any():
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    scores, targets = scores[order], targets[order]
    last_of_tie = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
    true_positives = np.cumsum(targets)[last_of_tie]
    precision = true_positives / (last_of_tie + 1)
    recall = true_positives / true_positives[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def mean_average_precision(scores: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """(mAP over classes that have positives, per-class AP with NaN for classes without positives).

    scores, targets: (num_clips, num_classes); targets are multi-hot (soft targets count as positive above 0.5).
    """
    scores, targets = np.asarray(scores), np.asarray(targets)
    if scores.shape != targets.shape or scores.ndim != 2:
        raise ValueError(f"scores and targets must both be (clips, classes), got {scores.shape} and {targets.shape}")
    per_class = np.array([average_precision(scores[:, c], targets[:, c]) for c in range(scores.shape[1])])
    if np.isnan(per_class).all():
        raise ValueError("No class has a positive example: mAP is undefined.")
    return float(np.nanmean(per_class)), per_class


def distance_accuracy(predicted_m, true_m, tolerance_bins: int = 1) -> float:
    """Share of clips whose predicted distance bin is within `tolerance_bins` 0.5 m bins of the true bin."""
    predicted_bins = lb.distance_to_index(predicted_m)
    true_bins = lb.distance_to_index(true_m)
    return float(np.mean(np.abs(predicted_bins - true_bins) <= tolerance_bins))


def direction_errors_deg(predicted_azimuth, predicted_elevation, true_azimuth, true_elevation) -> np.ndarray:
    """Great-circle angle between predicted and true directions, per clip."""
    return np.atleast_1d(lb.great_circle_deg(predicted_azimuth, predicted_elevation, true_azimuth, true_elevation))


def error_rate(errors_deg, threshold_deg: float = 20.0) -> float:
    """ER20 by default: share of clips whose direction error exceeds the threshold."""
    return float(np.mean(np.asarray(errors_deg) > threshold_deg))


def octant_accuracies(predicted_azimuth, predicted_elevation, true_azimuth, true_elevation) -> dict[str, float]:
    """Accuracy of each octant word (left/right, front/behind, above/below) and of the whole octant."""
    predicted = [lb.direction_words(a, e) for a, e in zip(np.ravel(predicted_azimuth), np.ravel(predicted_elevation))]
    true = [lb.direction_words(a, e) for a, e in zip(np.ravel(true_azimuth), np.ravel(true_elevation))]
    if not true:
        raise ValueError("No clips to score.")
    result = {
        axis: float(np.mean([p[i] == t[i] for p, t in zip(predicted, true)]))
        for i, axis in enumerate(("left_right", "front_behind", "above_below"))
    }
    result["octant"] = float(np.mean([p == t for p, t in zip(predicted, true)]))
    return result


def spatial_ast_metrics(
    event_scores: np.ndarray,
    event_targets: np.ndarray,
    predicted_distance_m,
    true_distance_m,
    predicted_azimuth,
    predicted_elevation,
    true_azimuth,
    true_elevation,
) -> dict[str, float]:
    """Every encoder figure of the paper (mAP, distance accuracy, DER, ER20, MAE) plus the octant accuracies."""
    mean_ap, _ = mean_average_precision(event_scores, event_targets)
    errors = direction_errors_deg(predicted_azimuth, predicted_elevation, true_azimuth, true_elevation)
    accuracy = distance_accuracy(predicted_distance_m, true_distance_m)
    return {
        "mAP": mean_ap,
        "distance_accuracy": accuracy,
        "DER": 1.0 - accuracy,
        "ER20": error_rate(errors, 20.0),
        "MAE_deg": float(np.mean(errors)),
        **octant_accuracies(predicted_azimuth, predicted_elevation, true_azimuth, true_elevation),
    }


def _class_indices(labels) -> np.ndarray:
    """Class indices from hard labels (N,) or soft targets (N, classes)."""
    labels = np.asarray(labels)
    return labels.argmax(-1) if labels.ndim == 2 else labels.astype(np.int64)


def compute_encoder_metrics(eval_prediction) -> dict[str, float]:
    """`Trainer(compute_metrics=...)` for Spatial-AST with spatial labels: the figures of :func:`spatial_ast_metrics`.

    Predictions are the (event, distance, azimuth, elevation) logits (the config's `keys_to_ignore_at_inference`
    drops the rest); label ids are (event targets, distance, azimuth, elevation) as the encoder collator gives them,
    hard indices or soft targets.
    """
    event_logits, distance_logits, azimuth_logits, elevation_logits = eval_prediction.predictions[:4]
    events, distance, azimuth, elevation = eval_prediction.label_ids[:4]
    return spatial_ast_metrics(
        1.0 / (1.0 + np.exp(-np.asarray(event_logits, dtype=np.float64))),
        events,
        lb.index_to_distance(np.asarray(distance_logits).argmax(-1)),
        lb.index_to_distance(_class_indices(distance)),
        lb.index_to_azimuth(np.asarray(azimuth_logits).argmax(-1)),
        lb.index_to_elevation(np.asarray(elevation_logits).argmax(-1)),
        lb.index_to_azimuth(_class_indices(azimuth)),
        lb.index_to_elevation(_class_indices(elevation)),
    )
