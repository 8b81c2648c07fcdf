"""Converter for the authors' BAT/model.pt: a file in their layout, built here on tiny configs, must reproduce the
logits of a BAT built directly with the same weights (LoRA adapter and merged)."""

from __future__ import annotations

import bat_tester as bt
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForMultimodalLM

from transformers_bat import BatForConditionalGeneration, SpatialASTModel
from transformers_bat.cli.main import main as cli_main
from transformers_bat.models.bat.convert_bat_checkpoint import convert_bat_checkpoint, split_release_state_dict

pytest.importorskip("peft")

# the prefix in front of `layers.N...` is not documented: accept the PEFT-on-LlamaForCausalLM shapes
PREFIXES = {
    "slam_llm": ("llm.base_model.model.model.", ".default"),
    "bare_peft": ("base_model.model.model.", ""),
}


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """A tiny LLaMA directory, a Spatial-AST directory, and a reference BAT with random projector + LoRA."""
    from peft import get_peft_model_state_dict

    from transformers_bat.models.bat.peft_bat import add_lora

    root = tmp_path_factory.mktemp("parts")
    torch.manual_seed(0)
    tokenizer = bt.build_tokenizer()
    lm = AutoModelForCausalLM.from_config(
        bt.text_config("llama", len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id)
    )
    lm.save_pretrained(root / "llama")
    tokenizer.save_pretrained(root / "llama")
    SpatialASTModel(bt.audio_config()).save_pretrained(root / "spatial_ast")
    model, tokenizer = BatForConditionalGeneration.from_parts(
        root / "spatial_ast", root / "llama", projector_config=bt.PROJECTOR_CONFIG, num_query_tokens=bt.NUM_QUERIES
    )
    projector = {k: v.clone() for k, v in model.multi_modal_projector.state_dict().items()}
    reference = add_lora(model).eval()
    with torch.no_grad():  # LoRA B starts at zero: give it weights so the adapter matters
        for name, param in reference.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.5)
    lora = {k: v.clone() for k, v in get_peft_model_state_dict(reference).items() if ".lora_" in k}
    processor = bt.BatProcessor.from_config(model.config, tokenizer, max_length_s=1.0)
    inputs = processor(audio=[bt.binaural_clip(0), bt.binaural_clip(1)], text=bt.QUESTIONS[:2], sampling_rate=32000)
    with torch.no_grad():
        logits = reference(**inputs).logits
    return {"root": root, "projector": projector, "lora": lora, "inputs": inputs, "logits": logits}


def release_file(parts, path, style):
    """Write the trainable weights in the authors' layout (plain fp32 state dict)."""
    prefix, adapter = PREFIXES[style]
    state = {f"encoder_projector.{k}": v for k, v in parts["projector"].items()}
    for key, tensor in parts["lora"].items():
        # ours: base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_A.weight
        tail = key.split("language_model.model.", 1)[1].replace(".weight", f"{adapter}.weight")
        state[prefix + tail] = tensor
    torch.save(state, path)
    return path


@pytest.mark.parametrize("style", sorted(PREFIXES))
def test_converted_adapter_reproduces_logits(parts, tmp_path, style):
    from peft import PeftModel

    checkpoint = release_file(parts, tmp_path / "model.pt", style)
    root = parts["root"]
    convert_bat_checkpoint(checkpoint, root / "llama", root / "spatial_ast", tmp_path / "out", qformer_heads=2)
    base = AutoModelForMultimodalLM.from_pretrained(tmp_path / "out")
    model = PeftModel.from_pretrained(base, tmp_path / "out" / "adapter").eval()
    config = model.peft_config["default"]
    assert (config.r, config.lora_alpha) == (8, 32)
    with torch.no_grad():
        logits = model(**parts["inputs"]).logits
    torch.testing.assert_close(logits, parts["logits"], atol=1e-5, rtol=1e-5)


def test_cli_merge_reproduces_logits(parts, tmp_path):
    checkpoint = release_file(parts, tmp_path / "model.pt", "slam_llm")
    root = parts["root"]
    code = cli_main(
        [
            "convert-bat",
            str(checkpoint),
            str(tmp_path / "merged"),
            "--llama-dir",
            str(root / "llama"),
            "--spatial-ast-dir",
            str(root / "spatial_ast"),
            "--merge",
            "--qformer-heads",
            "2",
        ]
    )
    assert code == 0 and not (tmp_path / "merged" / "adapter").exists()
    model = AutoModelForMultimodalLM.from_pretrained(tmp_path / "merged").eval()
    with torch.no_grad():
        logits = model(**parts["inputs"]).logits
    torch.testing.assert_close(logits, parts["logits"], atol=1e-4, rtol=1e-4)


def test_layout_detection_and_errors(parts, tmp_path):
    checkpoint = release_file(parts, tmp_path / "model.pt", "slam_llm")
    state = torch.load(checkpoint, weights_only=True)
    projector, lora, modules = split_release_state_dict(state)
    assert modules == ["q_proj", "v_proj"] and set(projector) == set(parts["projector"])
    assert all(k.startswith("layers.") for k in lora)
    with pytest.raises(ValueError, match="neither projector nor LoRA"):
        split_release_state_dict({**state, "llm.model.embed_tokens.weight": torch.zeros(2)})
    with pytest.raises(ValueError, match="encoder_projector.query"):
        split_release_state_dict({k: v for k, v in state.items() if not k.endswith("projector.query")})


def test_refuses_pickled_objects(parts, tmp_path):
    from transformers_bat.models.bat.convert_bat_checkpoint import load_release_state_dict

    path = tmp_path / "evil.pt"
    torch.save({"weights": torch.zeros(1), "object": _Unsafe()}, path)
    with pytest.raises(Exception, match="(?i)weights only|unsupported global|weights_only"):
        load_release_state_dict(path)


class _Unsafe:
    pass
