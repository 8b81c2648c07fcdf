"""RIR bank throughput: binaural RIRs per hour at RT60 0.2-0.8 s with the bundled KEMAR HRIRs, and where the
time goes. The baseline, measured in the same run, is the naive renderer that builds the HRIR directivities
again for every RIR (what a straightforward pyroomacoustics script does).

    python benchmarks/bench_rir_bank.py [--num-rirs 160] [--num-workers 2] [--profile-rirs 16]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time

from transformers_bat.simulation.hrtf import load_hrir_set
from transformers_bat.simulation.rir_bank import BankSettings, _init_worker, render_bank, scene_for_index
from transformers_bat.simulation.rir_rendering import BinauralRenderer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-rirs", type=int, default=160, help="RIRs rendered end to end with the workers")
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--profile-rirs", type=int, default=16, help="RIRs profiled step by step in one process")
    parser.add_argument("--baseline-rirs", type=int, default=4, help="RIRs rendered by the naive baseline")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    settings = BankSettings(seed=args.seed, num_rirs=args.num_rirs)
    hrirs = load_hrir_set("kemar", settings.sample_rate)
    elevations = (hrirs.min_elevation_deg, hrirs.max_elevation_deg)

    # 1. where the time goes, one process
    start = time.perf_counter()
    renderer = BinauralRenderer(hrirs, settings.sample_rate, settings.max_order, settings.max_rir_s)
    setup_s = time.perf_counter() - start
    timings = {"scene sampling": 0.0}
    lengths = []
    for index in range(args.profile_rirs):
        start = time.perf_counter()
        scene = scene_for_index(settings, index, elevations)
        timings["scene sampling"] += time.perf_counter() - start
        lengths.append(renderer.render(scene, [settings.seed, index], timings).shape[1])
    per_rir = sum(timings.values()) / args.profile_rirs
    print(f"one-off setup (HRIR directivities): {setup_s:.2f} s")
    print(f"per RIR, one process: {per_rir:.3f} s (mean RIR length {sum(lengths) / len(lengths) / 32000:.2f} s)")
    for step, seconds in timings.items():
        print(f"  {step:15s} {seconds / args.profile_rirs:.3f} s  ({100 * seconds / sum(timings.values()):.0f}%)")

    # 2. the naive baseline: directivities rebuilt per RIR
    start = time.perf_counter()
    for index in range(args.baseline_rirs):
        scene = scene_for_index(settings, index, elevations)
        BinauralRenderer(hrirs, settings.sample_rate, settings.max_order, settings.max_rir_s).render(scene, [0, index])
    baseline_per_rir = (time.perf_counter() - start) / args.baseline_rirs
    print(f"naive baseline (directivities rebuilt per RIR): {baseline_per_rir:.3f} s per RIR, one process")
    print(f"ratio ours / naive, one process: {baseline_per_rir / per_rir:.2f}x")

    # 3. cost of starting spawn workers (interpreter, package import, HRIR directivities), paid once per run
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.num_workers, _init_worker, (settings.to_json(),)) as pool:
        pool.map(abs, range(args.num_workers))
    startup_s = time.perf_counter() - start
    print(f"worker start-up ({args.num_workers} spawn workers): {startup_s:.1f} s")

    # 4. end to end: the bank command's code path with worker processes, shards and metadata
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        render_bank(os.path.join(directory, "bank"), settings, num_workers=args.num_workers, progress=False)
        wall_s = time.perf_counter() - start
    print(
        f"end to end, {args.num_workers} workers: {args.num_rirs} RIRs in {wall_s:.1f} s "
        f"= {3600 * args.num_rirs / wall_s:,.0f} RIRs/hour (includes worker start-up and package import)"
    )
    print(f"  without start-up: {3600 * args.num_rirs / max(wall_s - startup_s, 1e-9):,.0f} RIRs/hour")
    print(f"one process steady state: {3600 / per_rir:,.0f} RIRs/hour/core; naive: {3600 / baseline_per_rir:,.0f}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
