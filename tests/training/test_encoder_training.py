"""Spatial-AST training: rendered batches, layer-wise decay, a tiny Trainer run, evaluation and reload."""

import itertools

import numpy as np
import pytest
import torch
from transformers import TrainingArguments

from transformers_bat import SpatialASTConfig, SpatialASTFeatureExtractor, SpatialASTForSpatialAudioClassification
from transformers_bat import labels as lb
from transformers_bat.evaluation.encoder_evaluation import metrics_from_predictions, predict_spatial_ast
from transformers_bat.training import (
    ENCODER_LABEL_NAMES,
    ClassBalancedSampler,
    ExampleList,
    SpatialASTTrainer,
    SpatialAudioCollator,
    SpatialAudioDataset,
    class_balanced_weights,
    examples_from_bank,
    examples_from_records,
    layer_decay_parameter_groups,
    soft_class_targets,
)

CLASSES = ["Dog", "Siren", "Engine", "Rain"]


def tiny_model(seed=0):
    torch.manual_seed(seed)
    config = SpatialASTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_frames=32,
        num_mel_bins=32,
        id2label=dict(enumerate(CLASSES)),
        spec_augment_freq_mask=4,
        spec_augment_time_mask=4,
        normalize_ipd_channels=True,
    )
    return SpatialASTForSpatialAudioClassification(config)


def small_extractor():
    return SpatialASTFeatureExtractor(max_length_s=0.5, num_frames=32, num_mel_bins=32, max_frequency=14000)


def test_collator_renders_deterministic_batches(toy_bank, toy_catalogue):
    examples = examples_from_bank(toy_catalogue, toy_bank, 6, seed=1)
    assert len({e.audio_id for e in examples}) == 6  # a permutation: every clip used before any repeats
    label2id = {name: i for i, name in enumerate(CLASSES)}
    collator = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, train=False)
    first, second = collator(examples), collator(examples)
    assert first["input_features"].shape == (6, 4, 32, 32)
    assert torch.equal(first["input_features"], second["input_features"])
    assert torch.equal(first["azimuth_labels"], torch.tensor([int(round(e.azimuth_deg)) % 360 for e in examples]))
    assert first["labels"].sum(1).tolist() == [1.0] * 6
    training = SpatialAudioCollator(
        toy_catalogue, toy_bank, small_extractor(), label2id, mixup_probability=1.0, seed=3
    )
    mixed = training(examples)["labels"]
    assert torch.allclose(mixed.sum(1), torch.ones(6)) and (mixed.max(1).values < 1).any()  # soft event targets
    again = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, mixup_probability=1.0, seed=3)
    assert torch.equal(
        again(examples)["input_features"],
        SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, mixup_probability=1.0, seed=3)(
            examples
        )["input_features"],
    )
    events_only = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, with_spatial_labels=False)
    assert set(events_only(examples)) == {"input_features", "labels"}
    with pytest.raises(ValueError, match="not in the model's label space"):
        SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), {"Dog": 0}, train=False)(examples)


def test_collator_device_option(toy_bank, toy_catalogue):
    """`device=` renders where asked (CPU here: identical batches); a GPU collator refuses to run in a worker."""
    examples = examples_from_bank(toy_catalogue, toy_bank, 4, seed=1)
    label2id = {name: i for i, name in enumerate(CLASSES)}
    options = dict(mixup_probability=1.0, seed=3)
    default = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, **options)(examples)
    explicit = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, device="cpu", **options)
    for name, value in explicit(examples).items():
        assert torch.equal(value, default[name]), name
    gpu = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, device="cuda")
    loader = torch.utils.data.DataLoader(ExampleList(examples), batch_size=2, collate_fn=gpu, num_workers=1)
    with pytest.raises(RuntimeError, match="dataloader_num_workers=0"):
        next(iter(loader))


