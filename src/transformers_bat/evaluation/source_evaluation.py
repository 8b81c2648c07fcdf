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


HEADS = ("accdoa", "release")


@torch.no_grad()
def predict_sources(
    model,
    scenes: Sequence,
    collator,
    batch_size: int = 16,
    threshold: float = 0.5,
    progress: bool = True,
    heads: str | Sequence[str] = "accdoa",
    hop_s: float | None = None,
    num_workers: int = 0,
) -> list[list[dict]] | dict[str, list[list[dict]]]:
    """The sources found in each whole scene (`SpatialAudioCollator.render_whole`, cut into the feature extractor's
    windows, `batch_size` windows at a time): by the multi-ACCDOA head (`heads="accdoa"`: each window's sources,
    clustered per class by direction over the clip, `pool_window_sources`) or by the paper's heads
    (`heads="release"`: the windows pooled as `predict_spatial_ast` pools them, then every detected event at the
    one predicted direction: the baseline the multi-source head is measured against).

    `heads` may name both (`("accdoa", "release")`): each scene is then rendered and encoded once and the result
    is a dict of both heads' source lists. With `num_workers`, DataLoader workers render and featurise while the
    model runs (`encoder_evaluation.whole_clip_windows`)."""
    from ..models.spatial_ast.multi_accdoa import pool_window_sources
    from .encoder_evaluation import LOGIT_NAMES, encode_features, pool_window_logits, whole_clip_windows

    if not scenes:
        raise ValueError("Nothing to evaluate: the scene list is empty.")
    wanted = (heads,) if isinstance(heads, str) else tuple(heads)
    unknown = [name for name in wanted if name not in HEADS]
    if unknown or not wanted:
        raise ValueError(f"heads must be 'accdoa', 'release' or both, got {heads!r}.")
    if "accdoa" in wanted and getattr(model, "accdoa_head", None) is None:
        raise ValueError("The model has no multi-ACCDOA head (num_accdoa_tracks = 0): it describes one source.")
    model.eval()
    names = (*LOGIT_NAMES, "accdoa") if "accdoa" in wanted else LOGIT_NAMES
    found: dict[str, list[list[dict]]] = {name: [] for name in wanted}
    chunks = whole_clip_windows(collator, scenes, batch_size, hop_s, num_workers)
    total = -(-len(scenes) // batch_size)
    for chunk in tqdm(chunks, total=total, desc="evaluating sources", disable=not progress):
        outputs, clip_index = encode_features(model, chunk["input_features"], batch_size, names), chunk["clip_index"]
        if "accdoa" in wanted:
            per_window = model.decode_sources(outputs, threshold=threshold)
            for clip in range(int(clip_index.max()) + 1):
                rows = (clip_index == clip).nonzero().flatten().tolist()
                found["accdoa"].append(pool_window_sources([per_window[row] for row in rows]))
        if "release" in wanted:
            pooled = pool_window_logits(outputs, clip_index)
            found["release"] += release_head_sources(model, pooled, threshold=threshold)
    return found[heads] if isinstance(heads, str) else found


def evaluate_sources(
    model,
    scenes: Sequence,
    collator,
    batch_size: int = 16,
    progress: bool = True,
    heads: str | Sequence[str] = "accdoa",
    num_workers: int = 0,
) -> dict:
    """SELD figures (`seld_metrics`) on all scenes, and the same on the scenes of each source count; for several
    `heads` (one rendering and encoding of every scene), a dict of those figures per head."""
    predicted = predict_sources(
        model, scenes, collator, batch_size=batch_size, progress=progress, heads=heads, num_workers=num_workers
    )
    reference = [Scene.of_item(scene).events() for scene in scenes]
    sizes = [len(Scene.of_item(scene)) for scene in scenes]

    def figures_of(found: list[list[dict]]) -> dict:
        figures = {"all": seld_metrics(found, reference)}
        for size in sorted(set(sizes)):
            rows = [i for i, n in enumerate(sizes) if n == size]
            figures[f"{size}_source"] = seld_metrics([found[i] for i in rows], [reference[i] for i in rows])
            figures[f"{size}_source"]["scenes"] = len(rows)
        return figures

    if isinstance(heads, str):
        return figures_of(predicted)
    return {name: figures_of(found) for name, found in predicted.items()}


__all__ = ["HEADS", "evaluate_sources", "predict_sources", "release_head_sources"]
