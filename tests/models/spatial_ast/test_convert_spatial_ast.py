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
    assert sorted(os.listdir(converted)) == ["config.json", "model.safetensors", "preprocessor_config.json"]
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
