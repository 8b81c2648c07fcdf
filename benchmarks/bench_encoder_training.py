"""Benchmark: Spatial-AST training throughput (samples/s) with the demo's small config, rendered on read.

Three figures from the same run, same examples, same model:
- ``windowed``: the collator as shipped (the loudest 1 s window of the dry source is chosen, and only that window
  is convolved with its RIR, `spatialize_window`);
- ``full clip`` (baseline): the whole 10 s scene is convolved, then the window is cropped (the previous path);
- ``step only``: the optimiser step on features rendered beforehand (the ceiling rendering on read can reach);
- ``windowed, N workers`` (CPU): the demo's set-up, N DataLoader workers render while the main process trains
  with the cores they leave (``demo.threads_beside_workers``);
- ``rendered on <device>`` (GPU runs only): the collator with ``device=`` convolving and featurising the whole batch
  on the GPU in the main process (its features are checked against the CPU rendering first).
Ratios are against the baseline. On a GPU (``--device cuda``) the paper-size config in bf16 can be timed with
``--paper``; the synthetic clips and RIRs need no downloads.

    python benchmarks/bench_encoder_training.py [--steps 20] [--batch-size 32] [--device cpu] [--paper]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from transformers_bat.demo import CachedCatalogue, threads_beside_workers
from transformers_bat.models.spatial_ast import (
    SpatialASTConfig,
    SpatialASTFeatureExtractor,
    SpatialASTForSpatialAudioClassification,
)
from transformers_bat.simulation import ProceduralCatalogue
from transformers_bat.simulation.spatialize import spatialize
from transformers_bat.training import SpatialAudioCollator, examples_from_bank
from transformers_bat.training.encoder_data import loudest_window


class SyntheticBank:
    """Decaying-noise binaural RIRs (1 s) with labels: enough to time rendering without pyroomacoustics."""

    def __init__(self, num_rirs: int = 64, seed: int = 0):
        from transformers_bat.simulation import RIRInfo

        rng = np.random.default_rng(seed)
        decay = np.exp(-np.arange(32000) / 2400.0)
        self.infos, self.rirs = {}, {}
        for k in range(num_rirs):
            azimuth, elevation, distance = rng.uniform(0, 360), rng.uniform(-40, 40), rng.uniform(0.5, 5)
            reverb_id = f"synthetic/{k}.npy"
            self.infos[reverb_id] = RIRInfo(
                reverb_id=reverb_id, room_id="room0", azimuth_deg=azimuth, elevation_deg=elevation,
                distance_m=distance, source_position=(0.0, 0.0, 0.0), listener_position=(0.0, 0.0, 0.0),
                heading_deg=0.0, rt60_s=0.3,
            )  # fmt: skip
            self.rirs[reverb_id] = (rng.standard_normal((2, 32000)) * decay).astype(np.float32)
        self.ids = list(self.infos)

    def info(self, reverb_id):
        return self.infos[reverb_id]

    def load(self, reverb_id):
        return self.rirs[reverb_id]


class FullClipCollator(SpatialAudioCollator):
    """Baseline: convolve the whole scene, then crop the loudest window of the wet signal."""

    def render(self, examples):
        rng = np.random.default_rng(self.seed)
        sources = torch.stack([self.renderer.dry_source(example.audio_id) for example in examples])
        events = self._event_targets([(example,) for example in examples])
        rirs = torch.stack([torch.from_numpy(self.rir_bank.load(e.reverb_id)) for e in examples])
        waveforms = spatialize(sources, rirs)
        crop = self.feature_extractor.num_samples
        candidates = rng.integers(0, waveforms.shape[-1] - crop + 1, (len(examples), self.window_candidates))
        starts = [loudest_window(w, row, crop) for w, row in zip(waveforms, candidates)]
        return torch.stack([w[:, s : s + crop] for w, s in zip(waveforms, starts)]), events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--paper", action="store_true", help="paper-size model and 10 s features (GPU)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the CPU run (0: skip it)")
    args = parser.parse_args()
    torch.manual_seed(0)
    catalogue = CachedCatalogue(ProceduralCatalogue(clips_per_class=4, seed=0))
    bank = SyntheticBank()
    label2id = {name: i for i, name in enumerate(catalogue.class_names)}
    if args.paper:
        config = SpatialASTConfig(id2label=dict(enumerate(catalogue.class_names)))
        extractor = SpatialASTFeatureExtractor()
    else:  # the demo's encoder
        config = SpatialASTConfig(
            hidden_size=128, num_hidden_layers=4, num_attention_heads=4, intermediate_size=512, num_frames=96,
            num_mel_bins=64, id2label=dict(enumerate(catalogue.class_names)), normalize_ipd_channels=True,
            fusion_channels=16, event_loss_weight=10.0, spec_augment_freq_mask=0, spec_augment_time_mask=0,
            patch_drop_time_ratio=0.0, patch_drop_freq_ratio=0.0, drop_path_rate=0.0,
        )  # fmt: skip
        extractor = SpatialASTFeatureExtractor(max_length_s=1.0, num_frames=96, num_mel_bins=64)
    dtype = torch.bfloat16 if args.device.startswith("cuda") else torch.float32
    model = SpatialASTForSpatialAudioClassification(config).to(args.device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    examples = examples_from_bank(catalogue, bank, args.steps * args.batch_size, seed=0)
    batches = [examples[i : i + args.batch_size] for i in range(0, len(examples), args.batch_size)]
    for example in examples:  # synthesis of the procedural sounds is not what is timed
        catalogue.load(example.audio_id)

    def step(batch):
        batch = {k: v.to(args.device) for k, v in batch.items()}
        with torch.autocast(args.device.split(":")[0], dtype=dtype, enabled=dtype != torch.float32):
            loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def timed(collator) -> float:
        step(collator(batches[0]))  # warm-up (caches, allocator)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        for batch in batches:
            step(collator(batch))
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return len(examples) / (time.perf_counter() - start)

    kwargs = dict(mixup_probability=0.0, direction_sigma_deg=10.0, seed=0, cache_size=len(examples))
    windowed = SpatialAudioCollator(catalogue, bank, extractor, label2id, **kwargs)
    full = FullClipCollator(catalogue, bank, extractor, label2id, **kwargs)
    prepared = [windowed(batch) for batch in batches]
    lookup = {id(batch): features for batch, features in zip(batches, prepared)}
    results = {"full clip (baseline)": timed(full), "windowed": timed(windowed)}
    results["step only"] = timed(lambda batch: lookup[id(batch)])
    names = ["full clip (baseline)", "windowed", "step only"]
    if args.device == "cpu" and args.workers:
        name = f"windowed, {args.workers} workers"  # the demo's set-up: workers render, the main process trains
        with threads_beside_workers(args.workers):
            loader = torch.utils.data.DataLoader(
                batches, batch_size=None, collate_fn=windowed, num_workers=args.workers, persistent_workers=True
            )
            next(iter(loader))  # workers started and warm, as after the first steps of an epoch
            start = time.perf_counter()
            for batch in loader:
                step(batch)
            results[name] = len(examples) / (time.perf_counter() - start)
        names.append(name)
    if args.device != "cpu":
        on_device = SpatialAudioCollator(catalogue, bank, extractor, label2id, device=args.device, **kwargs)
        check = SpatialAudioCollator(catalogue, bank, extractor, label2id, **kwargs)
        difference = (on_device(batches[0])["input_features"].cpu() - check(batches[0])["input_features"]).abs()
        # float32 FFT rounding differs between the two (as between float32 and float64 on the CPU): near-silent
        # bins (~-100 dB) move by tens of dB, audible ones by far less; the median is the typical bin
        print(
            f"features rendered on {args.device} vs CPU: |difference| max {difference.max().item():.2e}, "
            f"median {difference.median().item():.2e} (dB / IPD)"
        )
        on_device = SpatialAudioCollator(catalogue, bank, extractor, label2id, device=args.device, **kwargs)
        names.append(f"rendered on {args.device}")
        results[names[-1]] = timed(on_device)
    if args.device.startswith("cuda"):
        results["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    base = results["full clip (baseline)"]
    print(f"Spatial-AST training, {'paper' if args.paper else 'demo'} config, batch {args.batch_size}, {args.device}")
    for name in names:
        print(f"  {name:22s} {results[name]:8.1f} samples/s   x{results[name] / base:.2f}")
    print(json.dumps({k: round(v, 2) for k, v in results.items()}))


if __name__ == "__main__":
    main()
