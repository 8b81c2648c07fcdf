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


def encode_windows(
    model, clips: torch.Tensor, extractor, batch_size: int, hop_s: float | None = None, names=LOGIT_NAMES, device=None
) -> tuple[SpatialAudioClassifierOutput, torch.Tensor]:
    """Every window of whole clips (B, 2, samples) through the model, `batch_size` windows at a time: the window
    outputs named `names` and the clip each window belongs to. `device`: where the features are computed (None: as
    the extractor does)."""
    windows = extractor(
        clips, sampling_rate=SAMPLE_RATE, windows=True, hop_s=hop_s, return_tensors="pt", device=device
    )
    model_device = next(model.parameters()).device
    parts = [model(input_features=rows.to(model_device)) for rows in windows["input_features"].split(batch_size)]
    outputs = SpatialAudioClassifierOutput(
        **{name: torch.cat([getattr(part, name) for part in parts]) for name in names}
    )
    return outputs, torch.as_tensor(np.asarray(windows["clip_index"])).reshape(-1)


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
) -> dict[str, np.ndarray]:
    """Run the model over whole rendered clips of `examples`; returns arrays per clip.

    Each example (or multi-source scene) is rendered whole by `SpatialAudioCollator.render_whole` (the collator's
    training options play no part) and cut into the collator's feature extractor's windows (`hop_s` apart, back to
    back by default); every window goes through the model, `batch_size` windows at a time, and each clip's
    prediction pools its windows (`pool_window_logits`). Every second of a clip is heard: sounds at both ends of a
    clip are both detected, where its single loudest window would hold only one of them.

    With `return_waveforms`, the rendered binaural clips come back too (`"waveforms"`, (N, 2, samples), float32), so
    a signal-processing baseline (GCC-PHAT) can be scored on exactly the same audio without rendering it again.
    """
    if not examples:
        raise ValueError("Nothing to evaluate: the example list is empty.")
    if len(collator.label2id) != model.config.num_labels:
        raise ValueError(
            f"The model predicts {model.config.num_labels} event classes but the data has {len(collator.label2id)}: "
            f"the label spaces do not match."
        )
    model.eval()
    extractor = collator.feature_extractor
    on_device = collator.device if collator.device.type != "cpu" else None
    outputs = {key: [] for key in ("event_scores", "distance_m", "azimuth_deg", "elevation_deg")}
    waveforms = None
    for start in tqdm(range(0, len(examples), batch_size), desc="evaluating", disable=not progress):
        chunk = examples[start : start + batch_size]
        clips = collator.render_whole(chunk)
        if return_waveforms:  # filled in place: 384 ten-second clips are about 1 GB
            if waveforms is None:
                waveforms = np.empty((len(examples), *clips.shape[1:]), dtype=np.float32)
            waveforms[start : start + len(chunk)] = clips.cpu().numpy()
        window_outputs, clip_index = encode_windows(model, clips, extractor, batch_size, hop_s, device=on_device)
        result = pool_window_logits(window_outputs, clip_index)
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
