"""Convert the authors' released `BAT/model.pt` into a BAT checkpoint + a PEFT LoRA adapter.

The released file is a plain fp32 state dict of the trainable weights (73,561,600 parameters for the release):
- `encoder_projector.*`: `query` (1, 64, 768), `qformer.*` (a transformers `Blip2QFormerModel`), `linear.*` and
  `norm.*`. Our `BatMultiModalProjector` uses the same attribute names, so the mapping is "strip the prefix".
- the LoRA tensors of the LLaMA-2 layers. Assumption (the exact prefix is not documented): each LoRA key contains
  `layers.<N>.<self_attn|mlp>.<proj>.lora_<A|B>[.<adapter name>].weight`, with any prefix before `layers.` (e.g.
  `llm.base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight`). Keys are matched on that pattern
  and re-rooted under `language_model.model.layers.<N>`; the rank comes from the tensor shapes and the target
  modules from the keys. `lora_alpha` is not stored in the file: the release default (32) is used unless given.
Every other key is rejected with an error rather than silently dropped. Like the Spatial-AST converter, this one
raises [`CheckpointConversionError`] naming the tensors and the file for NaN / inf weights, missing tensors and
weights that do not fit the model, before the language model is loaded wherever the file alone shows the problem.

The result is a normal BAT checkpoint (Spatial-AST + projector + the unmodified LLaMA weights + processor) and, in
`<output>/adapter`, the LoRA adapter with the projector (`PeftModel.from_pretrained(bat, "<output>/adapter")`);
with `merge=True` the LoRA weights are merged into the saved LM instead.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path

import torch

from ..spatial_ast.convert_spatial_ast_checkpoint import (
    CheckpointConversionError,
    check_finite,
    load_strictly,
    preview,
)
from .modeling_bat import BatForConditionalGeneration
from .processing_bat import BatProcessor

PROJECTOR_PREFIX = "encoder_projector."
LORA_KEY = re.compile(
    r"(?:^|\.)layers\.(?P<layer>\d+)\.(?P<module>(?:self_attn|mlp)\.[A-Za-z0-9_]+)\.lora_(?P<ab>[AB])"
    r"(?:\.(?P<adapter>[A-Za-z0-9_]+))?\.weight$"
)
QFORMER_LAYER = re.compile(r"^qformer\.encoder\.layer\.(\d+)\.")
HUB_ID = re.compile(r"^[\w.-]+(?:/[\w.-]+)?$")
# Text-branch FFN of older Blip2QFormer versions: unused when only queries are fed, absent from today's module.
UNUSED_QFORMER_KEY = re.compile(r"^qformer\.encoder\.layer\.\d+\.(?:intermediate|output)\.(?:dense|LayerNorm)\.")


def load_release_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read `model.pt` with `weights_only=True` (never unpickles code); unwraps a `{"model": ...}` wrapper.

    Refuses files that are not a state dict of finite tensors, naming what the file holds instead.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"Checkpoint not found: {path}")
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointConversionError(
            f"Refusing to unpickle {path}: it holds objects other than tensors and plain containers.\n{error}"
        ) from error
    except (RuntimeError, EOFError, OSError) as error:
        raise CheckpointConversionError(f"{path} is not a readable torch checkpoint: {error}") from error
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise CheckpointConversionError(f"{path} holds a {type(state).__name__}, not a state dict of tensors.")
    not_tensors = [repr(key) for key, value in state.items() if not isinstance(value, torch.Tensor)]
    if not_tensors or not state:
        raise CheckpointConversionError(
            f"{path} is not a state dict of tensors: its keys are {preview([repr(key) for key in state]) or 'none'}"
            f" ({len(not_tensors)} not tensors: {preview(not_tensors) or 'none'})."
        )
    check_finite(state, path)
    return state


def split_release_state_dict(
    state: dict[str, torch.Tensor], source: str | os.PathLike = "the checkpoint"
) -> tuple[dict, dict, list[str]]:
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
        raise CheckpointConversionError(
            f"{len(unknown)} keys of {source} are neither projector nor LoRA weights: {preview(unknown, 5)}"
        )
    if "query" not in projector:
        raise CheckpointConversionError(
            f"No encoder_projector.query in {source}: not a BAT projector state dict. Its keys are: "
            f"{preview(sorted(state))}."
        )
    a_keys = {key[: -len("A")] for key in lora if key.endswith("lora_A")}
    b_keys = {key[: -len("B")] for key in lora if key.endswith("lora_B")}
    if a_keys != b_keys:
        unpaired = sorted(f"{key}A" for key in a_keys - b_keys) + sorted(f"{key}B" for key in b_keys - a_keys)
        raise CheckpointConversionError(
            f"{source}: {len(unpaired)} LoRA weight(s) lack their lora_A / lora_B partner: {preview(unpaired)}."
        )
    modules = sorted({key.split(".")[-2] for key in lora})
    return projector, lora, modules


def projector_config_from_state(
    projector: dict[str, torch.Tensor],
    num_attention_heads: int | None = None,
    source: str | os.PathLike = "the checkpoint",
) -> dict:
    """Q-Former shape read off the weights; the head count is not stored (default hidden / 64: 12 in the release)."""
    layers = sorted({int(m.group(1)) for key in projector if (m := QFORMER_LAYER.match(key))})
    cross = sorted({int(k.split(".")[3]) for k in projector if k.startswith("qformer.") and ".crossattention." in k})
    needed = ["qformer.encoder.layer.0.intermediate_query.dense.weight"]
    if cross:
        needed.append(f"qformer.encoder.layer.{cross[0]}.crossattention.attention.key.weight")
    missing = [PROJECTOR_PREFIX + key for key in needed if key not in projector]
    if not layers or not cross or missing:
        what = missing if layers and cross else "its Q-Former layers (with cross-attention)"
        raise CheckpointConversionError(
            f"{source} lacks {what}, needed to read the projector's shape. The projector keys it has: "
            f"{preview(sorted(PROJECTOR_PREFIX + key for key in projector))}."
        )
    hidden = projector["query"].shape[-1]
    cross_key = projector[f"qformer.encoder.layer.{cross[0]}.crossattention.attention.key.weight"]
    return {
        "hidden_size": hidden,
        # the highest layer index, so a layer missing in the middle is reported as missing weights, not dropped
        "num_hidden_layers": layers[-1] + 1,
        "num_attention_heads": num_attention_heads or max(hidden // 64, 1),
        "intermediate_size": projector["qformer.encoder.layer.0.intermediate_query.dense.weight"].shape[0],
        "encoder_hidden_size": cross_key.shape[1],
        "cross_attention_frequency": cross[1] - cross[0] if len(cross) > 1 else max(len(layers), 1),
    }


def _load_feature_extractor(spatial_ast_dir: str | os.PathLike, audio_config):
    from ..spatial_ast.feature_extraction_spatial_ast import SpatialASTFeatureExtractor

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
    Raises [`CheckpointConversionError`] for a file that cannot be converted faithfully, before loading the LM
    wherever the file alone shows it.
    """
    projector_state, lora_state, modules = split_release_state_dict(load_release_state_dict(checkpoint), checkpoint)
    projector_config = projector_config_from_state(projector_state, qformer_heads, checkpoint)
    if not Path(spatial_ast_dir).is_dir():
        raise FileNotFoundError(
            f"Spatial-AST folder not found: {spatial_ast_dir} (convert the encoder first with "
            f"`transformers-bat convert-spatial-ast`)."
        )
    for what, folder in (("LLaMA", llama_dir), ("Tokenizer", tokenizer_dir)):
        # a path that cannot be a Hub id: say so, instead of the Hub's repo-id validation error
        if folder is not None and not Path(folder).exists() and not HUB_ID.match(str(folder)):
            raise FileNotFoundError(f"{what} folder not found: {folder}")
    model, tokenizer = BatForConditionalGeneration.from_parts(
        spatial_ast_dir,
        llama_dir,
        tokenizer_dir,
        projector_config=projector_config,
        num_query_tokens=projector_state["query"].shape[1],
        dtype=dtype,
    )
    load_strictly(model.multi_modal_projector, projector_state, checkpoint, "projector weights", PROJECTOR_PREFIX)
    processor = BatProcessor(
        _load_feature_extractor(spatial_ast_dir, model.config.audio_config),
        tokenizer,
        audio_token=model.config.audio_token,
        num_query_tokens=model.config.num_query_tokens,
        prompt_template=model.config.prompt_template,
    )
    from ...model_cards import AUTHORS_LICENSE, write_model_card

    output_dir = Path(output_dir)
    if dtype is not None:
        model.to(dtype)  # the projector weights just loaded
    processor.save_pretrained(output_dir)
    card = dict(
        title="BAT (the authors' weights, converted)",
        description=(
            "BAT (Zheng et al., ICML 2024): the authors' released projector and LoRA weights (`"
            f"{Path(checkpoint).name}`) on their Spatial-AST and LLaMA-2, converted by transformers-bat."
        ),
        license=AUTHORS_LICENSE,
        base_model=llama_dir,
        training={"source": Path(checkpoint).name, "converted by": "transformers-bat convert-bat", "merged": merge},
    )
    if not lora_state:
        model.save_pretrained(output_dir)
        write_model_card(output_dir, "bat", **card)
        return model
    if not merge:
        model.save_pretrained(output_dir)
        write_model_card(output_dir, "bat", **card)

    from peft import set_peft_model_state_dict

    from .peft_bat import add_lora, save_adapter

    rank = next(t.shape[0] for k, t in lora_state.items() if k.endswith("lora_A"))
    peft_model = add_lora(model, r=rank, lora_alpha=lora_alpha, lora_dropout=lora_dropout, target_modules=modules)
    prefix = "base_model.model.language_model.model."
    peft_state = {f"{prefix}{key}.weight": tensor for key, tensor in lora_state.items()}
    expected = {k for k in peft_model.state_dict() if ".lora_" in k}
    expected = {re.sub(r"\.default\.weight$", ".weight", k) for k in expected}
    if set(peft_state) != expected:
        missing = sorted(key.removeprefix(prefix) for key in expected - set(peft_state))
        extra = sorted(key.removeprefix(prefix) for key in set(peft_state) - expected)
        raise CheckpointConversionError(
            f"The LoRA weights of {checkpoint} do not fit the language model of {llama_dir}: {len(missing)} LoRA "
            f"weight(s) would stay uninitialised: {preview(missing) or 'none'}; {len(extra)} have no module to go "
            f"to: {preview(extra) or 'none'}."
        )
    # the projector is a `modules_to_save` module of the adapter: its copy is set from the same weights
    peft_state.update({f"base_model.model.multi_modal_projector.{k}": v for k, v in projector_state.items()})
    result = set_peft_model_state_dict(peft_model, peft_state)
    if getattr(result, "unexpected_keys", None):
        raise CheckpointConversionError(f"Unexpected LoRA keys in {checkpoint}: {preview(result.unexpected_keys)}")
    if merge:
        merged = peft_model.merge_and_unload()
        merged.save_pretrained(output_dir)
        write_model_card(output_dir, "bat", **card)
        return merged
    peft_model.peft_config["default"].base_model_name_or_path = str(output_dir)
    save_adapter(peft_model, output_dir / "adapter", **card | {"title": "BAT LoRA adapter (authors' weights)"})
    return peft_model


__all__ = [
    "CheckpointConversionError",
    "convert_bat_checkpoint",
    "load_release_state_dict",
    "split_release_state_dict",
]
