"""Deterministic evaluation of a Spatial-AST model on rendered examples: predictions and the paper's metrics."""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import labels as lb
from .encoder_metrics import spatial_ast_metrics


@torch.no_grad()
def predict_spatial_ast(
    model, examples, collator, batch_size: int = 16, progress: bool = True, return_waveforms: bool = False
) -> dict[str, np.ndarray]:
    """Run the model over examples rendered by an evaluation-mode collator; returns arrays per clip.

    With `return_waveforms`, the rendered binaural clips come back too (`"waveforms"`, (N, 2, samples)), so a
    signal-processing baseline (GCC-PHAT) can be scored on exactly the same audio without rendering it again.
    """
    if collator.train:
        raise ValueError("Evaluate with a collator built with train=False (no mixup, fixed crops).")
    if not examples:
        raise ValueError("Nothing to evaluate: the example list is empty.")
    if len(collator.label2id) != model.config.num_labels:
        raise ValueError(
            f"The model predicts {model.config.num_labels} event classes but the data has {len(collator.label2id)}: "
            f"the label spaces do not match."
        )
    model.eval()
    device = next(model.parameters()).device
    outputs = {key: [] for key in ("event_scores", "event_targets", "distance_m", "azimuth_deg", "elevation_deg")}
    for start in tqdm(range(0, len(examples), batch_size), desc="evaluating", disable=not progress):
        chunk = examples[start : start + batch_size]
        waveforms, events = collator.render(chunk)
        batch = collator.batch(chunk, waveforms, events)
        if return_waveforms:
            outputs.setdefault("waveforms", []).append(waveforms.cpu().numpy())  # GPU collators render on device
        result = model(input_features=batch["input_features"].to(device))
        outputs["event_scores"].append(torch.sigmoid(result.event_logits.float()).cpu().numpy())
        outputs["event_targets"].append(batch["labels"].numpy())
        outputs["distance_m"].append(lb.index_to_distance(result.distance_logits.argmax(-1).cpu().numpy()))
        outputs["azimuth_deg"].append(lb.index_to_azimuth(result.azimuth_logits.argmax(-1).cpu().numpy()))
        outputs["elevation_deg"].append(lb.index_to_elevation(result.elevation_logits.argmax(-1).cpu().numpy()))
    predictions = {key: np.concatenate(value) for key, value in outputs.items()}
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
