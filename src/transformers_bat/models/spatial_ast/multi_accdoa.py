"""Multi-ACCDOA: where each sound class is, for several sources at once (beyond the paper).

The paper's three heads describe one direction and one distance per clip, so a scene of two or three sources at
different places cannot be told apart. This head follows the DCASE sound event localisation and detection line of
work (multi-ACCDOA, Shimada et al., ICASSP 2022; distance as in the DCASE 2024 task 3 baseline): for each of
`num_accdoa_tracks` tracks and each event class it predicts a Cartesian vector in the listener frame
(:func:`transformers_bat.labels.unit_vector`: right, up, front) whose length is the class's activity and whose
direction is the source's, plus the source's distance. Two sources of one class use two tracks. Training uses
auxiliary-duplicating permutation-invariant training (ADPIT): targets are duplicated over the tracks and the loss
takes the best of the track assignments, so it does not matter which track holds which source.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from ...labels import MAX_DISTANCE_M, direction_from_vector, direction_words, unit_vector
from .configuration_spatial_ast import SpatialASTConfig

ACTIVITY_THRESHOLD = 0.5


class MultiACCDOAHead(nn.Module):
    """The three CLS tokens (concatenated) -> (batch, tracks, classes, 4): activity-coupled (right, up, front)
    vectors in [-1, 1] and distances in metres."""

    def __init__(self, config: SpatialASTConfig):
        super().__init__()
        width = 3 * config.hidden_size
        self.num_tracks, self.num_classes = config.num_accdoa_tracks, config.num_labels
        self.norm = nn.LayerNorm(width, eps=config.layer_norm_eps)
        self.dense = nn.Linear(width, config.hidden_size)
        self.activation = nn.GELU()
        self.output = nn.Linear(config.hidden_size, self.num_tracks * self.num_classes * 4)
        self.output.is_prediction_head = True  # tiny init (as the release's heads): training starts from silence

    def forward(self, cls_tokens: torch.Tensor) -> torch.Tensor:
        hidden = self.activation(self.dense(self.norm(cls_tokens.flatten(1))))
        values = self.output(hidden).view(-1, self.num_tracks, self.num_classes, 4).float()
        return torch.cat([torch.tanh(values[..., :3]), values[..., 3:] * MAX_DISTANCE_M], dim=-1)


@lru_cache(maxsize=8)
def _track_assignments(num_tracks: int) -> tuple[tuple[int, ...], ...]:
    """Every way to spread k = 1..num_tracks sources over the tracks with each source on at least one track (13 for
    3 tracks: ADPIT's duplicated targets)."""
    return tuple(
        assignment
        for assignment in itertools.product(range(num_tracks), repeat=num_tracks)
        if set(assignment) == set(range(max(assignment) + 1))
    )


def adpit_loss(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """ADPIT mean squared error.

    Args:
        predictions: `(batch, tracks, classes, 4)` from [`MultiACCDOAHead`].
        targets: `(batch, classes, tracks, 4)`: per class, its sources in the first slots as (unit vector,
            distance in metres), zeros in the unused slots (see [`accdoa_targets`]).
    """
    num_tracks = predictions.shape[1]
    if targets.shape[2] != num_tracks or targets.shape[-1] != 4:
        raise ValueError(f"accdoa_labels must be (batch, classes, {num_tracks}, 4), got {tuple(targets.shape)}.")
    targets = targets.to(predictions.dtype)
    counts = (targets[..., :3].norm(dim=-1) > ACTIVITY_THRESHOLD).sum(-1)  # (batch, classes)
    scale = torch.tensor([1.0, 1.0, 1.0, 1.0 / MAX_DISTANCE_M], dtype=predictions.dtype, device=predictions.device)
    losses = []
    for assignment in _track_assignments(num_tracks):
        target = targets[:, :, list(assignment)].transpose(1, 2)  # (batch, tracks, classes, 4)
        active = target[..., :3].norm(dim=-1) > ACTIVITY_THRESHOLD
        error = ((predictions - target) * scale) ** 2
        per_track = error[..., :3].sum(-1) + error[..., 3] * active  # distance only where a source is
        sources = max(assignment) + 1
        valid = counts <= 1 if sources == 1 else counts == sources
        losses.append(torch.where(valid, per_track.mean(1), torch.full_like(per_track[:, 0], float("inf"))))
    best = torch.stack(losses).min(0).values
    if not torch.isfinite(best).all():
        raise ValueError(f"A class has more sources than the {num_tracks} tracks in accdoa_labels.")
    return best.mean()


def accdoa_targets(
    scenes: Sequence[Sequence[tuple[Sequence[int], float, float, float]]], num_classes: int, num_tracks: int
) -> torch.Tensor:
    """`(batch, classes, tracks, 4)` ADPIT targets of scenes given as lists of sources `(class indices, azimuth_deg,
    elevation_deg, distance_m)`. A source with several classes (a clip labelled "vehicle; car") appears under
    each; sources of one class beyond `num_tracks` are refused."""
    targets = torch.zeros(len(scenes), num_classes, num_tracks, 4)
    for row, sources in enumerate(scenes):
        used = [0] * num_classes
        for classes, azimuth_deg, elevation_deg, distance_m in sources:
            vector = torch.from_numpy(unit_vector(azimuth_deg, elevation_deg)).float()
            for c in classes:
                if used[c] == num_tracks:
                    raise ValueError(f"Scene {row} has more than {num_tracks} sources of class {c}.")
                targets[row, c, used[c], :3] = vector
                targets[row, c, used[c], 3] = float(distance_m)
                used[c] += 1
    return targets


def _source(label: str, vector: np.ndarray, activity: float, distance_m: float) -> dict:
    azimuth, elevation = (float(v) for v in direction_from_vector(vector))
    return {
        "label": label,
        "activity": float(activity),
        "azimuth_deg": azimuth,
        "elevation_deg": elevation,
        "distance_m": max(float(distance_m), 0.0),
        "direction": direction_words(azimuth, elevation),
    }


def _merge(vectors: np.ndarray, weights: np.ndarray, distances: np.ndarray, merge_deg: float) -> list[tuple]:
    """Greedy clustering of one class's detections: heaviest first, anything within `merge_deg` joins it; each
    cluster is its activity-weighted mean vector, largest activity and mean distance."""
    order = np.argsort(-weights)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-9)
    taken = np.zeros(len(order), dtype=bool)
    clusters = []
    for i in order:
        if taken[i]:
            continue
        members = [j for j in order if not taken[j] and np.dot(unit[i], unit[j]) >= np.cos(np.radians(merge_deg))]
        taken[members] = True
        w = weights[members]
        clusters.append(
            ((unit[members] * w[:, None]).sum(0), float(w.max()), float(np.average(distances[members], weights=w)))
        )
    return clusters


def decode_accdoa(
    accdoa: torch.Tensor,
    id2label: Mapping[int, str],
    threshold: float = ACTIVITY_THRESHOLD,
    merge_deg: float = 30.0,
    event_scores: torch.Tensor | None = None,
    min_activity: float = 0.1,
) -> list[list[dict]]:
    """Per clip, the detected sources, sorted by activity.

    Without `event_scores`, the ACCDOA rule: for each class, the tracks whose vector length (activity) passes
    `threshold`, tracks closer than `merge_deg` merged (one source predicted twice). With `event_scores`
    (`(batch, classes)` probabilities of the event head), the classes are those scoring at least `threshold` and
    each takes its direction from its tracks longer than `min_activity` (the longest when none is): under the
    squared loss a vector shrinks where its direction is uncertain (front/back confusions, for one), so its length
    is a poor detector while its direction still holds the lateral side. The reported `activity` is then the event
    score."""
    values = accdoa.detach().float().cpu().numpy()
    scores = None if event_scores is None else event_scores.detach().float().cpu().numpy()
    results = []
    for row, clip in enumerate(values):  # (tracks, classes, 4)
        sources = []
        activity = np.linalg.norm(clip[..., :3], axis=-1)
        if scores is None:
            classes = np.unique(np.nonzero(activity >= threshold)[1])
        else:
            classes = np.nonzero(scores[row] >= threshold)[0]
        for c in classes:
            floor = threshold if scores is None else min(min_activity, float(activity[:, c].max()))
            tracks = np.nonzero(activity[:, c] >= floor)[0]
            merged = _merge(clip[tracks, c, :3], activity[tracks, c], clip[tracks, c, 3], merge_deg)
            for vector, weight, distance in merged:
                weight = weight if scores is None else float(scores[row, c])
                sources.append(_source(id2label[int(c)], vector, weight, distance))
        results.append(sorted(sources, key=lambda source: -source["activity"]))
    return results


def pool_window_sources(windows: Sequence[Sequence[dict]], merge_deg: float = 30.0) -> list[dict]:
    """Whole-clip sources from per-window detections (:func:`decode_accdoa` of each window): per class, the
    detections of all windows clustered by direction, so a source heard in several windows counts once and two
    sources of one class stay apart."""
    by_label: dict[str, list[dict]] = {}
    for window in windows:
        for source in window:
            by_label.setdefault(source["label"], []).append(source)
    pooled = []
    for label, found in by_label.items():
        vectors = unit_vector([s["azimuth_deg"] for s in found], [s["elevation_deg"] for s in found])
        weights = np.array([s["activity"] for s in found])
        distances = np.array([s["distance_m"] for s in found])
        pooled += [_source(label, v, w, d) for v, w, d in _merge(vectors, weights, distances, merge_deg)]
    return sorted(pooled, key=lambda source: -source["activity"])


__all__ = [
    "ACTIVITY_THRESHOLD",
    "MultiACCDOAHead",
    "accdoa_targets",
    "adpit_loss",
    "decode_accdoa",
    "pool_window_sources",
]