def test_collator_windows_are_the_loudest_slices_of_the_full_rendering(toy_bank, toy_catalogue):
    """Evaluation crops the loudest grid window of the dry source and renders only it: equal to the full scene."""
    from transformers_bat.simulation.spatialize import prepare_source, spatialize
    from transformers_bat.training.encoder_data import loudest_window

    examples = examples_from_bank(toy_catalogue, toy_bank, 4, seed=2)
    label2id = {name: i for i, name in enumerate(CLASSES)}
    collator = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, train=False)
    waveforms, _ = collator.render(examples)
    crop = collator.feature_extractor.num_samples
    assert waveforms.shape == (4, 2, crop)
    for example, waveform in zip(examples, waveforms):
        source = prepare_source(*toy_catalogue.load(example.audio_id))
        full = spatialize(source[None], torch.from_numpy(toy_bank.load(example.reverb_id)))[0]
        start = loudest_window(source[None], np.arange(0, len(source) - crop + 1, crop // 4), crop)
        torch.testing.assert_close(waveform, full[:, start : start + crop], atol=1e-4, rtol=0)


def test_soft_direction_targets_wrap_around():
    targets = soft_class_targets(torch.tensor([359.0, 10.0]), 360, sigma_deg=5.0, circular=True)
    assert torch.allclose(targets.sum(1), torch.ones(2))
    assert targets[0, 1] > targets[0, 350] > 0 and targets[0].argmax() == 359


def test_layer_decay_groups():
    model = tiny_model()
    groups = layer_decay_parameter_groups(model, learning_rate=1e-3, weight_decay=0.05, layer_decay=0.5)
    by_name = {id(p): g for g in groups for p in g["params"]}
    assert by_name[id(model.heads.event_head.weight)]["lr"] == pytest.approx(1e-3)
    assert by_name[id(model.spatial_ast.layers[1].mlp.fc1.weight)]["lr"] == pytest.approx(5e-4)
    assert by_name[id(model.spatial_ast.layers[0].mlp.fc1.weight)]["lr"] == pytest.approx(2.5e-4)
    assert by_name[id(model.spatial_ast.embeddings.patch_embeddings.weight)]["lr"] == pytest.approx(1.25e-4)
    assert by_name[id(model.spatial_ast.layers[0].mlp.fc1.bias)]["weight_decay"] == 0.0
    assert by_name[id(model.spatial_ast.embeddings.cls_tokens)]["weight_decay"] == 0.0
    assert sum(len(g["params"]) for g in groups) == sum(1 for p in model.parameters() if p.requires_grad)


def test_class_balanced_weights(toy_catalogue, toy_bank):
    examples = examples_from_bank(toy_catalogue, toy_bank, 10, seed=0)
    weights = class_balanced_weights(examples, {name: i for i, name in enumerate(CLASSES)})
    assert len(weights) == 10 and min(weights) > 0


def test_class_balanced_sampler_draws_by_weight_per_epoch():
    sampler = ClassBalancedSampler([0.0, 1.0, 0.0, 3.0], num_samples=400, seed=5)
    first = list(sampler)
    assert len(first) == len(sampler) == 400 and set(first) == {1, 3}
    assert 0.65 < first.count(3) / 400 < 0.85  # 3 : 1
    assert list(sampler) == first  # an epoch's draw depends on (seed, epoch) only
    assert list(ClassBalancedSampler([0.0, 1.0, 0.0, 3.0], num_samples=400, seed=5)) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert len(ClassBalancedSampler([1.0, 2.0])) == 2
    for weights in ([], [1.0, -1.0], [0.0, 0.0], [1.0, float("nan")], [[1.0]]):
        with pytest.raises(ValueError, match="weights must be"):
            ClassBalancedSampler(weights)


def test_trainer_draws_class_balanced_batches(tmp_path):
    """With weights, the Trainer's loader draws by them (a weight of zero is never seen), a new draw each epoch."""
    args = TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=4, use_cpu=True, report_to="none", seed=3
    )
    trainer = SpatialASTTrainer(
        model=tiny_model(),
        args=args,
        train_dataset=ExampleList(range(6)),
        data_collator=torch.tensor,
        class_balanced_weights=[0.0, 1.0, 0.0, 1.0, 0.0, 1.0],
    )
    loader = trainer.get_train_dataloader()
    loader.set_epoch(0)
    epoch0 = torch.cat(list(loader)).tolist()
    loader.set_epoch(1)
    epoch1 = torch.cat(list(loader)).tolist()
    assert len(epoch0) == 6 and set(epoch0 + epoch1) <= {1, 3, 5} and epoch0 != epoch1
    plain = SpatialASTTrainer(
        model=tiny_model(), args=args, train_dataset=ExampleList(range(6)), data_collator=torch.tensor
    )
    assert sorted(torch.cat(list(plain.get_train_dataloader())).tolist()) == list(range(6))
    trainer.class_balanced_weights = [1.0] * 5
    with pytest.raises(ValueError, match="5 weights for a train_dataset of 6 examples"):
        trainer.get_train_dataloader()


def test_examples_from_records():
    def source(audio_id, reverb_id, azimuth_deg=10.0):
        return {"audio_id": audio_id, "reverb_id": reverb_id, "labels": ["Dog"], "azimuth_deg": azimuth_deg,
                "elevation_deg": 0.0, "distance_m": 1.0}  # fmt: skip

    records = [
        {"sources": [source("a", "r")]},
        {"sources": [source("a", "r")]},
        {"sources": [source("b", "s", 1.0), source("c", "t")]},
    ]
    examples = examples_from_records(records)
    assert len(examples) == 1 and examples[0].labels == ("Dog",) and examples[0].azimuth_deg == 10.0
    with pytest.raises(ValueError, match="No single-source records"):
        examples_from_records(records[2:])


@pytest.mark.slow
def test_trainer_run_saves_reloads_and_reproduces_its_metrics(toy_bank, toy_catalogue, tmp_path):
    examples = examples_from_bank(toy_catalogue, toy_bank, 32, seed=0)
    held_out = examples_from_bank(toy_catalogue, toy_bank, 16, seed=1)
    model = tiny_model()
    label2id = model.config.label2id
    train_collator = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, seed=0)
    eval_collator = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, train=False)
    args = TrainingArguments(
        output_dir=str(tmp_path / "run"),
        per_device_train_batch_size=8,
        num_train_epochs=6,
        learning_rate=3e-3,
        warmup_steps=2,
        lr_scheduler_type="cosine",
        weight_decay=5e-4,
        adam_beta2=0.95,
        use_cpu=True,
        report_to="none",
        remove_unused_columns=False,
        label_names=ENCODER_LABEL_NAMES,
        logging_steps=1,
        save_strategy="no",
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = SpatialASTTrainer(
        model=model,
        args=args,
        train_dataset=SpatialAudioDataset(examples, seed=0),
        data_collator=train_collator,
        layer_decay=0.75,
    )
    result = trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    assert result.global_step == 24
    predictions = predict_spatial_ast(model, held_out, eval_collator, batch_size=8, progress=False)
    metrics = metrics_from_predictions(predictions)
    assert set(metrics) >= {"mAP", "distance_accuracy", "DER", "ER20", "MAE_deg", "left_right", "octant"}
    model.save_pretrained(tmp_path / "saved")
    reloaded = SpatialASTForSpatialAudioClassification.from_pretrained(tmp_path / "saved")
    again = metrics_from_predictions(predict_spatial_ast(reloaded, held_out, eval_collator, progress=False))
    assert again == metrics
    with pytest.raises(ValueError, match="label spaces do not match"):
        predict_spatial_ast(
            reloaded,
            held_out,
            SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), {"Dog": 0}, train=False),
            progress=False,
        )
    with pytest.raises(ValueError, match="empty"):
        predict_spatial_ast(reloaded, [], eval_collator, progress=False)


