"""Spatial-AST encoder and heads: parameter count, shapes, training-only augmentation, losses, decoding,
attention backends, Auto* and trust_remote_code round trips."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModel,
    AutoModelForAudioClassification,
)

from transformers_bat import (
    SpatialASTConfig,
    SpatialASTFeatureExtractor,
    SpatialASTForSpatialAudioClassification,
    SpatialASTModel,
)
from transformers_bat.models.spatial_ast.modeling_spatial_ast import sincos_position_table


def tiny_config(**overrides) -> SpatialASTConfig:
    values = dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_frames=64,
        num_mel_bins=32,
        num_labels=7,
        num_distance_bins=21,
        num_azimuth_bins=360,
        num_elevation_bins=180,
        spec_augment_freq_mask=8,
        spec_augment_time_mask=16,
    )
    values.update(overrides)
    return SpatialASTConfig(**values)


def tiny_inputs(batch: int = 3, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 4, 64, 32, generator=torch.Generator().manual_seed(seed))


def test_default_config_is_the_paper_model():
    config = SpatialASTConfig()
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (768, 12, 12)
    assert config.num_labels == 355 and config.num_distance_bins == 21
    assert (config.num_azimuth_bins, config.num_elevation_bins) == (360, 180)
    assert (config.num_frames, config.num_mel_bins, config.patch_size, config.patch_grid) == (1024, 128, 16, (64, 8))
    assert (config.event_loss_weight, config.distance_loss_weight, config.direction_loss_weight) == (1250, 1, 2)
    model = SpatialASTForSpatialAudioClassification(config)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 85_963_194
    # 171 tensors + the 3 front-end tables the release keeps in its state dict = its 174 entries
    assert len(model.state_dict()) == 171


def test_invalid_configs_are_refused():
    with pytest.raises(ValueError, match="multiple of num_attention_heads"):
        SpatialASTConfig(hidden_size=30, num_attention_heads=4)
    with pytest.raises(ValueError, match="multiples of patch_size"):
        SpatialASTConfig(num_frames=1000)
    with pytest.raises(ValueError, match="exactly 3 CLS tokens"):
        SpatialASTConfig(num_cls_tokens=2)
    with pytest.raises(ValueError, match="fusion_channels must be at least 1"):
        SpatialASTConfig(fusion_channels=0)


def test_wider_fusion_keeps_each_fused_channel_in_the_patches():
    """fusion_channels > 1 (small-model option): C fused maps, each feeding the patch projection."""
    model = SpatialASTModel(tiny_config(fusion_channels=4)).eval()
    embeddings = model.embeddings
    assert embeddings.fusion_conv.weight.shape == (4, 4, 3, 3)
    assert embeddings.patch_embeddings.weight.shape == (32, 4, 16, 16)
    assert model(tiny_inputs()).last_hidden_state.shape == (3, 3 + 8, 32)
    # changing only the second fused map's filter changes the output: it is not dropped or averaged away
    before = model(tiny_inputs()).last_hidden_state
    with torch.no_grad():
        embeddings.fusion_conv.weight[1] += 0.5
    assert not torch.allclose(model(tiny_inputs()).last_hidden_state, before)
    # the faithful default stays a single fused channel (the release's checkpoint layout)
    assert SpatialASTModel(tiny_config()).embeddings.fusion_conv.weight.shape == (1, 4, 3, 3)


def test_encoder_returns_all_tokens_without_final_norm():
    model = SpatialASTModel(tiny_config()).eval()
    output = model(tiny_inputs(), output_hidden_states=True)
    assert output.last_hidden_state.shape == (3, 3 + 8, 32)
    assert len(output.hidden_states) == 3
    assert torch.equal(output.hidden_states[-1], output.last_hidden_state)  # no norm after the last block


def test_positional_table_is_frozen_2d_sincos():
    model = SpatialASTModel(tiny_config())
    table = model.embeddings.position_embeddings
    assert not any(table is p for p in model.parameters())
    assert torch.allclose(table[0], sincos_position_table(32, 4, 2))
    assert torch.equal(table[0, 0], torch.zeros(32))
    rows, columns = 4, 2
    # first half of the channels depends on the time row only, second half on the frequency column only
    grid = table[0, 1:].view(rows, columns, 32)
    assert torch.allclose(grid[:, 0, :16], grid[:, 1, :16]) and torch.allclose(grid[0, :, 16:], grid[1, :, 16:])


def test_training_drops_patches_and_eval_is_deterministic():
    model = SpatialASTModel(tiny_config(num_frames=128, num_mel_bins=64))
    inputs = torch.randn(2, 4, 128, 64)
    model.train()
    # 8 x 4 grid: keep int(8 * 0.75) = 6 rows and int(4 * 0.75) = 3 columns
    assert model(inputs).last_hidden_state.shape == (2, 3 + 18, 32)
    model.eval()
    first, second = model(inputs).last_hidden_state, model(inputs).last_hidden_state
    assert first.shape == (2, 3 + 32, 32) and torch.equal(first, second)


def test_patch_dropping_keeps_whole_rows_and_columns():
    model = SpatialASTModel(tiny_config(num_frames=128, num_mel_bins=64))
    rows, columns = model.config.patch_grid
    index = torch.arange(rows * columns, dtype=torch.float32)[None, :, None].expand(2, -1, 1)
    kept = model.embeddings.drop_patches(index.expand(2, -1, 32).contiguous())[..., 0].long()
    for sample in kept:
        kept_rows, kept_columns = set((sample // columns).tolist()), set((sample % columns).tolist())
        assert len(kept_rows) == 6 and len(kept_columns) == 3
        assert sorted(sample.tolist()) == sorted(r * columns + c for r in kept_rows for c in kept_columns)


def test_spec_augment_masks_one_band_and_one_span():
    model = SpatialASTModel(tiny_config())
    fused = torch.ones(2, 1, 64, 32)
    torch.manual_seed(3)
    masked = model.embeddings.spec_augment(fused)
    zero = masked[0, 0] == 0
    assert torch.equal(masked[0], masked[1])  # shared across the batch
    zero_columns, zero_rows = zero.all(0).sum(), zero.all(1).sum()
    assert zero_columns <= 8 and zero_rows <= 16 and zero.any()


def test_sdpa_and_eager_attention_agree():
    config = tiny_config()
    model = SpatialASTForSpatialAudioClassification(config).eval()
    assert model.config._attn_implementation == "sdpa"
    inputs = tiny_inputs()
    sdpa = model(inputs)
    model.set_attn_implementation("eager")
    eager = model(inputs, output_attentions=True)
    assert torch.allclose(sdpa.event_logits, eager.event_logits, atol=1e-5)
    assert eager.attentions[0].shape == (3, 2, 11, 11)


def test_weighted_loss_terms():
    config = tiny_config()
    model = SpatialASTForSpatialAudioClassification(config).eval()
    inputs = tiny_inputs()
    events = torch.tensor([[1, 0, 0, 1, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1]]).float()
    distance, azimuth, elevation = torch.tensor([0, 4, 20]), torch.tensor([0, 90, 359]), torch.tensor([0, 90, 179])
    out = model(inputs, labels=events, distance_labels=distance, azimuth_labels=azimuth, elevation_labels=elevation)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(out.event_logits, events)
    ce = torch.nn.functional.cross_entropy
    expected = (
        1250 * bce
        + ce(out.distance_logits, distance)
        + 2 * (ce(out.azimuth_logits, azimuth) + ce(out.elevation_logits, elevation))
    )
    assert torch.allclose(out.loss, expected)
    # stage 1 of the paper: events only
    events_only = model(inputs, labels=events)
    assert torch.allclose(events_only.loss, 1250 * bce) and events_only.distance_loss is None
    # soft targets are accepted for the class heads
    soft = torch.full((3, 21), 1 / 21)
    assert torch.allclose(model(inputs, distance_labels=soft).loss, ce(out.distance_logits, soft))
    with pytest.raises(ValueError, match="given together"):
        model(inputs, azimuth_labels=azimuth)
    assert model(inputs).loss is None


def test_wrong_feature_shape_is_a_clear_error():
    model = SpatialASTModel(tiny_config())
    with pytest.raises(ValueError, match=r"input_features must have shape \(batch, 4, 64, 32\)"):
        model(torch.randn(1, 4, 1024, 128))


def test_training_step_updates_everything_but_the_frozen_table():
    model = SpatialASTForSpatialAudioClassification(tiny_config(drop_path_rate=0.0))
    model.train()
    table = model.spatial_ast.embeddings.position_embeddings.clone()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    inputs, events = tiny_inputs(), torch.zeros(3, 7)
    losses = []
    for _ in range(8):
        out = model(inputs, labels=events, distance_labels=torch.tensor([1, 2, 3]))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    assert losses[-1] < losses[0]
    assert torch.equal(model.spatial_ast.embeddings.position_embeddings, table)
    assert model.spatial_ast.embeddings.feature_norm.num_batches_tracked.item() == 8


def test_gradient_checkpointing_matches():
    model = SpatialASTForSpatialAudioClassification(
        tiny_config(
            drop_path_rate=0.0,
            patch_drop_time_ratio=0.0,
            patch_drop_freq_ratio=0.0,
            spec_augment_freq_mask=0,
            spec_augment_time_mask=0,
        )
    )
    model.train()
    inputs = tiny_inputs()
    plain = model(inputs, labels=torch.zeros(3, 7)).loss
    plain.backward()
    grad = model.heads.event_head.weight.grad.clone()
    model.zero_grad()
    model.activation_checkpointing_enable()
    checkpointed = model(inputs, labels=torch.zeros(3, 7)).loss
    checkpointed.backward()
    assert torch.allclose(plain, checkpointed, atol=1e-6)
    assert torch.allclose(grad, model.heads.event_head.weight.grad, atol=1e-6)


def test_decode_predictions_gives_names_metres_degrees_and_words():
    config = tiny_config(id2label={i: name for i, name in enumerate("Dog Cat Siren Bell Car Bird Rain".split())})
    model = SpatialASTForSpatialAudioClassification(config).eval()
    out = model(tiny_inputs(batch=1))
    out.event_logits = torch.tensor([[5.0, -5.0, 3.0, -1.0, -5.0, -5.0, -5.0]])
    out.distance_logits = torch.nn.functional.one_hot(torch.tensor([5]), 21).float()
    out.azimuth_logits = torch.nn.functional.one_hot(torch.tensor([135]), 360).float()
    out.elevation_logits = torch.nn.functional.one_hot(torch.tensor([60]), 180).float()
    (prediction,) = model.decode_predictions(out)
    assert [name for name, _ in prediction["events"]] == ["Dog", "Siren"]
    assert prediction["distance_m"] == 2.5 and prediction["azimuth_deg"] == 135 and prediction["elevation_deg"] == -30
    assert prediction["direction"] == ("left", "front", "below")
    (top1,) = model.decode_predictions(out, top_k=1)
    assert [name for name, _ in top1["events"]] == ["Dog"]


def test_auto_classes_round_trip(tmp_path):
    config = tiny_config()
    model = SpatialASTForSpatialAudioClassification(config).eval()
    model.save_pretrained(tmp_path)
    SpatialASTFeatureExtractor(max_length_s=1.0, num_frames=64, num_mel_bins=32).save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), SpatialASTConfig)
    assert (tmp_path / "model.safetensors").exists()
    reloaded = AutoModelForAudioClassification.from_pretrained(tmp_path).eval()
    assert isinstance(reloaded, SpatialASTForSpatialAudioClassification)
    inputs = tiny_inputs()
    assert torch.equal(model(inputs).event_logits, reloaded(inputs).event_logits)
    encoder = AutoModel.from_pretrained(tmp_path).eval()
    assert isinstance(encoder, SpatialASTModel)
    assert torch.equal(encoder(inputs).last_hidden_state, model.spatial_ast(inputs).last_hidden_state)
    extractor = AutoFeatureExtractor.from_pretrained(tmp_path)
    assert isinstance(extractor, SpatialASTFeatureExtractor) and extractor.num_frames == 64


def test_trust_remote_code_without_the_package(tmp_path):
    """A plainly saved checkpoint (auto_map and code are written by default) loads in a process where
    transformers_bat cannot be imported (AutoModelForAudioClassification, AutoModel, AutoFeatureExtractor)."""
    model = SpatialASTForSpatialAudioClassification(tiny_config()).eval()
    extractor = SpatialASTFeatureExtractor(max_length_s=1.0, num_frames=64, num_mel_bins=32)
    model.save_pretrained(tmp_path / "ckpt")
    extractor.save_pretrained(tmp_path / "ckpt")
    inputs = tiny_inputs()
    torch.save(inputs, tmp_path / "inputs.pt")
    torch.save(model(inputs).event_logits, tmp_path / "expected.pt")
    script = textwrap.dedent(
        f"""
        import importlib.util, os, sys
        # hide our (editable) install: drop its import hooks and any path holding the package
        sys.meta_path = [f for f in sys.meta_path if "transformers_bat" not in repr(f) and "editable" not in repr(f)]
        sys.path = [p for p in sys.path if not os.path.isdir(os.path.join(p or ".", "transformers_bat"))]
        import torch, numpy as np
        assert importlib.util.find_spec("transformers_bat") is None, "package must not be importable here"
        from transformers import AutoFeatureExtractor, AutoModel, AutoModelForAudioClassification
        model = AutoModelForAudioClassification.from_pretrained({str(tmp_path / "ckpt")!r}, trust_remote_code=True)
        model.eval()
        logits = model(torch.load({str(tmp_path / "inputs.pt")!r})).event_logits
        assert torch.allclose(logits, torch.load({str(tmp_path / "expected.pt")!r})), "logits differ"
        encoder = AutoModel.from_pretrained({str(tmp_path / "ckpt")!r}, trust_remote_code=True)
        assert type(encoder).__name__ == "SpatialASTModel", type(encoder)
        extractor = AutoFeatureExtractor.from_pretrained({str(tmp_path / "ckpt")!r}, trust_remote_code=True)
        features = extractor(np.zeros((2, 32000), dtype=np.float32), sampling_rate=32000)["input_features"]
        assert features.shape == (1, 4, 64, 32)
        from transformers import pipeline
        describe = pipeline(model={str(tmp_path / "ckpt")!r}, trust_remote_code=True)  # task from custom_pipelines
        clip = np.random.default_rng(0).standard_normal((2, 48000)).astype(np.float32)
        result = describe(clip, sampling_rate=32000, top_k=2)
        assert len(result["events"]) == 2 and len(result["segments"]) >= 2, result
        # code loaded from the checkpoint saves itself again: the flat copies re-export with their headers
        model.save_pretrained({str(tmp_path / "resaved")!r})
        extractor.save_pretrained({str(tmp_path / "resaved")!r})
        again = AutoModelForAudioClassification.from_pretrained({str(tmp_path / "resaved")!r}, trust_remote_code=True)
        assert torch.allclose(again.eval()(torch.load({str(tmp_path / "inputs.pt")!r})).event_logits, logits)
        print(type(model).__module__, type(describe).__name__)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["HF_HUB_OFFLINE"] = "1"
    env["HF_MODULES_CACHE"] = str(tmp_path / "modules")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "transformers_modules" in result.stdout and "SpatialAudioClassificationPipeline" in result.stdout
    header = (tmp_path / "resaved" / "modeling_spatial_ast.py").read_text().splitlines()[0]
    assert header.endswith(
        "src/transformers_bat/models/spatial_ast/modeling_spatial_ast.py; edit that file, not this copy."
    )


