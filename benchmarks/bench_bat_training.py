"""Benchmark: BAT fine-tuning throughput (samples/s) and peak memory, SDPA against eager attention.

One training step = forward + backward through the frozen Spatial-AST, the Q-Former and the LM with LoRA (the
release's adapter: r 8, alpha 32 on q_proj / v_proj, projector trained in full), then an AdamW step on the
trainable weights. The baseline is the same model with eager attention, timed in the same run; the ratio is what
SDPA buys. `--config 7b` builds the release shapes (Spatial-AST ViT-B, 8-layer Q-Former, LLaMA-2 7B) with random
weights in bfloat16 on a GPU (about 15 GB of weights); `--config tiny` is the test-sized model in float32 (CPU).

    python benchmarks/bench_bat_training.py [--config tiny|7b] [--device cuda] [--batch-size 4] [--steps 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from transformers_bat import BatConfig, BatForConditionalGeneration
from transformers_bat.models.bat.peft_bat import add_lora


def build(config_name: str, device: str, vocab_size: int = 32001) -> BatForConditionalGeneration:
    """The release shapes in bfloat16 (`7b`) or the test-sized model in float32 (`tiny`), on `device`."""
    if config_name == "7b":
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_bat_generation import release_model

        return release_model(device, vocab_size)
    sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "models" / "bat"))
    import bat_tester as bt

    model, _ = bt.build_bat("llama", seed=0)
    return model.to(device)


def training_batch(config: BatConfig, batch_size: int, answer_tokens: int, feature_shape, device, dtype):
    """Audio placeholders, a BOS, a ~60-token instruction and an answer that carries the loss."""
    generator = torch.Generator().manual_seed(0)
    vocab = config.text_config.vocab_size
    prompt = 60
    ids = torch.randint(3, vocab - 1, (batch_size, prompt + answer_tokens), generator=generator)
    ids[:, 0] = config.text_config.bos_token_id or 1
    audio = torch.full((batch_size, config.num_query_tokens), config.audio_token_id)
    input_ids = torch.cat([audio, ids], dim=1)
    labels = torch.full_like(input_ids, -100)
    labels[:, -answer_tokens:] = input_ids[:, -answer_tokens:]
    features = torch.randn(batch_size, *feature_shape, generator=generator)
    return {
        "input_ids": input_ids.to(device),
        "attention_mask": torch.ones_like(input_ids).to(device),
        "labels": labels.to(device),
        "input_features": features.to(device, dtype),
    }


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed_training(model, batch: dict, steps: int, device: str) -> tuple[float, float]:
    """(samples/s, peak GiB) of `steps` LoRA steps after two warm-up steps."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-4)
    model.train()

    def step():
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    for _ in range(2):
        step()
    synchronize(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    synchronize(device)
    elapsed = time.perf_counter() - start
    if not torch.isfinite(loss):
        raise RuntimeError(f"non-finite training loss {loss.item()}")
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else float("nan")
    return steps * batch["input_ids"].shape[0] / elapsed, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", choices=["tiny", "7b"], default="tiny")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--answer-tokens", type=int, default=32)
    parser.add_argument("--vocab-size", type=int, default=32001, help="7b: 32001 as released; 32064 pads to 64")
    args = parser.parse_args(argv)
    model = build(args.config, args.device, args.vocab_size)
    dtype = model.dtype
    audio = model.config.audio_config
    feature_shape = (4, audio.num_frames, audio.num_mel_bins)  # left/right log-mel, cos/sin IPD
    batch = training_batch(model.config, args.batch_size, args.answer_tokens, feature_shape, args.device, dtype)
    model = add_lora(model)
    results = {}
    for implementation in ("eager", "sdpa"):  # eager first: the baseline
        model.set_attn_implementation(implementation)
        results[implementation] = timed_training(model, batch, args.steps, args.device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    base = results["eager"][0]
    print(
        f"BAT LoRA training, {args.config} config, {dtype}, batch {args.batch_size} "
        f"({model.config.num_query_tokens} audio + {60 + args.answer_tokens} text tokens), {args.device}; "
        f"{trainable / 1e6:.1f} M trainable parameters"
    )
    for name, (speed, peak) in results.items():
        label = "eager (baseline)" if name == "eager" else name
        print(f"  {label:18s} {speed:8.2f} samples/s   x{speed / base:.2f}   peak {peak:.2f} GiB")
    print(json.dumps({k: {"samples_per_s": round(v[0], 2), "peak_gib": round(v[1], 2)} for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
