"""`transformers-bat demo`: simulate SpatialSoundQA, train small Spatial-AST and BAT on CPU, evaluate, ask."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-dir", default="demo_output", help="Where the bank, data, models and report go.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--num-workers",
        type=int,
        default=2,
        help="Worker processes that render (RIRs, training and evaluation audio) while the main process trains.",
    )
    parser.add_argument("--quick", action="store_true", help="A one-minute smoke run (tiny sizes, learns nothing).")
    parser.add_argument(
        "--export-checkpoints",
        metavar="DIR",
        help="Also copy the two trained models to DIR/spatial-ast-small and DIR/bat-small (how the checkpoints "
        "shipped in checkpoints/ are made), replacing what is there.",
    )


def run(args: argparse.Namespace) -> int:
    from transformers_bat.demo import DemoSettings, export_checkpoints, run_demo

    make = DemoSettings.quick if args.quick else DemoSettings
    run_demo(make(output_dir=args.output_dir, seed=args.seed, num_workers=args.num_workers))
    if args.export_checkpoints:
        for path in export_checkpoints(args.output_dir, args.export_checkpoints):
            print(f"checkpoint: {path}")
    return 0