# ---------------------------------------------------------------- loading never leaves weights silently random


def drop_tensors(folder, *names):
    """Delete tensors from a saved `model.safetensors` in place (a truncated or mis-saved checkpoint)."""
    from safetensors.torch import load_file, save_file

    weights = load_file(folder / "model.safetensors")
    for name in names:
        del weights[name]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})


def test_missing_encoder_tensor_is_an_error_naming_tensor_and_file(tmp_path):
    from transformers_bat.models.spatial_ast.modeling_spatial_ast import MissingPretrainedWeightsError

    model = SpatialASTForSpatialAudioClassification(tiny_config()).eval()
    model.save_pretrained(tmp_path)
    drop_tensors(tmp_path, "spatial_ast.layers.0.mlp.fc1.weight", "spatial_ast.embeddings.cls_tokens")
    weights = tmp_path / "model.safetensors"
    with pytest.raises(MissingPretrainedWeightsError) as caught:
        AutoModelForAudioClassification.from_pretrained(tmp_path)
    assert str(caught.value) == (
        f"SpatialASTForSpatialAudioClassification.from_pretrained: 2 tensor(s) of the pretrained encoder are missing "
        f"from {weights}: spatial_ast.embeddings.cls_tokens, spatial_ast.layers.0.mlp.fc1.weight. Loading would "
        f"initialise them randomly and silently change the model. Check that the file is complete (save or convert "
        f"it again); to initialise them randomly on purpose, pass allow_missing_weights=True."
    )
    with pytest.raises(MissingPretrainedWeightsError, match=r"SpatialASTModel\.from_pretrained: 2 tensor\(s\)"):
        AutoModel.from_pretrained(tmp_path)
    # the deliberate opt-out loads, says what was initialised, and still returns the loading info when asked
    reloaded, info = SpatialASTForSpatialAudioClassification.from_pretrained(
        tmp_path, allow_missing_weights=True, output_loading_info=True
    )
    assert info["missing_keys"] == {"spatial_ast.layers.0.mlp.fc1.weight", "spatial_ast.embeddings.cls_tokens"}
    assert not hasattr(reloaded.config, "allow_missing_weights")
    assert torch.equal(reloaded.heads.event_head.weight, model.heads.event_head.weight)


