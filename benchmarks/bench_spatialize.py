"""Throughput of on-the-fly spatialisation: our batched ``spatialize`` vs per-clip scipy loops.

Both convolve 10 s sources (320,000 samples at 32 kHz) with binaural RIRs padded/cropped to 64,000 samples and
keep the first 320,000 output samples, as the release does. The methods are timed in interleaved rounds (best
round counts) so that load from other processes hits them alike; clips/s and ratios come from one run.

    python benchmarks/bench_spatialize.py [--clips 32] [--batch-size 16] [--rounds 5]

The two-process rows run one single-threaded process per core, as DataLoader workers do (start-up untimed).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.signal
import torch

from transformers_bat.simulation.spatialize import NUM_SAMPLES, RIR_LENGTH, spatialize


def make_inputs(num_clips: int, rir_seconds: float, seed: int = 0):
    """Noise sources at -14 dBFS and exponentially decaying binaural RIRs of the given length."""
    rng = np.random.default_rng(seed)
    sources = (rng.standard_normal((num_clips, NUM_SAMPLES)) * 10 ** (-14 / 20)).astype(np.float32)
    length = int(rir_seconds * 32000)
    decay = np.exp(-np.arange(length) / (0.08 * 32000))
    rirs = (rng.standard_normal((num_clips, 2, length)) * decay).astype(np.float32)
    return sources, rirs


def scipy_loop(sources: np.ndarray, rirs: np.ndarray, dtype) -> None:
    """The straightforward way: one fftconvolve per clip (both ears at once), then truncate."""
    for source, rir in zip(sources, rirs):
        padded = np.zeros((2, RIR_LENGTH), dtype=dtype)
        padded[:, : min(RIR_LENGTH, rir.shape[1])] = rir[:, :RIR_LENGTH]
        scipy.signal.fftconvolve(source.astype(dtype)[None], padded, mode="full", axes=-1)[:, :NUM_SAMPLES]


def scipy_loop_per_ear(sources: np.ndarray, rirs: np.ndarray) -> None:
    """Even more straightforward: one 1-D fftconvolve per ear (the source spectrum is computed twice)."""
    for source, rir in zip(sources, rirs):
        padded = np.zeros((2, RIR_LENGTH), dtype=np.float32)
        padded[:, : min(RIR_LENGTH, rir.shape[1])] = rir[:, :RIR_LENGTH]
        np.stack([scipy.signal.fftconvolve(source, padded[ear])[:NUM_SAMPLES] for ear in range(2)])


def torch_batched(sources: np.ndarray, rirs: np.ndarray, batch_size: int, threads: int) -> None:
    for begin in range(0, len(sources), batch_size):
        batch = torch.from_numpy(sources[begin : begin + batch_size])
        spatialize(batch, torch.from_numpy(rirs[begin : begin + batch_size]), cpu_threads=threads)


_LOCAL: dict = {}


def _worker_setup(num_clips: int, seed: int) -> None:
    """Each process makes its own inputs, as a DataLoader worker reads its own clips and RIRs."""
    torch.set_num_threads(1)
    _LOCAL["inputs"] = make_inputs(num_clips, rir_seconds=2.0, seed=seed)


def _worker_run(method: str) -> None:
    sources, rirs = _LOCAL["inputs"]
    if method == "spatialize":
        torch_batched(sources, rirs, 16, 1)
    else:
        scipy_loop(sources, rirs, np.float32)


def torch_fft_path(sources: np.ndarray, rirs: np.ndarray, batch_size: int) -> None:
    """The torch.fft code path (what runs on a GPU), timed on the CPU for comparison."""
    from transformers_bat.simulation.spatialize import _convolve_torch, _fast_fft_length

    torch.set_num_threads(2)
    fft_length = _fast_fft_length(NUM_SAMPLES + RIR_LENGTH - 1)
    for begin in range(0, len(sources), batch_size):
        batch = torch.from_numpy(sources[begin : begin + batch_size])
        _convolve_torch(batch, torch.from_numpy(rirs[begin : begin + batch_size]), fft_length, 8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds; the best one counts")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    sources, rirs = make_inputs(args.clips, rir_seconds=2.0)
    short_sources, short_rirs = make_inputs(args.clips, rir_seconds=0.6, seed=1)
    check = spatialize(torch.from_numpy(sources[:2]), torch.from_numpy(rirs[:2]))[1].numpy()
    reference = scipy.signal.fftconvolve(sources[1][None].astype(np.float64), rirs[1].astype(np.float64), axes=-1)
    print(f"max |torch - scipy float64| = {np.abs(check - reference[:, :NUM_SAMPLES]).max():.2e}")
    methods = {
        "scipy fftconvolve loop, float32": lambda: scipy_loop(sources, rirs, np.float32),
        "scipy fftconvolve loop, float64": lambda: scipy_loop(sources, rirs, np.float64),
        "scipy fftconvolve per ear, float32": lambda: scipy_loop_per_ear(sources, rirs),
        "spatialize batched, 2 threads": lambda: torch_batched(sources, rirs, args.batch_size, 2),
        "spatialize batched, 1 thread": lambda: torch_batched(sources, rirs, args.batch_size, 1),
        "spatialize's torch.fft path, 2 threads": lambda: torch_fft_path(sources, rirs, args.batch_size),
        "0.6 s RIRs: scipy loop, float32": lambda: scipy_loop(short_sources, short_rirs, np.float32),
        "0.6 s RIRs: spatialize batched, 2 threads": lambda: torch_batched(
            short_sources, short_rirs, args.batch_size, 2
        ),
    }
    import multiprocessing

    half = args.clips // 2
    contexts = multiprocessing.get_context("spawn")
    pools = [contexts.Pool(1, _worker_setup, (half, seed)) for seed in (2, 3)]

    def both(method: str) -> None:  # one task in each single-process pool, run concurrently
        waiting = [pool.apply_async(_worker_run, (method,)) for pool in pools]
        for result in waiting:
            result.get()

    both("spatialize")  # start-up and warm-up, not timed
    methods["2 processes: spatialize batched, 1 thread each"] = lambda: both("spatialize")
    methods["2 processes: scipy fftconvolve loop, float32"] = lambda: both("scipy")
    best = dict.fromkeys(methods, float("inf"))
    for _ in range(args.rounds):
        for name, run in methods.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    for pool in pools:
        pool.close()
        pool.join()
    rate = {name: args.clips / seconds for name, seconds in best.items()}
    for name in methods:
        print(f"{name:40s} {rate[name]:7.1f} clips/s")
    baseline = "scipy fftconvolve loop, float32"
    for name in ("spatialize batched, 2 threads", "spatialize batched, 1 thread"):
        print(f"ratio {name} / {baseline}: {rate[name] / rate[baseline]:.2f}x")
    per_ear = rate["spatialize batched, 2 threads"] / rate["scipy fftconvolve per ear, float32"]
    print(f"ratio spatialize batched, 2 threads / scipy fftconvolve per ear, float32: {per_ear:.2f}x")
    print(
        f"ratio spatialize batched, 2 threads / scipy loop, float64: "
        f"{rate['spatialize batched, 2 threads'] / rate['scipy fftconvolve loop, float64']:.2f}x"
    )
    two = rate["2 processes: spatialize batched, 1 thread each"]
    print(f"ratio 2 processes spatialize / scipy fftconvolve loop, float32 (1 process): {two / rate[baseline]:.2f}x")
    two_baseline = rate["2 processes: scipy fftconvolve loop, float32"]
    print(f"ratio 2 processes spatialize / 2 processes scipy loop: {two / two_baseline:.2f}x")
    short_ratio = rate["0.6 s RIRs: spatialize batched, 2 threads"] / rate["0.6 s RIRs: scipy loop, float32"]
    print(f"ratio with 0.6 s RIRs: {short_ratio:.2f}x")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
