"""Deterministic evaluation of a Spatial-AST model on rendered examples: predictions and the paper's metrics.

Every clip is judged whole. A model whose window is shorter than the clip (the small demo models read 1-2 s of the
10 s clips) reads all its windows and the windows are pooled, as the `spatial-audio-classification` pipeline
pools them; the paper's model has a 10 s window, so each clip is one window and nothing is pooled, as in the
release.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import labels as lb
from ..audio_format import SAMPLE_RATE
from ..models.spatial_ast.modeling_spatial_ast import SpatialAudioClassifierOutput
from .encoder_metrics import spatial_ast_metrics

LOGIT_NAMES = ("event_logits", "distance_logits", "azimuth_logits", "elevation_logits")


def pool_window_logits(outputs: SpatialAudioClassifierOutput, clip_index) -> SpatialAudioClassifierOutput:
    """Clip-level logits from window-level ones, with the rule of
    `SpatialASTForSpatialAudioClassification.decode_windows`, as tensors (batched, no per-clip loop).

    An event's clip logit is its best window's (so its sigmoid score is the best window's score); the distance,
    azimuth and elevation "logits" are the logarithms of the windows' class probabilities averaged with each
    window's loudest event score as weight, so windows with nothing in them count little, and argmax /
    `decode_predictions` read them like logits. Rows come out in clip order (clip 0 first); when every clip has
    one window the logits are returned unchanged (reordered only), so a one-window model is judged exactly as
    before.

    Args:
        outputs: the model's outputs for the windows, `(num_windows, classes)` per head.
        clip_index: `(num_windows,)` the clip each window belongs to (`SpatialASTFeatureExtractor(...,
            windows=True)["clip_index"]`), clips numbered from 0 without gaps.
    """
    events = outputs.event_logits
    index = torch.as_tensor(np.asarray(clip_index), dtype=torch.long).reshape(-1).to(events.device)
    if len(index) != events.shape[0] or len(index) == 0:
        raise ValueError(f"clip_index has {len(index)} entries for {events.shape[0]} windows.")
    num_clips = int(index.max()) + 1
    counts = torch.bincount(index, minlength=num_clips)
    if bool((counts == 0).any()):
        raise ValueError(f"clip(s) {(counts == 0).nonzero().flatten().tolist()} have no window in clip_index.")
    if bool((counts == 1).all()):
        order = torch.argsort(index)
        return SpatialAudioClassifierOutput(**{name: getattr(outputs, name)[order] for name in LOGIT_NAMES})
    events = events.float()
    scatter_index = index[:, None].expand_as(events)
    event_logits = events.new_full((num_clips, events.shape[1]), -torch.inf)
    event_logits = event_logits.scatter_reduce(0, scatter_index, events, reduce="amax")
    loudest = torch.sigmoid(events).max(-1).values
    totals = torch.zeros(num_clips, device=events.device).index_add(0, index, loudest)
    weight = loudest / totals.clamp(min=1e-12)[index]
    pooled = {}
    for name in LOGIT_NAMES[1:]:
        probabilities = torch.softmax(getattr(outputs, name).float(), -1)
        mean = probabilities.new_zeros(num_clips, probabilities.shape[1])
        mean = mean.index_add(0, index, probabilities * weight[:, None])
        pooled[name] = mean.clamp(min=torch.finfo(mean.dtype).tiny).log()
    return SpatialAudioClassifierOutput(event_logits=event_logits, **pooled)


def encode_features(model, features: torch.Tensor, batch_size: int, names=LOGIT_NAMES) -> SpatialAudioClassifierOutput:
    """Windows' features (windows, 4, frames, mels) through the model, `batch_size` at a time: the outputs `names`."""
    model_device = next(model.parameters()).device
    parts = [model(input_features=rows.to(model_device)) for rows in features.split(batch_size)]
    return SpatialAudioClassifierOutput(**{name: torch.cat([getattr(part, name) for part in parts]) for name in names})


def _clip_windows(clips: torch.Tensor, extractor, hop_s: float | None, device=None) -> dict:
    windows = extractor(
        clips, sampling_rate=SAMPLE_RATE, windows=True, hop_s=hop_s, return_tensors="pt", device=device
    )
    return {
        "input_features": windows["input_features"],
        "clip_index": torch.as_tensor(np.asarray(windows["clip_index"])).reshape(-1),
    }


class _WholeClipWindows:
    """DataLoader `collate_fn`: a chunk of items rendered whole (`SpatialAudioCollator.render_whole`) and cut into
    the extractor's windows; in a worker process, so rendering and featurising overlap the model."""

    def __init__(self, collator, hop_s: float | None, keep_waveforms: bool):
        self.collator, self.hop_s, self.keep_waveforms = collator, hop_s, keep_waveforms

    def __call__(self, chunk: Sequence) -> dict:
        clips = self.collator.render_whole(list(chunk))
        on_device = self.collator.device if self.collator.device.type != "cpu" else None
        windows = _clip_windows(clips, self.collator.feature_extractor, self.hop_s, on_device)
        if self.keep_waveforms:
            windows["waveforms"] = clips
        return windows


def whole_clip_windows(
    collator,
    items: Sequence,
    batch_size: int,
    hop_s: float | None = None,
    num_workers: int = 0,
    keep_waveforms: bool = False,
):
    """The items, `batch_size` at a time and in order, rendered whole and cut into windows: for each chunk a dict of
    `input_features` (windows, 4, frames, mels), `clip_index` (windows,) (and `waveforms`). With `num_workers`,
    DataLoader worker processes render and featurise the next chunks while the caller runs the model (on 2 cores,
    rendering and featurising are most of an evaluation); the results are those of rendering here. A collator that
    renders on a GPU renders here (`num_workers` is ignored)."""
    chunks = [items[start : start + batch_size] for start in range(0, len(items), batch_size)]
    workers = num_workers if collator.device.type == "cpu" else 0
    loader = torch.utils.data.DataLoader(
        chunks, batch_size=None, collate_fn=_WholeClipWindows(collator, hop_s, keep_waveforms), num_workers=workers
    )
    yield from loader


def _event_targets(examples: Sequence, label2id: dict[str, int]) -> np.ndarray:
    targets = np.zeros((len(examples), len(label2id)), dtype=np.float32)
    for row, example in enumerate(examples):
        unknown = [name for name in example.labels if name not in label2id]
        if unknown:
            raise ValueError(f"Class(es) {unknown} of clip {example.audio_id} are not in the model's label space.")
        targets[row, [label2id[name] for name in example.labels]] = 1.0
    return targets


@torch.no_grad()
def predict_spatial_ast(
    model,
    examples,
    collator,
    batch_size: int = 16,
    progress: bool = True,
    return_waveforms: bool = False,
    hop_s: float | None = None,
    num_workers: int = 0,
) -> dict[str, np.ndarray]:
    """Run the model over whole rendered clips of `examples`; returns arrays per clip.

    Each example (or multi-source scene) is rendered whole by `SpatialAudioCollator.render_whole` (the collator's
    training options play no part) and cut into the collator's feature extractor's windows (`hop_s` apart, back to
    back by default); every window goes through the model, `batch_size` windows at a time, and each clip's
    prediction pools its windows (`pool_window_logits`). Every second of a clip is heard: sounds at both ends of a
    clip are both detected, where its single loudest window would hold only one of them.

    With `return_waveforms`, the rendered binaural clips come back too (`"waveforms"`, (N, 2, samples), float32), so
    a signal-processing baseline (GCC-PHAT) can be scored on exactly the same audio without rendering it again.
    With `num_workers`, DataLoader workers render and featurise while the model runs (`whole_clip_windows`).
    """
    if not examples:
        raise ValueError("Nothing to evaluate: the example list is empty.")
    if len(collator.label2id) != model.config.num_labels:
        raise ValueError(
            f"The model predicts {model.config.num_labels} event classes but the data has {len(collator.label2id)}: "
            f"the label spaces do not match."
        )
    model.eval()
    outputs = {key: [] for key in ("event_scores", "distance_m", "azimuth_deg", "elevation_deg")}
    waveforms = None
    chunks = whole_clip_windows(collator, examples, batch_size, hop_s, num_workers, keep_waveforms=return_waveforms)
    total = -(-len(examples) // batch_size)
    for number, chunk in enumerate(tqdm(chunks, total=total, desc="evaluating", disable=not progress)):
        if return_waveforms:  # filled in place: 384 ten-second clips are about 1 GB
            clips = chunk["waveforms"]
            if waveforms is None:
                waveforms = np.empty((len(examples), *clips.shape[1:]), dtype=np.float32)
            waveforms[number * batch_size : number * batch_size + len(clips)] = clips.cpu().numpy()
        window_outputs = encode_features(model, chunk["input_features"], batch_size)
        result = pool_window_logits(window_outputs, chunk["clip_index"])
        outputs["event_scores"].append(torch.sigmoid(result.event_logits.float()).cpu().numpy())
        outputs["distance_m"].append(lb.index_to_distance(result.distance_logits.argmax(-1).cpu().numpy()))
        outputs["azimuth_deg"].append(lb.index_to_azimuth(result.azimuth_logits.argmax(-1).cpu().numpy()))
        outputs["elevation_deg"].append(lb.index_to_elevation(result.elevation_logits.argmax(-1).cpu().numpy()))
    predictions = {key: np.concatenate(value) for key, value in outputs.items()}
    predictions["event_targets"] = _event_targets(examples, collator.label2id)
    if return_waveforms:
        predictions["waveforms"] = waveforms
    predictions["true_distance_m"] = np.array([e.distance_m for e in examples])
    predictions["true_azimuth_deg"] = np.array([e.azimuth_deg for e in examples])
    predictions["true_elevation_deg"] = np.array([e.elevation_deg for e in examples])
    return predictions


def metrics_from_predictions(predictions: dict[str, np.ndarray]) -> dict[str, float]:
    """The paper's encoder figures from the arrays of :func:`predict_spatial_ast`."""
    return spatial_ast_metrics(
        predictions["event_scores"],
        predictions["event_targets"],
        predictions["distance_m"],
        predictions["true_distance_m"],
        predictions["azimuth_deg"],
        predictions["elevation_deg"],
        predictions["true_azimuth_deg"],
        predictions["true_elevation_deg"],
    )
