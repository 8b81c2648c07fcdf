"""Benchmark: feeding SpatialSoundQA records to training, copied into a Python list vs as the Arrow-backed Dataset.

Before (what train_bat.py, the demo and evaluate-bat did): `[dict(row) for row in load_spatial_sound_qa(...)]`, then
a DataLoader over that list. After: the `datasets.Dataset` itself given to the DataLoader, as the Trainer is now
given it (`train_curriculum`; rows are fetched from the memory-mapped Arrow files batch by batch). Both read the
same stage-3 train split of a metadata-only dataset written by `write_dataset` from `ScenePool.synthetic` (100,000
records by default, the release's size of RIR bank and AudioSet-20K), in the same run.

What is measured, per way, in a fresh Python process each (imports done before the baseline is taken): from loading
the split to the last batch, a shuffled pass as the Trainer makes one (`RandomSampler`, batch 8 by default) with the
real `BatQACollator` doing its per-record work (scene keys of the `sources`, questions, answers, concatenation)
around a stand-in renderer and processor that return tiny constant arrays. Rendering 10 s of binaural audio and
featurising it cost the same per record both ways (tens of milliseconds) and would hide the difference; they are
left out on purpose, so the throughput figures are an upper bound of the record path, not training speed.

- memory: growth of the process's resident memory over its baseline, sampled every few batches: RSS in all, and its
  anonymous part (private to the process: what every rank and worker pays again). File-backed pages of the Arrow
  files are shared by every process reading them and dropped under pressure.
- throughput: records per second end to end (load + copy + pass) and for the pass alone; the list's copy time.

The pass runs in the main process (no DataLoader workers): a worker given a list ends up with its own copy of every
page it touches (reference counts write to them), which this does not measure; the Arrow pages stay shared.

    python benchmarks/bench_qa_dataset_reading.py [--records 100000] [--batch-size 8] [--in-process]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from transformers_bat.data import GenerationRequest, ScenePool, parse_per_type, split_scene_pool, write_dataset
from transformers_bat.data import question_types as qt
from transformers_bat.data.dataset_folder import load_spatial_sound_qa
from transformers_bat.training.bat_curriculum import BatQACollator, RecordList

WAYS = {"list": "before: list of dicts", "dataset": "after: Arrow Dataset"}


class StandInRenderer:
    """A constant 1-sample binaural clip: the record path without the audio."""

    def render(self, record) -> np.ndarray:
        return np.zeros((2, 1), dtype=np.float32)


class StandInProcessor:
    """One 1x1 'window' per clip, and the texts passed through: the record path without features or tokens."""

    def window_features(self, waveforms, sampling_rate, hop_s=None) -> list[torch.Tensor]:
        return [torch.zeros(1, 1) for _ in waveforms]

    def __call__(self, input_features, audio_window_counts, text, answers=None) -> dict:
        return {"input_features": input_features, "audio_window_counts": audio_window_counts, "text": text}


def memory_mb() -> dict[str, float]:
    """Resident memory of this process now (MB): all, anonymous (private), file-backed (Linux /proc)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        kb = {name: float(fields[name].split()[0]) for name in ("VmRSS", "RssAnon", "RssFile")}
        return {"rss": kb["VmRSS"] / 1024, "anon": kb["RssAnon"] / 1024, "file": kb["RssFile"] / 1024}
    except (OSError, KeyError, ValueError):  # not Linux: RSS only
        import psutil

        rss = psutil.Process().memory_info().rss / 2**20
        return {"rss": rss, "anon": rss, "file": 0.0}


def measure(way: str, folder: str, cache_dir: str, batch_size: int, sample_every: int = 32) -> dict:
    """One way of feeding the records, from loading the split to the last batch (see the module docstring)."""
    collator = BatQACollator(StandInProcessor(), StandInRenderer())
    gc.collect()
    base = memory_mb()
    peak = dict(base)

    def sample():
        for name, value in memory_mb().items():
            peak[name] = max(peak[name], value)

    start = time.perf_counter()
    dataset = load_spatial_sound_qa(folder, "stage3", split="train", cache_dir=cache_dir)
    loaded = time.perf_counter()
    if way == "list":
        records = RecordList([dict(row) for row in dataset])  # the old scripts' copy
    else:
        records = dataset
    copied = time.perf_counter()
    sample()
    loader = torch.utils.data.DataLoader(
        records,
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        collate_fn=collator,
    )
    seen, first = 0, None
    for step, batch in enumerate(loader):
        seen += len(batch["text"])
        first = first or time.perf_counter()
        if step % sample_every == 0:
            sample()
    end = time.perf_counter()
    sample()
    if seen != len(records):
        raise RuntimeError(f"{way}: {seen} records collated out of {len(records)}")
    return {
        "records": seen,
        "load_s": loaded - start,
        "copy_s": copied - loaded,
        "first_batch_s": first - start,
        "pass_s": end - copied,
        "total_s": end - start,
        **{f"{name}_mb": peak[name] - base[name] for name in base},
    }