def test_predictions_can_return_the_rendered_clips(toy_bank, toy_catalogue):
    """The clips come back whole, as the model heard them (window by window): what the collator renders when its
    window is the whole clip."""
    held_out = examples_from_bank(toy_catalogue, toy_bank, 6, seed=1)
    model = tiny_model()
    collator = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), model.config.label2id, train=False)
    predictions = predict_spatial_ast(model, held_out, collator, batch_size=4, progress=False, return_waveforms=True)
    whole_window = SpatialASTFeatureExtractor(max_length_s=10.0, num_frames=32, num_mel_bins=32)
    whole = SpatialAudioCollator(toy_catalogue, toy_bank, whole_window, model.config.label2id, train=False)
    rendered = torch.cat([whole.render(held_out[:4])[0], whole.render(held_out[4:])[0]])
    assert predictions["waveforms"].shape == tuple(rendered.shape) == (6, 2, 320_000)
    np.testing.assert_allclose(predictions["waveforms"], rendered.numpy())
    plain = predict_spatial_ast(model, held_out, collator, batch_size=4, progress=False)
    assert "waveforms" not in plain
    np.testing.assert_allclose(plain["event_scores"], predictions["event_scores"])


def test_loudest_window_skips_silence():
    from transformers_bat.training.encoder_data import loudest_window

    waveform = torch.zeros(2, 1000)
    waveform[:, 600:700] = 1.0
    assert loudest_window(waveform, [0, 300, 550, 800], 200) == 550


