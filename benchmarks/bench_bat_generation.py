"""Benchmark: BAT generation, batched vs one-by-one, and how often the audio encoder runs.

Targets of the issue: audio is encoded once per clip, not per generated token (counted with a forward hook on
Spatial-AST: calls and clips); batched generation at batch 8 is >= 3x faster than one-by-one on CPU with the tiny
config. Both runs generate exactly `--new-tokens` tokens per answer (min = max) so the work is identical.

    python benchmarks/bench_bat_generation.py [--config tiny|7b] [--batch-size 8] [--new-tokens 32] [--beams 1]

`--config 7b` builds the release shapes (Spatial-AST ViT-B, 8-layer Q-Former, LLaMA-2 7B) with random weights in
bfloat16 on `--device` (a GPU: about 15 GB); the tiny config uses the test parts (tests/models/bat/bat_tester.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from transformers_bat import BatConfig, BatForConditionalGeneration


class EncoderCounter:
    """Counts Spatial-AST forward calls and the clips they encode."""

    def __init__(self, model: BatForConditionalGeneration):
        self.calls = 0
        self.clips = 0
        self.language_model_calls = 0
        model.audio_tower.register_forward_hook(self._on_encoder)
        model.language_model.register_forward_hook(self._on_language_model)

    def _on_encoder(self, module, args, output) -> None:
        self.calls += 1
        self.clips += args[0].shape[0]

    def _on_language_model(self, module, args, output) -> None:
        self.language_model_calls += 1

    def reset(self) -> None:
        self.calls = self.clips = self.language_model_calls = 0


def tiny_inputs(batch_size: int, device: str):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "models" / "bat"))
    import bat_tester as bt

    model, processor = bt.build_bat("llama", seed=0)
    clips = [bt.binaural_clip(i) for i in range(batch_size)]
    questions = [bt.QUESTIONS[i % len(bt.QUESTIONS)] for i in range(batch_size)]
    batch = processor(audio=clips, text=questions, sampling_rate=bt.SAMPLING_RATE)
    singles = [processor(audio=c, text=q, sampling_rate=bt.SAMPLING_RATE) for c, q in zip(clips, questions)]
    return model.to(device), batch, singles


def release_config(vocab_size: int = 32001) -> BatConfig:
    """The release shapes: LLaMA-2's 32,000 tokens plus the audio placeholder (id 32000); a larger `vocab_size`
    pads the embedding matrix (e.g. to a multiple of 64)."""
    text_config = {"model_type": "llama", "vocab_size": vocab_size, "bos_token_id": 1, "eos_token_id": 2}
    return BatConfig(audio_token_id=32000, text_config=text_config)


def release_model(device: str, vocab_size: int = 32001) -> BatForConditionalGeneration:
    """Random bfloat16 weights in the release shapes, created on `device` (never a float32 copy on the host)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        torch.manual_seed(0)
        with torch.device(device):
            return BatForConditionalGeneration(release_config(vocab_size))
    finally:
        torch.set_default_dtype(previous)


def release_shaped_inputs(batch_size: int, device: str):
    """Random-weight model with the release shapes; inputs built directly (no tokenizer download)."""
    model = release_model(device)
    config = model.config
    generator = torch.Generator().manual_seed(0)
    prompt_lengths = [40 + 3 * i for i in range(batch_size)]
    width = config.num_query_tokens + max(prompt_lengths)
    input_ids = torch.full((batch_size, width), 2, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    for row, length in enumerate(prompt_lengths):
        ids = (
            [32000] * config.num_query_tokens
            + [1]
            + torch.randint(3, 32000, (length - 1,), generator=generator).tolist()
        )
        input_ids[row, width - len(ids) :] = torch.tensor(ids)
        attention_mask[row, width - len(ids) :] = 1
    features = torch.randn(batch_size, 4, 1024, 128, generator=generator)
    batch = {"input_ids": input_ids, "attention_mask": attention_mask, "input_features": features}
    singles = []
    for row in range(batch_size):
        keep = attention_mask[row].bool()
        singles.append(
            {
                "input_ids": input_ids[row : row + 1, keep],
                "attention_mask": attention_mask[row : row + 1, keep],
                "input_features": features[row : row + 1],
            }
        )
    return model, batch, singles


def to_device(inputs: dict, device: str, dtype: torch.dtype) -> dict:
    return {k: (v.to(device, dtype) if v.is_floating_point() else v.to(device)) for k, v in inputs.items()}


def timed_generate(model, inputs: dict, new_tokens: int, beams: int) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, num_beams=beams, do_sample=False)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=["tiny", "7b"], default="tiny")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--beams", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)

    build = tiny_inputs if args.config == "tiny" else release_shaped_inputs
    model, batch, singles = build(args.batch_size, args.device)
    model.eval()
    dtype = next(model.multi_modal_projector.parameters()).dtype
    batch = to_device(batch, args.device, dtype)
    singles = [to_device(s, args.device, dtype) for s in singles]
    counter = EncoderCounter(model)

    with torch.inference_mode():
        timed_generate(model, batch, 2, args.beams)  # warm-up
        counter.reset()
        timed_generate(model, batch, args.new_tokens, args.beams)
        batched_counts = (counter.calls, counter.clips, counter.language_model_calls)
        counter.reset()
        timed_generate(model, singles[0], args.new_tokens, args.beams)
        single_counts = (counter.calls, counter.clips, counter.language_model_calls)

        batched = min(timed_generate(model, batch, args.new_tokens, args.beams) for _ in range(args.repeats))
        one_by_one = min(
            sum(timed_generate(model, s, args.new_tokens, args.beams) for s in singles) for _ in range(args.repeats)
        )

    tokens = args.batch_size * args.new_tokens
    print(
        f"config={args.config} device={args.device} batch={args.batch_size} new_tokens={args.new_tokens} "
        f"beams={args.beams} threads={torch.get_num_threads()}"
    )
    print(
        f"encoder per generate() at batch {args.batch_size}: {batched_counts[0]} call(s), {batched_counts[1]} "
        f"clip(s) encoded, {batched_counts[2]} LM forward passes"
    )
    print(
        f"encoder per generate() for one clip: {single_counts[0]} call(s), {single_counts[1]} clip(s) encoded, "
        f"{single_counts[2]} LM forward passes"
    )
    print(f"batched:    {batched:.3f} s  ({tokens / batched:.1f} tokens/s)")
    print(f"one-by-one: {one_by_one:.3f} s  ({tokens / one_by_one:.1f} tokens/s)")
    print(f"speed-up batched / one-by-one: {one_by_one / batched:.2f}x")
    assert batched_counts[0] == 1 and batched_counts[1] == args.batch_size, batched_counts
    return 0


if __name__ == "__main__":
    sys.exit(main())
