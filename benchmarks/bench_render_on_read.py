"""Benchmark: rendering SpatialSoundQA records on read, in DataLoader workers vs in the main process.

Target of the issue: >= 50 clips/s on 2 cores. Both figures are measured in the same run on the same records
(10 s binaural clips, 1 s RIRs, half of them two-source mixtures); the ratio is workers / main process.
Sources are 32 kHz wav files (like the release's AudioSet clips), written once from the built-in procedural
bank before timing, so the figures measure reading + rendering, not sound synthesis.

    python benchmarks/bench_render_on_read.py [--records 256] [--num-workers 2] [--batch-size 8] [--features]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from transformers_bat.data import (
    GenerationRequest,
    ScenePool,
    SceneRenderer,
    parse_per_type,
    split_scene_pool,
    write_dataset,
)


def write_rir_folder(root: Path, num_rooms: int = 4, per_room: int = 32, length: int = 32_000, seed: int = 0):
    """Authors-layout RIR folder: decaying-noise binaural RIRs of ``length`` samples covering all octants."""
    rng = np.random.default_rng(seed)
    data = []
    decay = np.exp(-np.arange(length) / (0.08 * 32_000))
    for room in range(num_rooms):
        for k in range(per_room):
            octant = k % 8
            base = {0: 0.0, 2: 270.0, 4: 90.0, 6: 180.0}[octant & 6]
            azimuth = np.radians(base + rng.uniform(10, 80))
            elevation = np.radians(rng.uniform(10, 60) * (-1 if octant & 1 else 1))
            distance = rng.uniform(1.0, 6.0)
            offset = distance * np.array(
                [np.cos(elevation) * np.cos(azimuth), np.sin(elevation), -np.cos(elevation) * np.sin(azimuth)]
            )
            fname = f"room{room:02d}/{k}.npy"
            (root / "binaural" / fname).parent.mkdir(parents=True, exist_ok=True)
            np.save(root / "binaural" / fname, rng.standard_normal((2, length)) * decay * 0.05)
            data.append(
                {
                    "fname": fname,
                    "sensor_position": "0,1.5,0",
                    "source_position": ",".join(map(str, offset + [0, 1.5, 0])),
                    "agent_position": "0,0,0",
                }
            )
    (root / "train_reverberation.json").write_text(json.dumps({"data": data}))


def rate(loader, count: int) -> float:
    start = time.perf_counter()
    seen = sum(batch["waveforms"].shape[0] for batch in loader)
    assert seen == count
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=256)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--features", action="store_true", help="also compute Spatial-AST features")
    args = parser.parse_args()

    import soundfile as sf

    from transformers_bat.simulation import FolderCatalogue, ProceduralCatalogue
    from transformers_bat.simulation.rir_bank import RIRBank

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="bench_render_"))
    write_rir_folder(work / "mp3d_reverb")
    bank = RIRBank.open(work / "mp3d_reverb")
    procedural = ProceduralCatalogue(clips_per_class=4, seed=0)
    for clip_id in procedural.ids:
        audio, sample_rate = procedural.load(clip_id)
        _, slug, k = clip_id.split("/")
        (work / "clips" / slug).mkdir(parents=True, exist_ok=True)
        sf.write(work / "clips" / slug / f"{k}.wav", audio, sample_rate, subtype="PCM_16")
    catalogue = FolderCatalogue(work / "clips")
    pools = split_scene_pool(ScenePool.from_sources(bank, catalogue), test_fraction=0.25, seed=0)
    per_type = parse_per_type(f"A={args.records // 2},MIXUP_SINGLE_DOA={args.records - args.records // 2}")
    write_dataset(work / "ssqa", pools, GenerationRequest({"train": per_type}, seed=0))
    import datasets

    records = datasets.load_dataset(str(work / "ssqa"), "stage2", split="train").to_list()
    features = None
    if args.features:
        from transformers_bat import SpatialASTFeatureExtractor

        features = SpatialASTFeatureExtractor()
    renderer = SceneRenderer(work / "mp3d_reverb", catalogue, features=features)
    renderer.collate(records[:2])  # warm-up (imports, FFT plans)

    def loader(num_workers):
        return torch.utils.data.DataLoader(
            records, batch_size=args.batch_size, num_workers=num_workers, collate_fn=renderer.collate
        )

    main_rate = rate(loader(0), len(records))
    worker_rate = rate(loader(args.num_workers), len(records))
    what = "waveforms + Spatial-AST features" if args.features else "waveforms"
    print(f"{len(records)} records ({what}, 10 s, half two-source), batch {args.batch_size}")
    print(f"main process:           {main_rate:6.1f} clips/s")
    print(
        f"{args.num_workers} DataLoader workers:   {worker_rate:6.1f} clips/s  (ratio {worker_rate / main_rate:.2f}x)"
    )
    print(f"target >= 50 clips/s: {'met' if worker_rate >= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