def test_multi_source_scenes_pair_sources_in_one_room_with_distinct_classes(toy_bank, toy_catalogue):
    from transformers_bat.training.encoder_data import multi_source_scenes

    examples = examples_from_bank(toy_catalogue, toy_bank, 40, seed=0)
    scenes = multi_source_scenes(examples, toy_bank, source_counts=(0.2, 0.4, 0.4), seed=1, min_separation_deg=30)
    assert [scene[0] for scene in scenes] == examples and scenes == multi_source_scenes(
        examples, toy_bank, source_counts=(0.2, 0.4, 0.4), seed=1, min_separation_deg=30
    )
    sizes = [len(scene) for scene in scenes]
    assert set(sizes) == {1, 2, 3}
    for scene in scenes:
        labels = [label for example in scene for label in example.labels]
        assert len(labels) == len(set(labels))  # no class twice
        for a, b in itertools.combinations(scene, 2):
            assert lb.great_circle_deg(a.azimuth_deg, a.elevation_deg, b.azimuth_deg, b.elevation_deg) >= 30
    same_room = [len({toy_bank.info(e.reverb_id).room_id for e in scene}) == 1 for scene in scenes if len(scene) > 1]
    assert np.mean(same_room) > 0.9
    with pytest.raises(ValueError, match="shares of 1, 2"):
        multi_source_scenes(examples, toy_bank, source_counts=())


def test_collator_renders_scenes_as_spatialsoundqa_mixes_them(toy_bank, toy_catalogue):
    """A two-source scene (evaluation: 0 dB) is the mean of its two single-source renderings in the same window (the
    release's (w1 + w2) / 2, as BAT's questions hear them),
    with every source's labels; single-source batches are unchanged."""
    from transformers_bat.models.spatial_ast.multi_accdoa import accdoa_targets
    from transformers_bat.training.encoder_data import multi_source_scenes

    examples = examples_from_bank(toy_catalogue, toy_bank, 12, seed=4)
    scenes = [s for s in multi_source_scenes(examples, toy_bank, (0.0, 1.0), seed=0) if len(s) == 2][:3]
    label2id = {name: i for i, name in enumerate(CLASSES)}
    long_window = SpatialASTFeatureExtractor(max_length_s=10.0, num_frames=32, num_mel_bins=32)
    collator = SpatialAudioCollator(
        toy_catalogue, toy_bank, long_window, label2id, train=False, accdoa_tracks=2, direction_sigma_deg=5.0
    )
    mixed, events = collator.render(scenes)
    first, _ = collator.render([scene[0] for scene in scenes])
    second, _ = collator.render([scene[1] for scene in scenes])
    torch.testing.assert_close(mixed, (first + second) / 2, atol=1e-4, rtol=0)
    assert events.sum(1).tolist() == [2.0] * 3
    batch = collator.batch(scenes, mixed, events)
    assert torch.allclose(batch["azimuth_labels"].sum(1), torch.ones(3))  # a mixture of the two sources' targets
    peaks = batch["azimuth_labels"][0].topk(2).indices.tolist()
    assert sorted(peaks) == sorted(int(round(e.azimuth_deg)) % 360 for e in scenes[0])
    expected = accdoa_targets(
        [
            [(tuple(label2id[n] for n in e.labels), e.azimuth_deg, e.elevation_deg, e.distance_m) for e in s]
            for s in scenes
        ],
        len(CLASSES),
        2,
    )
    assert torch.equal(batch["accdoa_labels"], expected)
    short = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, train=False)
    waveforms, _ = short.render(scenes)
    assert waveforms.shape == (3, 2, short.feature_extractor.num_samples)
    with pytest.raises(ValueError, match="Mixup and multi-source"):
        SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, mixup_probability=0.5)(scenes)
    trained = SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, mixup_probability=0, seed=2)
    assert torch.equal(
        trained(scenes)["input_features"],
        SpatialAudioCollator(toy_catalogue, toy_bank, small_extractor(), label2id, mixup_probability=0, seed=2)(
            scenes
        )["input_features"],
    )
