"""``transformers-bat generate-qa``: write a balanced SpatialSoundQA dataset folder from an RIR bank and sounds.

Examples::

    transformers-bat generate-qa out/ssqa --rir-bank out/bank --sources procedural --per-type 1000
    transformers-bat generate-qa out/ssqa4 --rir-bank out/bank --per-type 1000 --max-sources 4   # + stage4
    transformers-bat generate-qa out/ssqa --rir-bank out/bank --num-rirs 400 --sources audioset:/data/AudioSet \\
        --per-type "A=2000,B=2000,C=1000,D=1000,E=5000" --test-per-type 200 --num-shards 4 --shard-index 0

Re-running the same command resumes: finished shards are kept, the rest is written; the output equals that of an
uninterrupted run. Heavy imports happen inside :func:`run` so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import UsageError, open_catalogue

MAX_SOURCES = 4  # the scenes' rendering and the encoder's multi-source head (up to 4 tracks) go this far


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output_dir", type=Path, help="dataset folder to write (or resume)")
    parser.add_argument(
        "--rir-bank",
        type=Path,
        required=True,
        help="RIR bank folder (ours or the authors' mp3d_reverb); rendered there if missing and --num-rirs is set",
    )
    parser.add_argument(
        "--num-rirs", type=int, default=None, help="use the first N RIRs of the bank (or render a new bank of N RIRs)"
    )
    parser.add_argument(
        "--sources",
        default="procedural",
        help="sound catalogue: 'procedural', 'folder:PATH' or 'audioset:ROOT' (default: procedural)",
    )
    parser.add_argument("--clips-per-class", type=int, default=20, help="procedural catalogue size per class")
    parser.add_argument(
        "--audioset-metadata", default="balanced,eval", help="AudioSet metadata files to take clips from (comma list)"
    )
    parser.add_argument(
        "--per-type",
        default="1000",
        help="train records per question type: 'N' for every type, or 'A=N,B=N,MIXUP_DIRECTION=N,E=N,...'",
    )
    parser.add_argument(
        "--test-per-type", default=None, help="test records per type, same syntax (default: a tenth of --per-type)"
    )
    parser.add_argument(
        "--max-sources",
        type=int,
        default=2,
        help="most sources per scene (default 2 = the paper's data); 3 or 4 add the types beyond the paper "
        "(counting, extremes, three-source relations) and the stage4 config",
    )
    parser.add_argument("--test-fraction", type=float, default=0.2, help="share of rooms and clips held out for test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--records-per-shard", type=int, default=25_000)
    parser.add_argument("--plane-margin-deg", type=float, default=5.0, help="keep sources this far from octant planes")
    parser.add_argument("--num-proc", type=int, default=1, help="local processes writing shards")
    parser.add_argument("--shard-index", type=int, default=0, help="this machine's index among --num-shards")
    parser.add_argument("--num-shards", type=int, default=1, help="machines sharing the work")
    parser.add_argument("--card-template", type=Path, default=None, help="dataset card template (default: built in)")
    parser.add_argument(
        "--materialize-audio",
        action="store_true",
        help="store each record's rendered binaural clip (FLAC, 2 channels, 32 kHz) in an 'audio' column: a "
        "self-contained dataset the Hub viewer plays (about 1 MB per record; the default stores ids only)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _bank(path: Path, num_rirs: int | None, seed: int, num_proc: int, progress: bool):
    from ..simulation.rir_bank import RIRBank

    if not path.exists():
        if num_rirs is None:
            raise UsageError(f"--rir-bank {path} does not exist; pass --num-rirs to render a new bank there")
        from ..simulation.rir_bank import BankSettings, render_bank

        render_bank(path, BankSettings(seed=seed, num_rirs=num_rirs), num_workers=num_proc, progress=progress)
    return RIRBank.open(path)


def run(args: argparse.Namespace) -> int:
    from ..data import GenerationRequest, ScenePool, parse_per_type, split_scene_pool, write_dataset

    if not 1 <= args.max_sources <= MAX_SOURCES:
        raise UsageError(f"--max-sources must be between 1 and {MAX_SOURCES}, got {args.max_sources}")
    train_counts = parse_per_type(args.per_type, max_sources=args.max_sources)
    if args.test_per_type is None:
        test_counts = {t: -(-n // 10) for t, n in train_counts.items()}
    else:
        test_counts = parse_per_type(args.test_per_type, max_sources=args.max_sources)
    progress = not args.no_progress
    bank = _bank(args.rir_bank, args.num_rirs, args.seed, args.num_proc, progress)
    if args.num_rirs is not None and args.num_rirs > len(bank):
        raise ValueError(f"--num-rirs {args.num_rirs}: the bank at {args.rir_bank} holds only {len(bank)} RIRs")
    reverb_ids = bank.ids if args.num_rirs is None else bank.ids[: args.num_rirs]
    catalogue = open_catalogue(args.sources, args.clips_per_class, args.seed, args.audioset_metadata)
    pool = ScenePool.from_sources(bank, catalogue, reverb_ids=reverb_ids)
    pools = split_scene_pool(pool, test_fraction=args.test_fraction, seed=args.seed)
    request = GenerationRequest(
        counts={"train": train_counts, "test": test_counts},
        seed=args.seed,
        records_per_shard=args.records_per_shard,
        plane_margin_deg=args.plane_margin_deg,
        materialize_audio=args.materialize_audio,
        max_sources=args.max_sources,
    )
    renderer = None
    if args.materialize_audio:
        from ..data import SceneRenderer

        renderer = SceneRenderer(bank, catalogue)
    report = write_dataset(
        args.output_dir,
        pools,
        request,
        num_proc=args.num_proc,
        shard_index=args.shard_index,
        num_shards=args.num_shards,
        progress=progress,
        card_template=args.card_template,
        provenance={
            "rir_bank": str(args.rir_bank),
            "num_rirs": len(reverb_ids),
            "sources": args.sources,
            "catalogue": repr(catalogue),
            "clips_per_class": args.clips_per_class if args.sources == "procedural" else None,
            "catalogue_seed": args.seed if args.sources == "procedural" else None,
        },
        log=print,
        license="apache-2.0" if args.sources == "procedural" else "other",  # our code's sounds; else the clips'
        renderer=renderer,
    )
    print(report.table())
    print(f"shards written {report.written}, already present {report.skipped}, still missing {report.remaining}")
    if report.complete:
        stage = "stage4" if args.max_sources > 2 else "stage3"
        print(f"done: datasets.load_dataset({str(args.output_dir)!r}, {stage!r})")
    return 0