def test_partial_heads_are_an_error_but_encoder_only_checkpoints_load(tmp_path, caplog):
    from transformers_bat.models.spatial_ast.modeling_spatial_ast import MissingPretrainedWeightsError

    SpatialASTForSpatialAudioClassification(tiny_config()).save_pretrained(tmp_path / "heads")
    drop_tensors(tmp_path / "heads", "heads.event_head.bias")
    with pytest.raises(MissingPretrainedWeightsError, match=r"not encoder-only\) are missing .*heads.event_head.bias"):
        SpatialASTForSpatialAudioClassification.from_pretrained(tmp_path / "heads")

    encoder = SpatialASTModel(tiny_config()).eval()
    encoder.save_pretrained(tmp_path / "encoder")
    with caplog.at_level("WARNING", logger="transformers_bat.models.spatial_ast.modeling_spatial_ast"):
        model, info = AutoModelForAudioClassification.from_pretrained(tmp_path / "encoder", output_loading_info=True)
    assert isinstance(model, SpatialASTForSpatialAudioClassification) and len(info["missing_keys"]) == 14
    assert all(key.startswith("heads.") for key in info["missing_keys"])
    inputs = tiny_inputs()
    assert torch.equal(model.spatial_ast(inputs).last_hidden_state, encoder(inputs).last_hidden_state)
    reports = [r.getMessage() for r in caplog.records if "start from random initialisation" in r.getMessage()]
    assert len(reports) == 1 and reports[0].startswith(
        f"SpatialASTForSpatialAudioClassification.from_pretrained: 14 tensor(s) are not in "
        f"{tmp_path / 'encoder' / 'model.safetensors'} and start from random initialisation: heads.azimuth_head.bias"
    )
    assert reports[0].endswith("This is expected when fine-tuning the task heads from an encoder-only checkpoint.")


