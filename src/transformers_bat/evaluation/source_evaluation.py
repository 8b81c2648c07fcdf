"""Deterministic evaluation of a multi-source Spatial-AST (multi-ACCDOA head) on whole rendered scenes of 1..N
sources, next to the paper's heads."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from ..scene import Scene
from .seld_metrics import seld_metrics


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
    hop_s: float | None = None,
) -> list[list[dict]]:
    """The sources found in each whole scene (`SpatialAudioCollator.render_whole`, cut into the feature extractor's
    windows, `batch_size` windows at a time): by the multi-ACCDOA head (`heads="accdoa"`: each window's sources,
    clustered per class by direction over the clip, `pool_window_sources`) or by the paper's heads
    (`heads="release"`: the windows pooled as `predict_spatial_ast` pools them, then every detected event at the
    one predicted direction: the baseline the multi-source head is measured against)."""
    from ..models.spatial_ast.multi_accdoa import pool_window_sources
    from .encoder_evaluation import LOGIT_NAMES, encode_windows, pool_window_logits

    if not scenes:
        raise ValueError("Nothing to evaluate: the scene list is empty.")
    if heads not in ("accdoa", "release"):
        raise ValueError(f"heads must be 'accdoa' or 'release', got {heads!r}.")
    if heads == "accdoa" and getattr(model, "accdoa_head", None) is None:
        raise ValueError("The model has no multi-ACCDOA head (num_accdoa_tracks = 0): it describes one source.")
    model.eval()
    names = (*LOGIT_NAMES, "accdoa") if heads == "accdoa" else LOGIT_NAMES
    found: list[list[dict]] = []
    for start in tqdm(range(0, len(scenes), batch_size), desc="evaluating sources", disable=not progress):
        clips = collator.render_whole(list(scenes[start : start + batch_size]))
        outputs, clip_index = encode_windows(model, clips, collator.feature_extractor, batch_size, hop_s, names)
        if heads == "accdoa":
            per_window = model.decode_sources(outputs, threshold=threshold)
            for clip in range(int(clip_index.max()) + 1):
                rows = (clip_index == clip).nonzero().flatten().tolist()
                found.append(pool_window_sources([per_window[row] for row in rows]))
        else:
            found += release_head_sources(model, pool_window_logits(outputs, clip_index), threshold=threshold)
    return found


def evaluate_sources(
    model, scenes: Sequence, collator, batch_size: int = 16, progress: bool = True, heads: str = "accdoa"
) -> dict:
    """SELD figures (`seld_metrics`) on all scenes, and the same on the scenes of each source count."""
    predicted = predict_sources(model, scenes, collator, batch_size=batch_size, progress=progress, heads=heads)
    reference = [Scene.of_item(scene).events() for scene in scenes]
    sizes = [len(Scene.of_item(scene)) for scene in scenes]
    figures = {"all": seld_metrics(predicted, reference)}
    for size in sorted(set(sizes)):
        rows = [i for i, n in enumerate(sizes) if n == size]
        figures[f"{size}_source"] = seld_metrics([predicted[i] for i in rows], [reference[i] for i in rows])
        figures[f"{size}_source"]["scenes"] = len(rows)
    return figures


__all__ = ["evaluate_sources", "predict_sources", "release_head_sources"]
