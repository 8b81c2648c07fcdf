"""Tiny, offline BAT parts for tests and benchmarks: a byte-level BPE tokenizer trained on a few sentences, tiny
Spatial-AST / Q-Former / causal-LM configs, and binaural test clips."""

from __future__ import annotations

import numpy as np
import torch
from transformers import (
    AutoModelForCausalLM,
    GPT2Config,
    LlamaConfig,
    MistralConfig,
    PreTrainedTokenizerFast,
    Qwen2Config,
)

from transformers_bat import BatForConditionalGeneration, BatProcessor, SpatialASTConfig, SpatialASTModel
from transformers_bat.models.bat import BAT_PROMPT_TEMPLATE
from transformers_bat.models.spatial_ast import SpatialASTFeatureExtractor
from transformers_bat.training.qa_tokenizer import train_qa_tokenizer

SAMPLING_RATE = 32000
NUM_QUERIES = 4
ANSWERS = ["left, front, below; 2.5m", "right, behind, above; 1m", "Yes", "No", "car; music", "speech", "3.5m"]
QUESTIONS = [
    "Where is the sound coming from?",
    "Identify the sound events in the audio clip.",
    "Is the car on the left of the dog?",
    "How far apart are the two sounds?",
]


def build_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level BPE (exact decode round trip) trained offline on the prompt, questions and answers."""
    corpus = [BAT_PROMPT_TEMPLATE.replace("{instruction}", q) for q in QUESTIONS] + ANSWERS * 3
    return train_qa_tokenizer(corpus, vocab_size=300)


def audio_config() -> SpatialASTConfig:
    return SpatialASTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_frames=64,
        num_mel_bins=32,
        patch_size=16,
    )


PROJECTOR_CONFIG = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "num_hidden_layers": 2}


def text_config(family: str, vocab_size: int, bos: int, eos: int):
    common = {"vocab_size": vocab_size, "bos_token_id": bos, "eos_token_id": eos}
    if family == "gpt2":
        return GPT2Config(n_embd=32, n_layer=2, n_head=2, n_positions=256, **common)
    config_class = {"llama": LlamaConfig, "mistral": MistralConfig, "qwen2": Qwen2Config}[family]
    return config_class(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
        **common,
    )


def feature_extractor() -> SpatialASTFeatureExtractor:
    return SpatialASTFeatureExtractor(max_length_s=1.0, num_frames=64, num_mel_bins=32)


def build_bat(family: str = "llama", seed: int = 0, **config_kwargs):
    """(model, processor) with random weights, assembled with `from_parts` (adds the audio token, resizes)."""
    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    encoder = SpatialASTModel(audio_config()).eval()
    lm = AutoModelForCausalLM.from_config(
        text_config(family, len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id)
    )
    model, tokenizer = BatForConditionalGeneration.from_parts(
        encoder, lm, tokenizer, projector_config=dict(PROJECTOR_CONFIG), num_query_tokens=NUM_QUERIES, **config_kwargs
    )
    processor = BatProcessor.from_config(model.config, tokenizer, max_length_s=1.0)
    return model.eval(), processor


def binaural_clip(seed: int, seconds: float = 0.5, rate: int = SAMPLING_RATE) -> np.ndarray:
    """A (2, samples) float32 clip: a tone with an interaural delay and level difference (seeded)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    frequency = rng.uniform(200, 2000)
    delay = rng.uniform(-5e-4, 5e-4)
    left = np.sin(2 * np.pi * frequency * t) + 0.05 * rng.standard_normal(t.shape)
    right = rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * frequency * (t - delay))
    return (0.3 * np.stack([left, right])).astype(np.float32)
