"""Deterministic evaluation of a multi-source Spatial-AST (multi-ACCDOA head) on rendered scenes of 1..N sources."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from .seld_metrics import seld_metrics


def reference_sources(scene) -> list[dict]:
    """The truth of one scene (an `EncoderExample` or a tuple of them): one source per (clip, class label)."""
    scene = (scene,) if not isinstance(scene, (tuple, list)) else scene
    return [
        {"label": label, "azimuth_deg": e.azimuth_deg, "elevation_deg": e.elevation_deg, "distance_m": e.distance_m}
        for e in scene
        for label in e.labels
    ]


def release_head_sources(model, outputs, threshold: float = 0.5) -> list[list[dict]]:
    """What the paper's heads say about a scene: every detected event, all at the one predicted direction."""
    return [
        [
            {"label": label, "azimuth_deg": p["azimuth_deg"], "elevation_deg": p["elevation_deg"]}
            for label, _ in p["events"]
        ]
        for p in model.decode_predictions(outputs, threshold=threshold)
    ]


@torch.no_grad()
def predict_sources(
    model,
    scenes: Sequence,
    collator,
    batch_size: int = 16,
    threshold: float = 0.5,
    progress: bool = True,
    heads: str = "accdoa",
) -> list[list[dict]]:
    """The sources found in each scene, rendered by an evaluation-mode collator: by the multi-ACCDOA head
    (`heads="accdoa"`, `model.decode_sources`) or by the paper's heads (`heads="release"`, every detected event at
    the one predicted direction: the baseline the multi-source head is measured against)."""
    if collator.train:
        raise ValueError("Evaluate with a collator built with train=False (fixed gains and windows).")
    if not scenes:
        raise ValueError("Nothing to evaluate: the scene list is empty.")
    if heads not in ("accdoa", "release"):
        raise ValueError(f"heads must be 'accdoa' or 'release', got {heads!r}.")
    if heads == "accdoa" and getattr(model, "accdoa_head", None) is None:
        raise ValueError("The model has no multi-ACCDOA head (num_accdoa_tracks = 0): it describes one source.")
    model.eval()
    device = next(model.parameters()).device
    found: list[list[dict]] = []
    for start in tqdm(range(0, len(scenes), batch_size), desc="evaluating sources", disable=not progress):
        chunk = list(scenes[start : start + batch_size])
        waveforms, events = collator.render(chunk)
        features = collator.batch(chunk, waveforms, events)["input_features"]
        outputs = model(input_features=features.to(device))
        if heads == "accdoa":
            found += model.decode_sources(outputs, threshold=threshold)
        else:
            found += release_head_sources(model, outputs, threshold=threshold)
    return found


def evaluate_sources(
    model, scenes: Sequence, collator, batch_size: int = 16, progress: bool = True, heads: str = "accdoa"
) -> dict:
    """SELD figures (`seld_metrics`) on all scenes, and the same on the scenes of each source count."""
    predicted = predict_sources(model, scenes, collator, batch_size=batch_size, progress=progress, heads=heads)
    reference = [reference_sources(scene) for scene in scenes]
    sizes = [len(scene) if isinstance(scene, (tuple, list)) else 1 for scene in scenes]
    figures = {"all": seld_metrics(predicted, reference)}
    for size in sorted(set(sizes)):
        rows = [i for i, n in enumerate(sizes) if n == size]
        figures[f"{size}_source"] = seld_metrics([predicted[i] for i in rows], [reference[i] for i in rows])
        figures[f"{size}_source"]["scenes"] = len(rows)
    return figures


__all__ = ["evaluate_sources", "predict_sources", "reference_sources", "release_head_sources"]
