"""`transformers-bat evaluate-spatial-ast`: the paper's encoder metrics on the single-source clips of a split, each
clip judged whole (all its windows, pooled, when the model's window is shorter than the clip)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import SOURCES_HELP, open_catalogue


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help="A SpatialSoundQA folder made by generate-qa (its single-source records).")
    parser.add_argument("--model", required=True, help="Spatial-AST checkpoint with heads (and preprocessor).")
    parser.add_argument("--rir-bank", required=True, help="RIR bank the dataset was made from.")
    parser.add_argument("--sources", default="procedural", help=SOURCES_HELP)
    parser.add_argument("--clips-per-class", type=int, default=10, help="For --sources procedural.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the procedural catalogue.")
    parser.add_argument("--split", default="test")
    parser.add_argument("--output-dir", required=True, help="Where predictions.npz, report.json and the plot go.")
    parser.add_argument("--batch-size", type=int, default=32, help="Clips rendered, and windows encoded, at a time.")
    parser.add_argument(
        "--hop-s",
        type=float,
        default=None,
        help="Seconds between the starts of a clip's windows when the model's window is shorter than the clip "
        "(default: the window length, no overlap).",
    )


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    from ..data import load_spatial_sound_qa
    from ..evaluation.encoder_evaluation import metrics_from_predictions, predict_spatial_ast
    from ..evaluation.plots import plot_directions
    from ..simulation import RIRBank
    from ..training import SpatialAudioCollator, examples_from_records

    bank = RIRBank.open(args.rir_bank, split=None)  # every index: ids as generated
    catalogue = open_catalogue(args.sources, args.clips_per_class, args.seed)
    # refuses a bank or catalogue other than the generating ones (e.g. another --seed): figures would be meaningless
    dataset = load_spatial_sound_qa(args.dataset, "stage1", split=args.split, rir_bank=bank, catalogue=catalogue)
    examples = examples_from_records([dict(row) for row in dataset])
    model = AutoModelForAudioClassification.from_pretrained(args.model)
    extractor = AutoFeatureExtractor.from_pretrained(args.model)
    collator = SpatialAudioCollator(catalogue, bank, extractor, model.config.label2id, train=False)
    predictions = predict_spatial_ast(model, examples, collator, batch_size=args.batch_size, hop_s=args.hop_s)
    metrics = metrics_from_predictions(predictions)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    np.savez(output_dir / "predictions.npz", **predictions)
    (output_dir / "report.json").write_text(json.dumps({"clips": len(examples), **metrics}, indent=2))
    plot_directions(predictions["true_azimuth_deg"], predictions["azimuth_deg"], output_dir / "directions.png")
    for name, value in metrics.items():
        print(f"{name:20s} {value:8.3f}")
    return 0