def run_in_child(way: str, folder: str, cache_dir: str, batch_size: int) -> dict:
    """`measure` in a fresh interpreter, so that neither way inherits the other's memory."""
    command = [sys.executable, __file__, "--measure", way, "--folder", folder, "--cache-dir", cache_dir]
    command += ["--batch-size", str(batch_size)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"measuring {way} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_records(folder: Path, records: int) -> int:
    """A metadata-only SpatialSoundQA folder of about `records` train records (the nine paper types)."""
    pool = ScenePool.synthetic(num_rooms=2_113, rirs_per_room=10, num_clips=18_373, num_classes=355, seed=0)
    pools = split_scene_pool(pool, test_fraction=0.1, seed=0)
    per_type = max(1, records // len(qt.QUESTION_TYPES))
    request = GenerationRequest(
        counts={"train": parse_per_type(per_type), "test": parse_per_type(0)}, seed=0, records_per_shard=10_000
    )
    write_dataset(folder, pools, request)
    return per_type * len(qt.QUESTION_TYPES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="measure both ways in this process (quick; memory figures less exact: freed memory is reused)",
    )
    parser.add_argument("--measure", choices=sorted(WAYS), help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    import datasets

    datasets.disable_progress_bars()
    logging.getLogger("transformers_bat").setLevel(logging.ERROR)  # metadata-only folder: no bank to check, said once
    if args.measure:
        print(json.dumps(measure(args.measure, args.folder, args.cache_dir, args.batch_size)))
        return 0

    work = Path(tempfile.mkdtemp(prefix="bench_qa_reading_"))
    try:
        folder, cache_dir = work / "ssqa", str(work / "hf_cache")
        start = time.perf_counter()
        planned = write_records(folder, args.records)
        load_spatial_sound_qa(folder, "stage3", split="train", cache_dir=cache_dir)  # parquet -> Arrow cache, once
        arrow_mb = sum(f.stat().st_size for f in Path(cache_dir).rglob("*.arrow")) / 2**20
        print(
            f"{planned:,} records written and prepared as Arrow ({arrow_mb:.1f} MB) in "
            f"{time.perf_counter() - start:.1f} s (not counted)"
        )
        results = {}
        for way in ("dataset", "list"):  # in-process: the list last, so the Dataset cannot reuse its freed memory
            if args.in_process:
                results[way] = measure(way, str(folder), cache_dir, args.batch_size)
                gc.collect()
            else:
                results[way] = run_in_child(way, str(folder), cache_dir, args.batch_size)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    where = "one process, dataset then list" if args.in_process else "a fresh process each"
    print(
        f"stage3 train split, {results['list']['records']:,} records, shuffled, batch {args.batch_size}, "
        f"BatQACollator with stand-in renderer/processor, {where}"
    )
    header = (
        f"{'':24s}{'load s':>8s}{'copy s':>8s}{'1st batch s':>12s}{'pass rec/s':>12s}{'total rec/s':>12s}"
        f"{'+RSS MB':>10s}{'+anon MB':>10s}{'+file MB':>10s}"
    )
    print(header)
    for way, label in WAYS.items():
        r = results[way]
        print(
            f"{label:24s}{r['load_s']:8.2f}{r['copy_s']:8.2f}{r['first_batch_s']:12.2f}"
            f"{r['records'] / r['pass_s']:12,.0f}{r['records'] / r['total_s']:12,.0f}"
            f"{r['rss_mb']:10.1f}{r['anon_mb']:10.1f}{r['file_mb']:10.1f}"
        )
    before, after = results["list"], results["dataset"]

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b > 0 else "n/a"

    print(
        f"after / before: peak RSS growth {ratio(after['rss_mb'], before['rss_mb'])}, anonymous "
        f"{ratio(after['anon_mb'], before['anon_mb'])}; end-to-end throughput "
        f"{ratio(before['total_s'], after['total_s'])}, pass alone {ratio(before['pass_s'], after['pass_s'])}; "
        f"first batch after {after['first_batch_s']:.2f} s (before: {before['first_batch_s']:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
