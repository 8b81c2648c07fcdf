"""Converter for the authors' finetuned.pth: safe loading, key mapping, table checks, and equivalence with a plain
reference forward written from the reference facts."""

import argparse
import json
import os
import pickle

import pytest
import torch
from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

from transformers_bat.cli.main import main as cli_main
from transformers_bat.models.spatial_ast.convert_spatial_ast_checkpoint import (
    CheckpointConversionError,
    convert_spatial_ast_checkpoint,
)

from ...cli.errors import cli_error
from .plain_reference import binaural_test_signal, make_authors_state, plain_spatial_ast


def save_training_dict(path, state, **extra):
    """A file in the release's layout: {model, optimizer, epoch, scaler, args} with an argparse.Namespace."""
    checkpoint = {
        "model": state,
        "optimizer": {"state": {}, "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.95), "weight_decay": 5e-4}]},
        "epoch": 49,
        "scaler": {"scale": 65536.0, "growth_factor": 2.0},
        "args": argparse.Namespace(batch_size=64, blr=1e-3, mask_t_prob=0.25, dataset="audioset", seed=0),
    }
    checkpoint.update(extra)
    torch.save(checkpoint, path)


@pytest.fixture(scope="module")
def authors_state():
    return make_authors_state(hidden_size=32, num_layers=2, intermediate_size=64, seed=1)


@pytest.fixture(scope="module")
def converted(authors_state, tmp_path_factory):
    folder = tmp_path_factory.mktemp("converted")
    save_training_dict(folder / "finetuned.pth", authors_state)
    csv_path = folder / "classes.csv"
    csv_path.write_text("index,mid,display_name\n" + "".join(f'{i},/m/{i},"Class {i}"\n' for i in range(355)))
    assert (
        cli_main(
            [
                "convert-spatial-ast",
                str(folder / "finetuned.pth"),
                str(folder / "out"),
                "--num-attention-heads",
                "2",
                "--class-labels-csv",
                str(csv_path),
            ]
        )
        == 0
    )
    return folder / "out"


def test_layout_has_the_release_key_count():
    assert len(make_authors_state(hidden_size=32, num_layers=12)) == 174


def test_converted_folder_holds_safetensors_config_and_preprocessor(converted):
    # the code, so the folder loads with trust_remote_code where the package is not installed
    code = ["configuration_spatial_ast.py", "feature_extraction_spatial_ast.py", "modeling_spatial_ast.py"]
    code += ["labels.py", "multi_accdoa.py", "remote_code.py", "spatial_audio_classification.py"]
    expected = ["README.md", "config.json", *code, "model.safetensors", "preprocessor_config.json"]
    assert sorted(os.listdir(converted)) == sorted(expected)
    from huggingface_hub import ModelCard

    card = ModelCard.load(converted / "README.md")  # the release's weights keep their licence and citation
    assert card.data.license == "cc-by-nc-4.0" and card.data.pipeline_tag == "audio-classification"
    assert "not re-measured here" in card.text and "@inproceedings{zheng2024bat" in card.text
    config = json.loads((converted / "config.json").read_text())
    assert config["model_type"] == "spatial_ast" and config["hidden_size"] == 32 and config["num_hidden_layers"] == 2
    assert config["id2label"]["354"] == "Class 354"


def test_converted_model_reproduces_the_plain_reference(converted, authors_state):
    model = AutoModelForAudioClassification.from_pretrained(converted).eval()
    extractor = AutoFeatureExtractor.from_pretrained(converted)
    waveform = binaural_test_signal(batch=2)
    with torch.no_grad():
        ours = model(extractor(waveform, sampling_rate=32000, return_tensors="pt")["input_features"])
        reference = plain_spatial_ast(waveform, authors_state, num_heads=2)
    for name, expected in reference.items():
        difference = (getattr(ours, name) - expected).abs().max().item()
        assert difference <= 1e-4, (name, difference)
    # and the eager attention path too
    model.set_attn_implementation("eager")
    with torch.no_grad():
        eager = model(extractor(waveform, sampling_rate=32000, return_tensors="pt")["input_features"])
    assert (eager.event_logits - reference["event_logits"]).abs().max() <= 1e-4


def test_bare_state_dict_with_ddp_prefix_converts(authors_state, tmp_path):
    torch.save({f"module.{k}": v for k, v in authors_state.items()}, tmp_path / "bare.pth")
    model = convert_spatial_ast_checkpoint(tmp_path / "bare.pth", num_attention_heads=2)
    assert model.config.num_labels == 355


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/transformers_bat_pwned",))


def test_arbitrary_pickled_objects_are_refused(authors_state, tmp_path):
    path = tmp_path / "evil.pth"
    save_training_dict(path, authors_state, args=Exploit())
    with pytest.raises(CheckpointConversionError, match="Refusing to unpickle .*allow-global"):
        convert_spatial_ast_checkpoint(path, num_attention_heads=2)
    assert not os.path.exists("/tmp/transformers_bat_pwned")


def test_mismatched_front_end_tables_are_refused(authors_state, tmp_path):
    wrong = dict(authors_state)
    wrong["spectrogram_extractor.conv_imag.weight"] = -authors_state["spectrogram_extractor.conv_imag.weight"]
    save_training_dict(tmp_path / "wrong.pth", wrong)
    with pytest.raises(CheckpointConversionError, match="conv_imag.weight does not match"):
        convert_spatial_ast_checkpoint(tmp_path / "wrong.pth", num_attention_heads=2)


def test_not_a_spatial_ast_checkpoint(tmp_path):
    torch.save({"model": {"encoder.weight": torch.zeros(2)}}, tmp_path / "other.pth")
    with pytest.raises(CheckpointConversionError, match="missing"):
        convert_spatial_ast_checkpoint(tmp_path / "other.pth")
    (tmp_path / "junk.pth").write_bytes(pickle.dumps([1, 2, 3])[:5])
    with pytest.raises(CheckpointConversionError, match="not a readable torch checkpoint|Refusing"):
        convert_spatial_ast_checkpoint(tmp_path / "junk.pth")
    with pytest.raises(FileNotFoundError, match="Checkpoint not found"):
        convert_spatial_ast_checkpoint(tmp_path / "missing.pth")


def test_unexpected_keys_are_named(authors_state, tmp_path):
    extra = dict(authors_state)
    extra["mystery.weight"] = torch.zeros(1)
    save_training_dict(tmp_path / "extra.pth", extra)
    with pytest.raises(CheckpointConversionError, match="Unexpected key .*mystery.weight"):
        convert_spatial_ast_checkpoint(tmp_path / "extra.pth", num_attention_heads=2)


# ---------------------------------------------------------------- nothing converted silently wrong


def test_non_finite_weights_are_refused_naming_tensors_counts_and_file(authors_state, tmp_path):
    broken = dict(authors_state)
    qkv = authors_state["blocks.0.attn.qkv.weight"].clone()
    qkv[0, :2] = float("nan")
    broken["blocks.0.attn.qkv.weight"] = qkv
    broken["head.bias"] = authors_state["head.bias"].clone()
    broken["head.bias"][3] = float("-inf")
    path = tmp_path / "diverged.pth"
    save_training_dict(path, broken)
    with pytest.raises(CheckpointConversionError) as caught:
        convert_spatial_ast_checkpoint(path, tmp_path / "out", num_attention_heads=2)
    message = str(caught.value)
    assert f"Refusing to convert {path}: 2 tensor(s) hold non-finite values" in message
    assert f"blocks.0.attn.qkv.weight (2 NaN, 0 inf of {qkv.numel()} values)" in message
    assert "head.bias (0 NaN, 1 inf of 355 values)" in message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("key", ["conv_downsample.0.weight", "bn.running_mean", "distance_head.weight", "head.weight"])
def test_missing_tensor_read_for_the_config_is_named_not_a_key_error(authors_state, tmp_path, key):
    path = tmp_path / "incomplete.pth"
    save_training_dict(path, {k: v for k, v in authors_state.items() if k != key})
    with pytest.raises(CheckpointConversionError) as caught:
        convert_spatial_ast_checkpoint(path, num_attention_heads=2)
    message = str(caught.value)
    assert message.startswith(f"{path} is not a complete Spatial-AST checkpoint: missing ['{key}']")
    assert f"Its model state has {len(authors_state) - 1} keys: " in message and "blocks.0.attn.proj.bias" in message


def test_training_dict_without_model_names_its_top_level_keys(tmp_path):
    path = tmp_path / "optimizer_only.pth"
    torch.save({"optimizer": {"state": {}}, "epoch": 3, "scaler": {"scale": 1.0}}, path)
    with pytest.raises(CheckpointConversionError) as caught:
        convert_spatial_ast_checkpoint(path)
    assert str(caught.value) == (
        f"{path} has no 'model' state dict of tensors; its top-level keys are: 'optimizer', 'epoch', 'scaler'."
    )
    torch.save({"model": {"cls_tokens": torch.zeros(1, 3, 32), "step": 7}}, tmp_path / "mixed.pth")
    with pytest.raises(CheckpointConversionError) as caught:
        convert_spatial_ast_checkpoint(tmp_path / "mixed.pth")
    assert str(caught.value) == (
        f"{tmp_path / 'mixed.pth'}: the model state dict is empty or holds entries that are not named tensors "
        f"('step')."
    )
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(CheckpointConversionError, match="holds a list, not a dict"):
        convert_spatial_ast_checkpoint(tmp_path / "list.pth")


def test_parameter_left_uninitialised_is_listed(authors_state, tmp_path):
    path = tmp_path / "no_proj.pth"
    save_training_dict(path, {k: v for k, v in authors_state.items() if k != "blocks.1.attn.proj.weight"})
    with pytest.raises(CheckpointConversionError) as caught:
        convert_spatial_ast_checkpoint(path, num_attention_heads=2)
    assert str(caught.value) == (
        f"The weights of {path} do not fit SpatialASTForSpatialAudioClassification: 1 parameter(s) would stay "
        f"uninitialised (not in the file): spatial_ast.layers.1.attention.proj.weight."
    )


def test_a_whole_missing_block_is_reported_not_dropped(tmp_path):
    state = make_authors_state(hidden_size=32, num_layers=3, intermediate_size=64, seed=2)
    path = tmp_path / "gap.pth"
    save_training_dict(path, {k: v for k, v in state.items() if not k.startswith("blocks.1.")})
    with pytest.raises(CheckpointConversionError, match=r"12 parameter\(s\) would stay uninitialised") as caught:
        convert_spatial_ast_checkpoint(path, num_attention_heads=2)
    assert "spatial_ast.layers.1.attention.qkv.weight" in str(caught.value)


def test_shape_mismatch_and_several_unexpected_keys(authors_state, tmp_path):
    wrong = dict(authors_state)
    wrong["blocks.1.attn.proj.weight"] = torch.zeros(32, 16)
    save_training_dict(tmp_path / "shape.pth", wrong)
    with pytest.raises(CheckpointConversionError) as caught:
        convert_spatial_ast_checkpoint(tmp_path / "shape.pth", num_attention_heads=2)
    assert str(caught.value) == (
        f"{tmp_path / 'shape.pth'}: tensor shapes do not fit the architecture inferred from the file: "
        f"spatial_ast.layers.1.attention.proj.weight (32, 16) (model: (32, 32))."
    )
    extra = {**authors_state, "mystery.weight": torch.zeros(1), "decoder.bias": torch.zeros(1)}
    save_training_dict(tmp_path / "extra.pth", extra)
    with pytest.raises(CheckpointConversionError) as caught:
        convert_spatial_ast_checkpoint(tmp_path / "extra.pth", num_attention_heads=2)
    assert str(caught.value) == (
        f"Unexpected keys in {tmp_path / 'extra.pth'} (not part of Spatial-AST, nor a front-end table that is "
        f"dropped): 'mystery.weight', 'decoder.bias'."
    )


def test_cli_prints_the_error_and_returns_2(authors_state, tmp_path, capsys):
    broken = dict(authors_state)
    broken["pos_embed"] = authors_state["pos_embed"].clone()
    broken["pos_embed"][0, 0, 0] = float("inf")
    save_training_dict(tmp_path / "broken.pth", broken)
    assert cli_main(["convert-spatial-ast", str(tmp_path / "broken.pth"), str(tmp_path / "out")]) == 2
    assert cli_error(capsys.readouterr().err, "convert-spatial-ast") == (
        f"Refusing to convert {tmp_path / 'broken.pth'}: 1 tensor(s) hold non-finite values: pos_embed (0 NaN, 1 inf "
        f"of {authors_state['pos_embed'].numel()} values). The file is corrupt or was saved after training diverged."
    )
    assert not (tmp_path / "out").exists()
    assert cli_main(["convert-spatial-ast", str(tmp_path / "absent.pth"), str(tmp_path / "out")]) == 2
    message = cli_error(capsys.readouterr().err, "convert-spatial-ast")
    assert message == f"Checkpoint not found: {tmp_path / 'absent.pth'}"
