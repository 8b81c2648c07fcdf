"""Benchmark: generating SpatialSoundQA records (metadata only, RIR bank given) to parquet.

Target of the issue: 100,000 records in under 60 s on 2 cores. The baseline, measured in the same run, is a
straightforward per-record Python generator (pick a random RIR pair, check constraints, retry); its rate is
measured on a sample and the ratio printed.

    python benchmarks/bench_qa_generation.py [--records 100000] [--num-proc 2]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time

from transformers_bat.data import GenerationRequest, ScenePool, parse_per_type, split_scene_pool, write_dataset
from transformers_bat.data import question_types as qt
from transformers_bat.data.answers import derive_answer


def naive_records(pool: ScenePool, count: int, seed: int = 0) -> list[dict]:
    """Per-record reference generator: one Python loop iteration (with rejection) per record."""
    rng = random.Random(seed)
    by_room: dict[str, list[int]] = {}
    for index, room in enumerate(pool.room_ids):
        by_room.setdefault(room, []).append(index)
    records = []
    types = list(qt.QUESTION_TYPES)
    while len(records) < count:
        question_type = types[len(records) % len(types)]
        r1 = rng.randrange(pool.num_rirs)
        c1 = rng.randrange(pool.num_clips)
        record = {
            "question_type": question_type,
            "sources": [source(pool, c1, r1)],
            "form": "both",
            "direction": "left",
            "axis": "lateral",
        }
        if qt.num_sources(question_type)[0] > 1:
            r2 = rng.choice(by_room[pool.room_ids[r1]])
            c2 = rng.randrange(pool.num_clips)
            if r2 == r1 or pool.octant[r1] == pool.octant[r2] or set(pool.clip_labels[c1]) & set(pool.clip_labels[c2]):
                continue
            record["sources"].append(source(pool, c2, r2))
            if (
                question_type == qt.MIXUP_NONBINARY_SOURCE
                and derive_answer_safe(record | {"direction": "left"}) is None
            ):
                continue
        answer = derive_answer_safe(record)
        if answer is None:
            continue
        records.append(record | {"answer": answer})
    return records


def source(pool: ScenePool, clip: int, rir: int) -> dict:
    return {
        "audio_id": pool.clip_ids[clip],
        "reverb_id": pool.reverb_ids[rir],
        "labels": list(pool.clip_labels[clip]),
        "azimuth_deg": float(pool.azimuth_deg[rir]),
        "elevation_deg": float(pool.elevation_deg[rir]),
        "distance_m": float(pool.distance_m[rir]),
    }


def derive_answer_safe(record):
    try:
        return derive_answer(record)
    except ValueError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--baseline-records", type=int, default=5_000)
    args = parser.parse_args()

    # An RIR bank the size of the authors' (21,131 RIRs, ~10 per room) and an AudioSet-20K-sized catalogue.
    start = time.perf_counter()
    pool = ScenePool.synthetic(num_rooms=2_113, rirs_per_room=10, num_clips=18_373, num_classes=355, seed=0)
    pools = split_scene_pool(pool, test_fraction=0.1, seed=0)
    pool_s = time.perf_counter() - start
    per_type = args.records // len(qt.QUESTION_TYPES)
    request = GenerationRequest(
        counts={"train": parse_per_type(per_type), "test": parse_per_type(0)}, seed=0, records_per_shard=10_000
    )
    total = per_type * len(qt.QUESTION_TYPES)
    print(f"pool: {pool.num_rirs} RIRs, {pool.num_clips} clips, built in {pool_s:.2f} s (not counted)")

    timings = {}
    for num_proc in sorted({1, args.num_proc}):
        folder = tempfile.mkdtemp(prefix="bench_ssqa_")
        try:
            start = time.perf_counter()
            write_dataset(folder, pools, request, num_proc=num_proc)
            timings[num_proc] = time.perf_counter() - start
        finally:
            shutil.rmtree(folder)
        print(
            f"vectorised, num_proc={num_proc}: {total} records in {timings[num_proc]:.2f} s "
            f"= {total / timings[num_proc]:,.0f} records/s (parquet written)"
        )

    start = time.perf_counter()
    naive_records(pools["train"], args.baseline_records)
    naive_s = time.perf_counter() - start
    naive_rate = args.baseline_records / naive_s
    print(
        f"baseline per-record Python loop (answers only, no files): {naive_rate:,.0f} records/s "
        f"-> {total / naive_rate:.1f} s for {total} records (extrapolated)"
    )
    best = min(timings.values())
    print(
        f"speed-up over baseline: {naive_rate and (total / best) / naive_rate:.1f}x; "
        f"target < 60 s for 100k: {'met' if best * 100_000 / total < 60 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