def test_remote_code_loading_refuses_a_missing_encoder_tensor(tmp_path):
    """The check lives in the model file, so a checkpoint loaded with trust_remote_code runs it too."""
    model = SpatialASTForSpatialAudioClassification(tiny_config())
    model.save_pretrained(tmp_path / "ckpt")
    drop_tensors(tmp_path / "ckpt", "spatial_ast.layers.1.attention.qkv.weight")
    script = textwrap.dedent(
        f"""
        from transformers import AutoModelForAudioClassification
        try:
            AutoModelForAudioClassification.from_pretrained({str(tmp_path / "ckpt")!r}, trust_remote_code=True)
        except ValueError as error:
            print(type(error).__module__, error)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(HF_HUB_OFFLINE="1", HF_MODULES_CACHE=str(tmp_path / "modules"), TRANSFORMERS_VERBOSITY="error")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("transformers_modules.")
    assert "1 tensor(s) of the pretrained encoder are missing" in result.stdout
    assert "spatial_ast.layers.1.attention.qkv.weight" in result.stdout


def test_save_remote_code_false_writes_weights_and_config_only(tmp_path):
    model = SpatialASTForSpatialAudioClassification(tiny_config())
    model.save_pretrained(tmp_path / "plain", save_remote_code=False)
    extractor = SpatialASTFeatureExtractor(max_length_s=1.0, num_frames=64, num_mel_bins=32)
    extractor.save_pretrained(tmp_path / "plain", save_remote_code=False)
    assert not list((tmp_path / "plain").glob("*.py"))
    assert "auto_map" not in json.loads((tmp_path / "plain" / "preprocessor_config.json").read_text())
    model.save_pretrained(tmp_path / "code")
    extractor.save_pretrained(tmp_path / "code")
    names = {path.name for path in (tmp_path / "code").glob("*.py")}
    assert names == {
        "configuration_spatial_ast.py",
        "modeling_spatial_ast.py",
        "labels.py",
        "multi_accdoa.py",
        "feature_extraction_spatial_ast.py",
        "remote_code.py",
        "spatial_audio_classification.py",
    }
    assert json.loads((tmp_path / "code" / "config.json").read_text())["auto_map"]["AutoModel"] == (
        "modeling_spatial_ast.SpatialASTModel"
    )
