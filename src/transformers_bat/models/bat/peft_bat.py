"""Parameter-efficient fine-tuning of BAT with PEFT (install the `train` extra).

- LoRA (the release): adapters on the language model only (r 8, alpha 32, dropout 0.05 on q_proj / v_proj), the
  projector trained in full (`modules_to_save`), Spatial-AST frozen. `PeftModel.save_pretrained` then writes only
  the adapter + projector; `PeftModel.from_pretrained(bat, dir)` loads them; `merge_and_unload()` merges.
- LLaMA-Adapter (the paper's method, v1 as PEFT implements it: zero-init gated prompts): on the inner Llama /
  Mistral model, which is where PEFT supports it; the projector is trained alongside and saved next to the adapter.
  The v2 extras (bias/scale tuning, unfrozen norms) are not a PEFT method and are not provided.
"""

from __future__ import annotations

import os
from pathlib import Path

from safetensors.torch import load_file, save_file

from .modeling_bat import BatForConditionalGeneration

RELEASE_LORA = {"r": 8, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": ("q_proj", "v_proj")}
PROJECTOR_FILE = "multi_modal_projector.safetensors"


def bat_lora_config(
    r: int = 8,
    lora_alpha: int = 32,
    lora_dropout: float = 0.05,
    target_modules: tuple[str, ...] = ("q_proj", "v_proj"),
    train_projector: bool = True,
):
    """A `LoraConfig` for BAT: LoRA on `language_model` projections only, projector fully trained.

    `target_modules` are module-name suffixes inside the LM (GPT-2 uses `("c_attn",)`); they are anchored to
    `language_model.` so the Q-Former's own `query` / `value` layers and Spatial-AST stay untouched.
    """
    from peft import LoraConfig

    names = "|".join(target_modules)
    return LoraConfig(
        r=r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        target_modules=rf"language_model\..*\.(?:{names})",
        modules_to_save=["multi_modal_projector"] if train_projector else None,
        bias="none",
        task_type="CAUSAL_LM",
    )


def add_lora(model: BatForConditionalGeneration, **lora_kwargs):
    """Wrap `model` in a `PeftModel` with [`bat_lora_config`] (release defaults); returns the `PeftModel`."""
    from peft import get_peft_model

    model.freeze_audio_tower()
    return get_peft_model(model, bat_lora_config(**lora_kwargs))


def add_llama_adapter(
    model: BatForConditionalGeneration, adapter_len: int = 10, adapter_layers: int | None = None
) -> BatForConditionalGeneration:
    """Put PEFT's LLaMA-Adapter (adaption prompts) on the inner LM and train the projector with it.

    Returns `model` itself, with `model.language_model` replaced by a `PeftModel`; everything else is frozen.
    """
    from peft import AdaptionPromptConfig, get_peft_model

    lm_type = model.config.text_config.model_type
    if lm_type not in ("llama", "mistral"):
        raise ValueError(f"PEFT supports LLaMA-Adapter on Llama and Mistral models only, not {lm_type!r}.")
    num_layers = model.config.text_config.num_hidden_layers
    config = AdaptionPromptConfig(
        adapter_len=adapter_len,
        adapter_layers=min(adapter_layers or num_layers, num_layers),
        task_type="CAUSAL_LM",
    )
    model.requires_grad_(False)
    model.language_model = get_peft_model(model.language_model, config)
    model.multi_modal_projector.requires_grad_(True)
    return model


def save_adapter(peft_model, save_directory: str | os.PathLike, **card) -> None:
    """`PeftModel.save_pretrained` with our model card in place of PEFT's generic one.

    PEFT's card says `pipeline_tag: text-generation` and names the base model by its local path; ours tags the
    adapter `audio-text-to-text`, keeps `library_name: peft` and lists a base model only if it is a Hub id.
    `card`: keyword arguments of :func:`transformers_bat.model_cards.write_model_card`.
    """
    from ...model_cards import write_model_card

    peft_model.save_pretrained(save_directory)
    card.setdefault("title", "BAT adapter")
    card.setdefault("description", "Trained parts of a BAT (the LM adapter and the projector), in PEFT's format.")
    write_model_card(save_directory, "bat", library_name="peft", **card)


def save_llama_adapter(model: BatForConditionalGeneration, save_directory: str | os.PathLike) -> None:
    """Write only the trained parts: the LM adapter (PEFT format) and the projector (safetensors)."""
    save_directory = Path(save_directory)
    model.language_model.save_pretrained(save_directory)
    state = {k: v.detach().contiguous() for k, v in model.multi_modal_projector.state_dict().items()}
    save_file(state, str(save_directory / PROJECTOR_FILE))


def load_llama_adapter(model: BatForConditionalGeneration, save_directory: str | os.PathLike):
    """Load what [`save_llama_adapter`] wrote onto a plain BAT (in place; returns `model`)."""
    from peft import PeftModel

    save_directory = Path(save_directory)
    model.language_model = PeftModel.from_pretrained(model.language_model, str(save_directory))
    model.multi_modal_projector.load_state_dict(load_file(str(save_directory / PROJECTOR_FILE)))
    return model


__all__ = [
    "RELEASE_LORA",
    "add_llama_adapter",
    "add_lora",
    "bat_lora_config",
    "load_llama_adapter",
    "save_llama_adapter",
]
