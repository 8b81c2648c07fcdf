"""Spatial-AST in a few lines: binaural clip -> features -> encoder + heads -> events, distance, direction.

    python examples/spatial_ast_quickstart.py                      # random weights, paper-size model
    python examples/spatial_ast_quickstart.py --checkpoint DIR     # e.g. a converted finetuned.pth
    python examples/spatial_ast_quickstart.py --audio clip.wav     # any stereo file (left ear first)

Convert the authors' checkpoint first with
    transformers-bat convert-spatial-ast finetuned.pth DIR --class-labels-csv class_labels_indices_subset.csv
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import torch
from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

import transformers_bat  # noqa: F401  (registers the Auto* classes)
from transformers_bat import SpatialASTConfig, SpatialASTFeatureExtractor, SpatialASTForSpatialAudioClassification


def synthetic_clip(seconds: float = 10.0, sample_rate: int = 32000, seed: int = 0) -> np.ndarray:
    """Broadband noise bursts that reach the left ear 0.4 ms earlier and 6 dB louder: a source on the left."""
    rng = np.random.default_rng(seed)
    length = int(seconds * sample_rate)
    envelope = (np.sin(2 * np.pi * 2 * np.arange(length) / sample_rate) > 0).astype(np.float32)
    source = rng.standard_normal(length + 64).astype(np.float32) * 0.1
    delay = int(0.0004 * sample_rate)
    left = source[64:] * envelope
    right = 0.5 * source[64 - delay : length + 64 - delay] * envelope
    return np.stack([left, right])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="Folder with a Spatial-AST checkpoint (default: random weights).")
    parser.add_argument("--audio", help="A stereo audio file to analyse (default: a synthetic clip).")
    args = parser.parse_args()

    if args.checkpoint:
        model = AutoModelForAudioClassification.from_pretrained(args.checkpoint)
        extractor = AutoFeatureExtractor.from_pretrained(args.checkpoint)
    else:
        print("No --checkpoint: using a randomly initialised paper-size model, so predictions are meaningless.")
        model = SpatialASTForSpatialAudioClassification(SpatialASTConfig())
        extractor = SpatialASTFeatureExtractor()
    model.eval()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"Spatial-AST: {trainable:,} trainable parameters, attention: {model.config._attn_implementation}")

    audio = args.audio if args.audio else synthetic_clip()
    features = extractor(audio, sampling_rate=None if args.audio else 32000, return_tensors="pt")
    print(f"input_features: {tuple(features['input_features'].shape)}  [logmel L, logmel R, cos IPD, sin IPD]")
    with torch.no_grad():
        outputs = model(**features)
        tokens = model.spatial_ast(**features).last_hidden_state
    print(f"encoder tokens: {tuple(tokens.shape)}  (3 CLS [distance, direction, event] + patches)")
    (prediction,) = model.decode_predictions(outputs, top_k=3)
    events = ", ".join(f"{name} ({score:.2f})" for name, score in prediction["events"])
    print(f"top events: {events}")
    print(
        f"direction: azimuth {prediction['azimuth_deg']:.0f} deg, elevation {prediction['elevation_deg']:.0f} deg "
        f"-> {', '.join(prediction['direction'])}; distance {prediction['distance_m']:.1f} m"
    )

    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        extractor.save_pretrained(folder)
        reloaded = AutoModelForAudioClassification.from_pretrained(folder).eval()
        with torch.no_grad():
            same = torch.equal(reloaded(**features).event_logits, outputs.event_logits)
        print(f"save_pretrained -> AutoModelForAudioClassification.from_pretrained round trip identical: {same}")


if __name__ == "__main__":
    main()
