"""Converter for the authors' BAT/model.pt: a file in their layout, built here on tiny configs, must reproduce the
logits of a BAT built directly with the same weights (LoRA adapter and merged)."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForMultimodalLM

from transformers_bat import BatForConditionalGeneration, SpatialASTModel
from transformers_bat.cli.main import main as cli_main
from transformers_bat.models.bat.convert_bat_checkpoint import (
    CheckpointConversionError,
    convert_bat_checkpoint,
    split_release_state_dict,
)

from ...cli.errors import cli_error
from . import bat_tester as bt

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
    # our card, not PEFT's generic one (text-generation, a local base_model); the weights keep the authors' licence
    from huggingface_hub import ModelCard

    for folder in (tmp_path / "out", tmp_path / "out" / "adapter"):
        card = ModelCard.load(folder / "README.md")
        assert card.data.pipeline_tag == "audio-text-to-text" and card.data.license == "cc-by-nc-4.0", folder
        assert card.data.base_model is None and "Zheng" in card.text
    assert ModelCard.load(tmp_path / "out" / "adapter" / "README.md").data.library_name == "peft"
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


# ---------------------------------------------------------------- nothing converted silently wrong


def edited_release_file(parts, path, edit):
    """A release-layout file (slam_llm prefixes) changed by `edit(state)`, which edits the dict in place."""
    release_file(parts, path, "slam_llm")
    state = torch.load(path, weights_only=True)
    edit(state)
    torch.save(state, path)
    return path


def convert(parts, checkpoint, output, **kwargs):
    root = parts["root"]
    return convert_bat_checkpoint(checkpoint, root / "llama", root / "spatial_ast", output, qformer_heads=2, **kwargs)


def test_non_finite_weights_are_refused_before_loading_the_lm(parts, tmp_path):
    def poison(state):
        state["encoder_projector.linear.weight"][0, :3] = float("nan")
        state["encoder_projector.query"][0, 0, 0] = float("inf")

    checkpoint = edited_release_file(parts, tmp_path / "model.pt", poison)
    with pytest.raises(CheckpointConversionError) as caught:  # the LM folder does not exist: never reached
        convert_bat_checkpoint(checkpoint, tmp_path / "no-llama", parts["root"] / "spatial_ast", tmp_path / "out")
    message = str(caught.value)
    linear = parts["projector"]["linear.weight"].numel()
    assert message.startswith(f"Refusing to convert {checkpoint}: 2 tensor(s) hold non-finite values: ")
    assert f"encoder_projector.linear.weight (3 NaN, 0 inf of {linear} values)" in message
    assert f"encoder_projector.query (0 NaN, 1 inf of {bt.NUM_QUERIES * 32} values)" in message
    assert not (tmp_path / "out").exists()


def test_missing_qformer_tensors_read_for_the_config_are_named(parts, tmp_path):
    needed = "encoder_projector.qformer.encoder.layer.0.intermediate_query.dense.weight"
    checkpoint = edited_release_file(parts, tmp_path / "model.pt", lambda state: state.pop(needed))
    with pytest.raises(CheckpointConversionError) as caught:
        convert(parts, checkpoint, tmp_path / "out")
    message = str(caught.value)
    assert message.startswith(f"{checkpoint} lacks ['{needed}'], needed to read the projector's shape.")
    assert "The projector keys it has: encoder_projector.linear.bias, " in message

    def drop_cross_attention(state):
        for key in [k for k in state if ".crossattention." in k]:
            del state[key]

    checkpoint = edited_release_file(parts, tmp_path / "no_cross.pt", drop_cross_attention)
    with pytest.raises(CheckpointConversionError, match=r"lacks its Q-Former layers \(with cross-attention\)"):
        convert(parts, checkpoint, tmp_path / "out")


def test_projector_parameter_left_uninitialised_is_listed(parts, tmp_path):
    gone = "encoder_projector.qformer.encoder.layer.1.attention.output.dense.weight"
    checkpoint = edited_release_file(parts, tmp_path / "model.pt", lambda state: state.pop(gone))
    with pytest.raises(CheckpointConversionError) as caught:
        convert(parts, checkpoint, tmp_path / "out")
    assert str(caught.value) == (
        f"The projector weights of {checkpoint} do not fit BatMultiModalProjector: 1 parameter(s) would stay "
        f"uninitialised (not in the file): {gone}."
    )

    def reshape(state):
        state["encoder_projector.linear.bias"] = torch.zeros(5)

    checkpoint = edited_release_file(parts, tmp_path / "shape.pt", reshape)
    with pytest.raises(CheckpointConversionError) as caught:
        convert(parts, checkpoint, tmp_path / "out")
    assert str(caught.value) == (
        f"{checkpoint}: tensor shapes do not fit the architecture inferred from the file: "
        f"encoder_projector.linear.bias (5,) (model: (32,))."
    )


def test_lora_weights_missing_a_partner_or_not_fitting_the_lm(parts, tmp_path):
    lora_b = "llm.base_model.model.model.layers.1.self_attn.v_proj.lora_B.default.weight"
    checkpoint = edited_release_file(parts, tmp_path / "model.pt", lambda state: state.pop(lora_b))
    with pytest.raises(CheckpointConversionError) as caught:
        convert(parts, checkpoint, tmp_path / "out")
    assert str(caught.value) == (
        f"{checkpoint}: 1 LoRA weight(s) lack their lora_A / lora_B partner: layers.1.self_attn.v_proj.lora_A."
    )

    def add_layer(state):
        for ab in "AB":
            key = f"llm.base_model.model.model.layers.0.self_attn.q_proj.lora_{ab}.default.weight"
            state[key.replace("layers.0.", "layers.7.")] = state[key].clone()

    checkpoint = edited_release_file(parts, tmp_path / "deep.pt", add_layer)
    with pytest.raises(CheckpointConversionError) as caught:
        convert(parts, checkpoint, tmp_path / "out")
    assert str(caught.value) == (
        f"The LoRA weights of {checkpoint} do not fit the language model of {parts['root'] / 'llama'}: 0 LoRA "
        f"weight(s) would stay uninitialised: none; 2 have no module to go to: "
        f"layers.7.self_attn.q_proj.lora_A.weight, layers.7.self_attn.q_proj.lora_B.weight."
    )


def test_files_that_are_not_state_dicts_name_what_they_hold(parts, tmp_path):
    from transformers_bat.models.bat.convert_bat_checkpoint import load_release_state_dict

    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(CheckpointConversionError, match="list.pt holds a list, not a state dict of tensors"):
        load_release_state_dict(tmp_path / "list.pt")
    torch.save({"epoch": 3, "encoder_projector.query": torch.zeros(1, 4, 32)}, tmp_path / "mixed.pt")
    with pytest.raises(CheckpointConversionError) as caught:
        load_release_state_dict(tmp_path / "mixed.pt")
    assert str(caught.value) == (
        f"{tmp_path / 'mixed.pt'} is not a state dict of tensors: its keys are 'epoch', 'encoder_projector.query' "
        f"(1 not tensors: 'epoch')."
    )
    with pytest.raises(FileNotFoundError, match="Checkpoint not found: .*absent.pt"):
        load_release_state_dict(tmp_path / "absent.pt")
    checkpoint = release_file(parts, tmp_path / "model.pt", "slam_llm")
    with pytest.raises(FileNotFoundError, match="Spatial-AST folder not found: .*no-encoder"):
        convert_bat_checkpoint(checkpoint, parts["root"] / "llama", tmp_path / "no-encoder", tmp_path / "out")


def test_cli_prints_the_error_and_returns_2(parts, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    root = parts["root"]

    def run(checkpoint, llama=root / "llama", encoder=root / "spatial_ast"):
        argv = ["convert-bat", str(checkpoint), str(tmp_path / "out"), "--llama-dir", str(llama)]
        return cli_main([*argv, "--spatial-ast-dir", str(encoder), "--qformer-heads", "2"])

    def poison(state):
        state["encoder_projector.norm.weight"][:] = float("nan")

    checkpoint = edited_release_file(parts, tmp_path / "model.pt", poison)
    assert run(checkpoint) == 2
    assert cli_error(capsys.readouterr().err, "convert-bat") == (
        f"Refusing to convert {checkpoint}: 1 tensor(s) hold non-finite values: encoder_projector.norm.weight "
        f"(32 NaN, 0 inf of 32 values). The file is corrupt or was saved after training diverged."
    )
    assert not (tmp_path / "out").exists()

    good = release_file(parts, tmp_path / "good.pt", "slam_llm")
    assert run(good, llama=tmp_path / "no-llama") == 2
    assert cli_error(capsys.readouterr().err, "convert-bat") == f"LLaMA folder not found: {tmp_path / 'no-llama'}"

    # a Spatial-AST folder with an encoder tensor deleted is refused by SpatialASTModel.from_pretrained
    encoder = tmp_path / "broken_encoder"
    encoder.mkdir()
    weights = load_file(root / "spatial_ast" / "model.safetensors")
    del weights["layers.1.mlp.fc2.bias"]
    save_file(weights, encoder / "model.safetensors", metadata={"format": "pt"})
    (encoder / "config.json").write_text((root / "spatial_ast" / "config.json").read_text())
    assert run(good, encoder=encoder) == 2
    assert cli_error(capsys.readouterr().err, "convert-bat").startswith(
        f"SpatialASTModel.from_pretrained: 1 tensor(s) of the pretrained encoder are missing from "
        f"{encoder / 'model.safetensors'}: layers.1.mlp.fc2.bias. "
    )
