"""Spatial-AST speed against the plain reference, measured in the same run (ratios, not absolute times).

1. Feature extraction: our SpatialASTFeatureExtractor vs the release-style DFT-by-convolution front end
   (float32, as the release runs it). Accuracy is reported against the exact (float64) front end for both.
2. Encoder forward at the paper size, batch 4, eval: our model with SDPA vs the plain explicit-attention forward
   on the same weights.
3. With --device cuda (when a GPU is present): bf16 encoder throughput.

Timings interleave the two contenders and keep the best of N repetitions, which is robust to a busy machine.

    python benchmarks/bench_spatial_ast.py [--batch 8] [--encoder-batch 4] [--repeats 5] [--device cuda]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.models.spatial_ast.plain_reference import (  # noqa: E402
    binaural_test_signal,
    dft_tables,
    make_authors_state,
    plain_encoder,
    plain_features,
    slaney_mel_matrix,
)
from transformers_bat import SpatialASTConfig, SpatialASTFeatureExtractor, SpatialASTModel  # noqa: E402
from transformers_bat.models.spatial_ast.convert_spatial_ast_checkpoint import rename_state  # noqa: E402


def best_of(functions: dict, repeats: int) -> dict[str, float]:
    """Best wall time of each function, calls interleaved so that load hits all contenders alike."""
    for function in functions.values():
        function()  # warm-up
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


@torch.no_grad()
def bench_features(batch: int, repeats: int) -> None:
    extractor = SpatialASTFeatureExtractor()
    waveform = binaural_test_signal(batch=batch)
    real, imag = dft_tables()
    tables32 = [torch.from_numpy(t).float() for t in (real, imag, slaney_mel_matrix())]
    tables64 = [torch.from_numpy(t) for t in (real, imag, slaney_mel_matrix())]
    times = best_of(
        {
            "ours": lambda: extractor(waveform, sampling_rate=32000, return_tensors="pt"),
            "plain": lambda: plain_features(waveform, *tables32),
        },
        repeats,
    )
    ours = extractor(waveform, sampling_rate=32000, return_tensors="pt")["input_features"].double()
    plain32 = plain_features(waveform, *tables32).double()
    exact = plain_features(waveform.double(), *tables64)
    print(f"features, batch {batch} x 10 s binaural clips")
    print(f"  ours  {times['ours'] * 1000:8.1f} ms  ({batch / times['ours']:6.1f} clips/s)")
    print(f"  plain {times['plain'] * 1000:8.1f} ms  ({batch / times['plain']:6.1f} clips/s)  DFT-by-convolution")
    print(f"  speed-up: {times['plain'] / times['ours']:.2f}x")
    print(f"  max |ours - plain float32| = {(ours - plain32).abs().max():.2e}")
    print(f"  max |ours - exact float64| = {(ours - exact).abs().max():.2e}")
    print(f"  max |plain float32 - exact| = {(plain32 - exact).abs().max():.2e}")


@torch.no_grad()
def bench_encoder(batch: int, repeats: int) -> None:
    state = make_authors_state(hidden_size=768, num_layers=12, intermediate_size=3072, seed=0, weight_std=0.02)
    config = SpatialASTConfig()
    model = SpatialASTModel(config).eval()
    encoder_state = {
        key.removeprefix("spatial_ast."): value
        for key, value in rename_state(state).items()
        if key.startswith("spatial_ast.")
    }
    model.load_state_dict(encoder_state)
    features = torch.randn(batch, 4, 1024, 128, generator=torch.Generator().manual_seed(0))
    times = best_of(
        {"ours": lambda: model(features), "plain": lambda: plain_encoder(features, state, num_heads=12)}, repeats
    )
    ours, plain = model(features).last_hidden_state, plain_encoder(features, state, num_heads=12)
    difference = (ours - plain).abs().max() / plain.abs().max()
    print(f"encoder forward (paper size), batch {batch}, float32 CPU")
    print(f"  ours (SDPA)       {times['ours'] * 1000:8.1f} ms  ({batch / times['ours']:5.2f} clips/s)")
    print(f"  plain (explicit)  {times['plain'] * 1000:8.1f} ms  ({batch / times['plain']:5.2f} clips/s)")
    print(f"  speed-up: {times['plain'] / times['ours']:.2f}x   max |difference| / max |output| = {difference:.2e}")


@torch.no_grad()
def bench_gpu(batch: int, repeats: int, device: str) -> None:
    model = SpatialASTModel(SpatialASTConfig()).eval().to(device)
    features = torch.randn(batch, 4, 1024, 128, device=device)
    results = {}
    for dtype in (torch.float32, torch.bfloat16):
        model.to(dtype)
        x = features.to(dtype)

        def step(x=x):
            model(x)
            torch.cuda.synchronize()

        results[str(dtype)] = best_of({"run": step}, repeats)["run"]
    torch.cuda.reset_peak_memory_stats()
    model(features.to(torch.bfloat16))
    memory = torch.cuda.max_memory_allocated() / 2**30
    print(f"encoder forward on {torch.cuda.get_device_name()}, batch {batch}")
    for name, seconds in results.items():
        print(f"  {name:15s} {seconds * 1000:7.1f} ms  ({batch / seconds:7.1f} clips/s)")
    print(
        f"  bf16 speed-up over fp32: {results['torch.float32'] / results['torch.bfloat16']:.2f}x, "
        f"peak memory {memory:.2f} GiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--encoder-batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-encoder", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    bench_features(args.batch, args.repeats)
    if not args.skip_encoder:
        bench_encoder(args.encoder_batch, max(2, args.repeats // 2))
    if args.device.startswith("cuda") and torch.cuda.is_available():
        bench_gpu(64, args.repeats, args.device)


if __name__ == "__main__":
    main()
