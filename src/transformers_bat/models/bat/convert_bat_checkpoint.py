"""Convert the authors' released `BAT/model.pt` into a BAT checkpoint + a PEFT LoRA adapter.

The released file is a plain fp32 state dict of the trainable weights (73,561,600 parameters for the release):
- `encoder_projector.*`: `query` (1, 64, 768), `qformer.*` (a transformers `Blip2QFormerModel`), `linear.*` and
  `norm.*`. Our `BatMultiModalProjector` uses the same attribute names, so the mapping is "strip the prefix".
- the LoRA tensors of the LLaMA-2 layers. Assumption (the exact prefix is not documented): each LoRA key contains
  `layers.<N>.<self_attn|mlp>.<proj>.lora_<A|B>[.<adapter name>].weight`, with any prefix before `layers.` (e.g.
  `llm.base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight`). Keys are matched on that pattern
  and re-rooted under `language_model.model.layers.<N>`; the rank comes from the tensor shapes and the target
  modules from the keys. `lora_alpha` is not stored in the file: the release default (32) is used unless given.
Every other key is rejected with an error rather than silently dropped.

The result is a normal BAT checkpoint (Spatial-AST + projector + the unmodified LLaMA weights + processor) and, in
`<output>/adapter`, the LoRA adapter with the projector (`PeftModel.from_pretrained(bat, "<output>/adapter")`);
with `merge=True` the LoRA weights are merged into the saved LM instead.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch

from .modeling_bat import BatForConditionalGeneration
from .processing_bat import BatProcessor

PROJECTOR_PREFIX = "encoder_projector."
LORA_KEY = re.compile(
    r"(?:^|\.)layers\.(?P<layer>\d+)\.(?P<module>(?:self_attn|mlp)\.[A-Za-z0-9_]+)\.lora_(?P<ab>[AB])"
    r"(?:\.(?P<adapter>[A-Za-z0-9_]+))?\.weight$"
)
QFORMER_LAYER = re.compile(r"^qformer\.encoder\.layer\.(\d+)\.")
# Text-branch FFN of older Blip2QFormer versions: unused when only queries are fed, absent from today's module.
UNUSED_QFORMER_KEY = re.compile(r"^qformer\.encoder\.layer\.\d+\.(?:intermediate|output)\.(?:dense|LayerNorm)\.")


def load_release_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read `model.pt` with `weights_only=True` (never unpickles code); unwraps a `{"model": ...}` wrapper."""
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a state dict of tensors.")
    return state


def split_release_state_dict(state: dict[str, torch.Tensor]) -> tuple[dict, dict, list[str]]:
    """-> (projector state with our names, LoRA state keyed `layers.N.module.lora_X`, target module names)."""
    projector, lora, unknown = {}, {}, []
    for key, tensor in state.items():
        if PROJECTOR_PREFIX in key:
            name = key.split(PROJECTOR_PREFIX, 1)[1]
            if not UNUSED_QFORMER_KEY.match(name):
                projector[name] = tensor
            continue
        match = LORA_KEY.search(key)
        if match:
            lora[f"layers.{match['layer']}.{match['module']}.lora_{match['ab']}"] = tensor
            continue
        unknown.append(key)
    if unknown:
        preview = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise ValueError(f"{len(unknown)} keys are neither projector nor LoRA weights: {preview}")
    if "query" not in projector:
        raise ValueError("No encoder_projector.query in the checkpoint: not a BAT projector state dict.")
    modules = sorted({key.split(".")[-2] for key in lora})
    return projector, lora, modules


