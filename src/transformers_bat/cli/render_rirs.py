"""``transformers-bat render-rirs``: render a bank of binaural room impulse responses (resumable)."""

from __future__ import annotations

import argparse


def _pair(text: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected two numbers 'LOW,HIGH', got {text!r}") from error
    if not low <= high:
        raise argparse.ArgumentTypeError(f"expected LOW <= HIGH, got {text!r}")
    return low, high


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", required=True, help="bank directory (created; an interrupted bank is resumed)")
    parser.add_argument("--num-rirs", type=int, required=True, help="number of RIRs in the bank")
    parser.add_argument("--seed", type=int, default=0, help="bank seed; RIR i depends only on (seed, i)")
    parser.add_argument("--num-workers", type=int, default=1, help="rendering processes")
    parser.add_argument("--hrtf", default="kemar", help="'kemar' (bundled MIT KEMAR), 'spherical' or a .sofa path")
    parser.add_argument("--shard-size", type=int, default=64, help="RIRs per shard file")
    parser.add_argument("--rirs-per-room", type=int, default=8, help="consecutive RIRs sharing one room")
    parser.add_argument("--rt60", type=_pair, default=(0.2, 0.8), metavar="LOW,HIGH", help="target RT60 range, s")
    parser.add_argument("--room-side", type=_pair, default=(3.0, 10.0), metavar="LOW,HIGH", help="floor sides, m")
    parser.add_argument("--room-height", type=_pair, default=(2.5, 3.5), metavar="LOW,HIGH", help="heights, m")
    parser.add_argument("--polygon-probability", type=float, default=0.4, help="share of non-shoebox rooms")
    parser.add_argument(
        "--distance-bins",
        type=_pair,
        default=(2, 12),
        metavar="LOW,HIGH",
        help="inclusive 0.5 m distance bins to balance over (2,12 = 1-6 m)",
    )
    parser.add_argument("--max-order", type=int, default=3, help="image-source order (ray tracing does the rest)")
    parser.add_argument("--max-rir-seconds", type=float, default=2.0, help="RIR length cap")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    from ..simulation.rir_bank import BankSettings, render_bank
    from ..simulation.rir_rendering import PlacementConfig

    settings = BankSettings(
        seed=args.seed,
        num_rirs=args.num_rirs,
        shard_size=args.shard_size,
        hrtf=args.hrtf,
        rirs_per_room=args.rirs_per_room,
        rt60_range_s=args.rt60,
        side_range_m=args.room_side,
        height_range_m=args.room_height,
        polygon_probability=args.polygon_probability,
        max_order=args.max_order,
        max_rir_s=args.max_rir_seconds,
        placement=PlacementConfig(distance_index_range=(int(args.distance_bins[0]), int(args.distance_bins[1]))),
    )
    merged = render_bank(args.output, settings, num_workers=args.num_workers, progress=not args.no_progress)
    print(f"wrote {settings.num_rirs} RIRs; metadata: {merged}")
    return 0
