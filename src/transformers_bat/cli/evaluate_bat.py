"""`transformers-bat evaluate-bat`: answer a SpatialSoundQA split with a BAT and write predictions + a report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import SOURCES_HELP, UsageError, open_catalogue


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help="A SpatialSoundQA folder (parquet + card) made by generate-qa.")
    parser.add_argument("--model", help="BAT checkpoint folder (model + processor). Not needed with --predictions.")
    parser.add_argument("--config", default="stage3", help="Dataset config: stage1, stage2 or stage3.")
    parser.add_argument("--split", default="test")
    parser.add_argument("--rir-bank", help="RIR bank the dataset was made from (our bank or mp3d_reverb).")
    parser.add_argument("--sources", default="procedural", help=SOURCES_HELP)
    parser.add_argument("--clips-per-class", type=int, default=10, help="For --sources procedural.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the procedural catalogue.")
    parser.add_argument("--output-dir", required=True, help="Where predictions.jsonl and report.{json,txt} go.")
    parser.add_argument("--predictions", help="Score this prediction file instead of generating answers.")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--num-beams", type=int, default=None, help="Default: the model's generation_config.")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="Only the first N records (quick checks).")


def run(args: argparse.Namespace) -> int:
    from ..data import load_spatial_sound_qa
    from ..evaluation import format_table4, majority_predictions, score_answers
    from ..evaluation.bat_evaluation import align_predictions, answer_records, read_predictions, write_predictions

    if not args.predictions and not (args.model and args.rir_bank):
        raise UsageError("generating answers needs --model and --rir-bank (or score a file with --predictions)")
    bank = catalogue = None
    if not args.predictions:
        from ..simulation import RIRBank

        bank = RIRBank.open(args.rir_bank, split=None)  # every index: ids as generated
        catalogue = open_catalogue(args.sources, args.clips_per_class, args.seed)
    # the Arrow-backed Dataset itself: answered, written and scored batch by batch / row by row, never a list
    records = load_spatial_sound_qa(args.dataset, args.config, split=args.split, rir_bank=bank, catalogue=catalogue)
    if args.limit is not None:
        if args.limit < 0:
            raise UsageError(f"--limit must be >= 0, got {args.limit}")
        records = records.select(range(min(args.limit, len(records))))
    if len(records) == 0:
        raise UsageError(f"{args.dataset} ({args.config}, {args.split}) has no records to evaluate")
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if args.predictions:
        predictions = align_predictions(records, read_predictions(args.predictions))
    else:
        from transformers import AutoModelForMultimodalLM, AutoProcessor

        from ..data import SceneRenderer

        model = AutoModelForMultimodalLM.from_pretrained(args.model)
        processor = AutoProcessor.from_pretrained(args.model)
        renderer = SceneRenderer(bank, catalogue)
        generate = {k: v for k, v in (("num_beams", args.num_beams), ("max_new_tokens", args.max_new_tokens)) if v}
        predictions = answer_records(model, processor, renderer, records, batch_size=args.batch_size, **generate)
        write_predictions(output_dir / "predictions.jsonl", records, predictions)
    class_names = catalogue.class_names if catalogue is not None else None
    rows = {
        "model": score_answers(records, predictions, class_names=class_names),
        "majority": score_answers(records, majority_predictions(records), class_names=class_names),
    }
    table = format_table4({name: summary["table4"] for name, summary in rows.items()})
    (output_dir / "report.json").write_text(json.dumps(rows, indent=2))
    (output_dir / "report.txt").write_text(table + "\n")
    print(table)
    return 0