def projector_config_from_state(projector: dict[str, torch.Tensor], num_attention_heads: int | None = None) -> dict:
    """Q-Former shape read off the weights; the head count is not stored (default hidden / 64: 12 in the release)."""
    layers = sorted({int(m.group(1)) for key in projector if (m := QFORMER_LAYER.match(key))})
    cross = sorted({int(k.split(".")[3]) for k in projector if ".crossattention." in k})
    hidden = projector["query"].shape[-1]
    cross_key = projector[f"qformer.encoder.layer.{cross[0]}.crossattention.attention.key.weight"]
    return {
        "hidden_size": hidden,
        "num_hidden_layers": len(layers),
        "num_attention_heads": num_attention_heads or max(hidden // 64, 1),
        "intermediate_size": projector["qformer.encoder.layer.0.intermediate_query.dense.weight"].shape[0],
        "encoder_hidden_size": cross_key.shape[1],
        "cross_attention_frequency": cross[1] - cross[0] if len(cross) > 1 else max(len(layers), 1),
    }


def _load_feature_extractor(spatial_ast_dir: str | os.PathLike, audio_config):
    try:
        from .feature_extraction_spatial_ast import SpatialASTFeatureExtractor
    except ImportError:
        from transformers_bat.models.spatial_ast.feature_extraction_spatial_ast import SpatialASTFeatureExtractor
    path = Path(spatial_ast_dir) / "preprocessor_config.json"
    if path.is_file():
        settings = json.loads(path.read_text(encoding="utf-8"))
        settings.pop("feature_size", None)  # derived from num_mel_bins
        settings.pop("feature_extractor_type", None)
        return SpatialASTFeatureExtractor(**settings)
    return SpatialASTFeatureExtractor(num_frames=audio_config.num_frames, num_mel_bins=audio_config.num_mel_bins)


def convert_bat_checkpoint(
    checkpoint: str | os.PathLike,
    llama_dir: str | os.PathLike,
    spatial_ast_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    tokenizer_dir: str | os.PathLike | None = None,
    lora_alpha: float = 32,
    lora_dropout: float = 0.05,
    qformer_heads: int | None = None,
    merge: bool = False,
    dtype: torch.dtype | None = None,
) -> BatForConditionalGeneration:
    """Build BAT from a LLaMA-2 directory, a converted Spatial-AST directory and the authors' `model.pt`.

    Writes `output_dir` (model + processor) and, unless `merge`, `output_dir/adapter` (LoRA + projector).
    Returns the model as loaded for inference (the `PeftModel`'s base with the adapter active, or merged).
    """
    projector_state, lora_state, modules = split_release_state_dict(load_release_state_dict(checkpoint))
    projector_config = projector_config_from_state(projector_state, qformer_heads)
    model, tokenizer = BatForConditionalGeneration.from_parts(
        spatial_ast_dir,
        llama_dir,
        tokenizer_dir,
        projector_config=projector_config,
        num_query_tokens=projector_state["query"].shape[1],
        dtype=dtype,
    )
    missing, unexpected = model.multi_modal_projector.load_state_dict(projector_state, strict=False)
    if missing or unexpected:
        raise ValueError(f"Projector weights do not fit: missing {missing[:5]}, unexpected {unexpected[:5]}.")
    processor = BatProcessor(
        _load_feature_extractor(spatial_ast_dir, model.config.audio_config),
        tokenizer,
        audio_token=model.config.audio_token,
        num_query_tokens=model.config.num_query_tokens,
        prompt_template=model.config.prompt_template,
    )
    output_dir = Path(output_dir)
    if dtype is not None:
        model.to(dtype)  # the projector weights just loaded
    processor.save_pretrained(output_dir)
    if not lora_state:
        model.save_pretrained(output_dir)
        return model
    if not merge:
        model.save_pretrained(output_dir)

    from peft import set_peft_model_state_dict

    from .peft_bat import add_lora

    rank = next(t.shape[0] for k, t in lora_state.items() if k.endswith("lora_A"))
    peft_model = add_lora(model, r=rank, lora_alpha=lora_alpha, lora_dropout=lora_dropout, target_modules=modules)
    prefix = "base_model.model.language_model.model."
    peft_state = {f"{prefix}{key}.weight": tensor for key, tensor in lora_state.items()}
    expected = {k for k in peft_model.state_dict() if ".lora_" in k}
    expected = {re.sub(r"\.default\.weight$", ".weight", k) for k in expected}
    if set(peft_state) != expected:
        missing = sorted(expected - set(peft_state))[:5]
        extra = sorted(set(peft_state) - expected)[:5]
        raise ValueError(f"LoRA weights do not fit the language model: missing {missing}, unexpected {extra}.")
    # the projector is a `modules_to_save` module of the adapter: its copy is set from the same weights
    peft_state.update({f"base_model.model.multi_modal_projector.{k}": v for k, v in projector_state.items()})
    result = set_peft_model_state_dict(peft_model, peft_state)
    if getattr(result, "unexpected_keys", None):
        raise ValueError(f"Unexpected LoRA keys: {result.unexpected_keys[:5]}")
    if merge:
        merged = peft_model.merge_and_unload()
        merged.save_pretrained(output_dir)
        return merged
    peft_model.peft_config["default"].base_model_name_or_path = str(output_dir)
    peft_model.save_pretrained(output_dir / "adapter")
    return peft_model


__all__ = ["convert_bat_checkpoint", "load_release_state_dict", "split_release_state_dict"]
