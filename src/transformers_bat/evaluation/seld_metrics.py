"""Sound event localisation and detection (SELD) figures for multi-source predictions, as DCASE task 3 reports
them, on clip-level source lists.

A source is a dict with `label`, `azimuth_deg` and `elevation_deg` (as `SpatialASTForSpatialAudioClassification.
decode_sources` returns). In each clip and class, predictions and references are paired by the Hungarian
assignment on angular distance. A pair within `threshold_deg` is a true positive; other predictions are false
positives and other references false negatives. Figures are macro averages over the classes that occur:
- `F20`: location-aware F-score (precision and recall of those true positives);
- `LE_deg`: mean angular error of the paired sources, whatever their distance (class-dependent localisation
  error);
- `LR`: share of references that were paired at all (localisation recall);
- `per_class_left_right`: share of references whose paired prediction is on the same side (left/right); an
  unpaired reference counts as wrong. This is the figure a question like "is the dog left of the car?" needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .. import labels as lb


def _pairs(predicted: Sequence[Mapping], reference: Sequence[Mapping]) -> list[tuple[int, int, float]]:
    if not predicted or not reference:
        return []
    errors = lb.great_circle_deg(
        np.array([p["azimuth_deg"] for p in predicted])[:, None],
        np.array([p["elevation_deg"] for p in predicted])[:, None],
        np.array([r["azimuth_deg"] for r in reference])[None, :],
        np.array([r["elevation_deg"] for r in reference])[None, :],
    )
    rows, columns = linear_sum_assignment(errors)
    return [(int(i), int(j), float(errors[i, j])) for i, j in zip(rows, columns)]


def seld_metrics(
    predicted: Sequence[Sequence[Mapping]], reference: Sequence[Sequence[Mapping]], threshold_deg: float = 20.0
) -> dict[str, float]:
    """DCASE-style figures of `predicted` against `reference` source lists (one list per clip); see the module."""
    if len(predicted) != len(reference):
        raise ValueError(f"{len(predicted)} predicted clips but {len(reference)} reference clips.")
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for clip_predicted, clip_reference in zip(predicted, reference):
        for label in {source["label"] for source in (*clip_predicted, *clip_reference)}:
            mine = [p for p in clip_predicted if p["label"] == label]
            truth = [r for r in clip_reference if r["label"] == label]
            stats = counts[label]
            stats["predicted"] += len(mine)
            stats["reference"] += len(truth)
            for i, j, error in _pairs(mine, truth):
                stats["paired"] += 1
                stats["error"] += error
                stats["true_positive"] += error <= threshold_deg
                stats["same_side"] += lb.lateral_word(mine[i]["azimuth_deg"]) == lb.lateral_word(
                    truth[j]["azimuth_deg"]
                )
    classes = [label for label, stats in counts.items() if stats["reference"] > 0]
    if not classes:
        raise ValueError("No reference source in any clip: the SELD figures are undefined.")
    f_scores, errors, recalls, sides = [], [], [], []
    for label in classes:
        stats = counts[label]
        precision = stats["true_positive"] / stats["predicted"] if stats["predicted"] else 0.0
        recall = stats["true_positive"] / stats["reference"]
        f_scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        if stats["paired"]:
            errors.append(stats["error"] / stats["paired"])
        recalls.append(stats["paired"] / stats["reference"])
        sides.append(stats["same_side"] / stats["reference"])
    return {
        "F20": float(np.mean(f_scores)),
        "LE_deg": float(np.mean(errors)) if errors else 180.0,
        "LR": float(np.mean(recalls)),
        "per_class_left_right": float(np.mean(sides)),
    }


__all__ = ["seld_metrics"]
