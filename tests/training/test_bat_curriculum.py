"""BAT curriculum training: stage membership (lists and datasets), stage-to-stage weight hand-over, datasets read as
they are, and resuming an interrupted run."""

import json

import datasets
import numpy as np
import pytest
import torch
from transformers import TrainerCallback

from tests.models.bat import bat_tester as bt
from transformers_bat.data.rendering import SceneRenderer
from transformers_bat.training.bat_curriculum import BatQACollator, stage_records, train_curriculum

TYPES = ["CLASSIFICATION", "DOA", "MIXUP_SINGLE_CLASSIFICATION", "MIXUP_SINGLE_DOA", "MIXUP_DIRECTION"]


def toy_records(n: int = 10):
    return [
        {
            "sources": [{"audio_id": f"clip{i}", "reverb_id": f"rir{i}"}],
            "question_type": TYPES[i % len(TYPES)],
            "question": bt.QUESTIONS[i % 4],
            "answer": bt.ANSWERS[i % 7],
        }
        for i in range(n)
    ]


class ToyRenderer(SceneRenderer):
    """Renders a record as a seeded tone clip: enough for the collator, no bank or catalogue needed."""

    def __init__(self):
        pass

    def render(self, record):
        return bt.binaural_clip(int(record["sources"][0]["audio_id"].removeprefix("clip")), seconds=0.5)


class CountingRenderer(ToyRenderer):
    def __init__(self):
        self.calls = 0

    def render(self, record):
        self.calls += 1
        return super().render(record)


def test_collator_caches_scene_features_when_asked():
    """Questions about one scene share its features; cached features equal freshly computed ones."""
    processor = bt.build_bat("llama", seed=4)[1]
    records = toy_records(4) + [dict(toy_records(1)[0], question=bt.QUESTIONS[3])]  # a second question on clip0
    fresh_renderer, cached_renderer = CountingRenderer(), CountingRenderer()
    fresh = BatQACollator(processor, fresh_renderer)
    cached = BatQACollator(processor, cached_renderer, cache_features=True)
    first = cached(records)
    assert cached_renderer.calls == 4  # 5 records, 4 distinct scenes
    again = cached(records[::-1])
    assert cached_renderer.calls == 4  # nothing rendered twice
    reference = fresh(records)
    assert fresh_renderer.calls == 4 and not fresh._features  # without the cache nothing is kept
    for name in reference:
        assert torch.equal(first[name], reference[name])
    assert torch.equal(again["input_features"], reference["input_features"].flip(0))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_precompute_fills_the_cache_with_the_features_training_would_compute(num_workers):
    """Every distinct scene featurised ahead (in worker processes or here), bit for bit as on first use, and never
    again: a Dataset or a list of records alike."""
    processor = bt.build_bat("llama", seed=4)[1]
    records = toy_records(6) + [dict(toy_records(1)[0], question=bt.QUESTIONS[3])]  # clip0 asked twice
    renderer = CountingRenderer()
    cached = BatQACollator(processor, renderer, cache_features=True)
    assert cached.precompute(datasets.Dataset.from_list(records), num_workers=num_workers, progress=False) == 6
    assert cached.precompute(records, num_workers=num_workers, progress=False) == 0  # all there already
    calls = renderer.calls
    batch = cached(records)
    assert renderer.calls == calls  # training renders nothing
    reference = BatQACollator(processor, CountingRenderer())(records)
    for name in reference:
        assert torch.equal(batch[name], reference[name]), name
    with pytest.raises(ValueError, match="cache_features=True"):
        BatQACollator(processor, CountingRenderer()).precompute(records)


class LongSceneRenderer(CountingRenderer):
    """Scenes of 1-2.5 s: longer than the tiny model's 1 s window, like the demo's 10 s scenes."""

    def render(self, record):
        self.calls += 1
        index = int(record["sources"][0]["audio_id"].removeprefix("clip"))
        return bt.binaural_clip(index, seconds=1.0 + 0.5 * (index % 4))


def test_collator_reads_whole_scenes_as_the_processor_does():
    """Training sees what inference sees: every window of each scene (cached ones too), not one crop."""
    processor = bt.build_bat("llama", seed=4)[1]
    records = toy_records(4) + [dict(toy_records(1)[0], question=bt.QUESTIONS[3])]
    renderer = LongSceneRenderer()
    cached = BatQACollator(processor, renderer, cache_features=True)
    batch = cached(records)
    assert batch["audio_window_counts"].tolist() == [1, 2, 2, 3, 1]  # 1, 1.5, 2, 2.5 s and clip0 again
    inference = processor(
        audio=[renderer.render(record) for record in records],
        text=[record["question"] for record in records],
        answers=[record["answer"] for record in records],
        sampling_rate=bt.SAMPLING_RATE,
    )
    for name in inference:
        assert torch.equal(batch[name], inference[name]), name
    again = cached(records[::-1])
    assert renderer.calls == 4 + 5  # the cache rendered each scene once; the reference above rendered all five
    assert again["audio_window_counts"].tolist() == [1, 3, 2, 2, 1]
    assert torch.equal(again["input_features"][1:4], inference["input_features"][5:8])  # clip3's three windows


def test_stage_records_are_cumulative():
    records = toy_records(10)
    assert {r["question_type"] for r in stage_records(records, "stage1")} == {"CLASSIFICATION", "DOA"}
    assert len(stage_records(records, "stage2")) == 8 and len(stage_records(records, "stage3")) == 10
    assert len(stage_records(records, "stage4")) == 10
    with pytest.raises(ValueError, match="Unknown stage"):
        stage_records(records, "stage5")


def test_stage_records_filter_a_dataset_on_its_question_types():
    """A Dataset stays a Dataset (an Arrow filter, not a list); an IterableDataset is filtered lazily."""
    records = toy_records(10)
    dataset = datasets.Dataset.from_list(records)
    for stage in ("stage1", "stage2", "stage3", "stage4"):
        selected = stage_records(dataset, stage)
        assert isinstance(selected, datasets.Dataset)
        assert list(selected["question"]) == [r["question"] for r in stage_records(records, stage)]
    assert set(stage_records(dataset, "stage1")["question_type"]) == {"CLASSIFICATION", "DOA"}
    streamed = stage_records(dataset.to_iterable_dataset(), "stage2")
    assert isinstance(streamed, datasets.IterableDataset)
    assert [r["question_type"] for r in streamed] == [r["question_type"] for r in stage_records(records, "stage2")]
    with pytest.raises(ValueError, match="Unknown stage"):
        stage_records(dataset, "stage5")
    with pytest.raises(ValueError, match="Unknown SpatialSoundQA question_type"):
        stage_records(datasets.Dataset.from_list([dict(records[0], question_type="NOT_A_TYPE")]), "stage1")


class StepCounter(TrainerCallback):
    def __init__(self):
        self.steps = []

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.append(state.global_step)


class Interrupt(TrainerCallback):
    """Simulates a crash in stage 2 right after its first checkpoint."""

    def on_save(self, args, state, control, **kwargs):
        if "stage2" in args.output_dir and state.global_step == 2:
            raise KeyboardInterrupt("simulated crash")


def run(tmp_path, name, callbacks=None, model=None):
    model = model or bt.build_bat("llama", seed=4)[0]
    processor = bt.build_bat("llama", seed=4)[1]
    collator = BatQACollator(processor, ToyRenderer())
    records = toy_records(8)
    stages = {"stage1": stage_records(records, "stage1"), "stage2": stage_records(records, "stage2")}
    arguments = dict(
        per_device_train_batch_size=2,
        max_steps=4,
        learning_rate=5e-3,
        save_steps=2,
        use_cpu=True,
        seed=0,
        logging_steps=1,
        data_seed=0,
    )
    histories = train_curriculum(model, collator, stages, tmp_path / name, arguments, callbacks=callbacks)
    return model, histories


@pytest.mark.slow
def test_interrupted_curriculum_resumes_to_the_same_weights(tmp_path):
    uninterrupted, histories = run(tmp_path, "straight")
    assert list(histories) == ["stage1", "stage2"]
    first_losses = [e["loss"] for e in histories["stage1"] if "loss" in e]
    assert len(first_losses) == 4 and all(np.isfinite(first_losses))
    assert json.loads((tmp_path / "straight" / "curriculum.json").read_text())["completed"] == ["stage1", "stage2"]

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, "crashy", callbacks=[Interrupt()])
    assert json.loads((tmp_path / "crashy" / "curriculum.json").read_text())["completed"] == ["stage1"]
    counter = StepCounter()
    resumed, histories = run(tmp_path, "crashy", callbacks=[counter])  # a fresh process: new model, same folder
    assert list(histories) == ["stage2"]  # stage 1 is loaded, not retrained
    assert counter.steps == [3, 4]  # stage 2 continued from its step-2 checkpoint
    assert [e["step"] for e in histories["stage2"] if "loss" in e] == [1, 2, 3, 4]
    for (name, a), b in zip(uninterrupted.named_parameters(), resumed.parameters()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_corrupted_state_and_empty_stage(tmp_path):
    model, processor = bt.build_bat("llama", seed=4)
    collator = BatQACollator(processor, ToyRenderer())
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "curriculum.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupted"):
        train_curriculum(model, collator, {"stage1": toy_records(2)}, tmp_path / "run")
    with pytest.raises(ValueError, match="no training records"):
        train_curriculum(model, collator, {"stage1": []}, tmp_path / "other")


def test_stages_are_evaluated_on_held_out_records_of_their_types(tmp_path):
    model, processor = bt.build_bat("llama", seed=4)
    collator = BatQACollator(processor, ToyRenderer())
    records, held_out = toy_records(8), toy_records(10)[5:]
    stages = {"stage1": stage_records(records, "stage1"), "stage2": stage_records(records, "stage2")}
    arguments = dict(per_device_train_batch_size=2, max_steps=2, use_cpu=True, seed=0, logging_steps=1)
    histories = train_curriculum(model, collator, stages, tmp_path / "run", arguments, eval_records=held_out)
    for name in stages:
        evaluation = [entry for entry in histories[name] if "eval_answer_token_accuracy" in entry]
        assert len(evaluation) == 1, histories[name]
        assert 0.0 <= evaluation[0]["eval_answer_exact_match"] <= evaluation[0]["eval_answer_token_accuracy"] <= 1.0
        assert np.isfinite(evaluation[0]["eval_loss"])
    type_e_only, stage1 = held_out[-1:], {"stage1": records}
    with pytest.warns(UserWarning, match="no evaluation records of its question types"):
        history = train_curriculum(model, collator, stage1, tmp_path / "e", arguments, eval_records=type_e_only)
    assert not any("eval_loss" in entry for entry in history["stage1"])


def test_curriculum_from_dataset_stages_trains_as_from_lists(tmp_path):
    """Datasets per stage (rows reach the collator as dicts) give the very weights and held-out figures of lists."""
    records, held_out = toy_records(8), toy_records(10)[5:]
    dataset, eval_dataset = datasets.Dataset.from_list(records), datasets.Dataset.from_list(held_out)
    arguments = dict(
        per_device_train_batch_size=2,
        max_steps=2,
        learning_rate=5e-3,
        use_cpu=True,
        seed=0,
        logging_steps=1,
        data_seed=0,
    )
    results = {}
    for kind, train, evaluation in (("lists", records, held_out), ("datasets", dataset, eval_dataset)):
        model, processor = bt.build_bat("llama", seed=4)
        stages = {name: stage_records(train, name) for name in ("stage1", "stage2")}
        # remove_unused_columns=True would strip a Dataset down to the model's arguments: the curriculum overrides it
        given = arguments | {"remove_unused_columns": True}
        histories = train_curriculum(
            model, BatQACollator(processor, ToyRenderer()), stages, tmp_path / kind, given, eval_records=evaluation
        )
        figures = [e for name in stages for e in histories[name] if "eval_answer_token_accuracy" in e]
        results[kind] = model, figures
    (from_lists, list_figures), (from_datasets, dataset_figures) = results["lists"], results["datasets"]
    assert len(dataset_figures) == 2
    for a, b in zip(list_figures, dataset_figures, strict=True):
        assert a["eval_answer_token_accuracy"] == b["eval_answer_token_accuracy"]
        assert a["eval_loss"] == pytest.approx(b["eval_loss"], abs=1e-6)
    for (name, a), b in zip(from_lists.named_parameters(), from_datasets.parameters()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_a_stage_can_stream_from_an_iterable_dataset(tmp_path):
    model, processor = bt.build_bat("llama", seed=4)
    stream = stage_records(datasets.Dataset.from_list(toy_records(8)).to_iterable_dataset(), "stage1")
    arguments = dict(per_device_train_batch_size=2, max_steps=2, use_cpu=True, seed=0, logging_steps=1)
    histories = train_curriculum(
        model, BatQACollator(processor, ToyRenderer()), {"stage1": stream}, tmp_path, arguments
    )
    losses = [entry["loss"] for entry in histories["stage1"] if "loss" in entry]
    assert len(losses) == 2 and all(np.isfinite(losses))


def test_frozen_encoder_cache_encodes_each_window_once_and_changes_nothing():
    from transformers_bat.training.bat_curriculum import frozen_encoder_cache

    model, processor = bt.build_bat("llama", seed=4)
    model.eval()  # (in training the frozen tower stays in eval mode too; eval here keeps the projector exact)
    collator = BatQACollator(processor, ToyRenderer())
    batch = collator(toy_records(4))
    expected = model(**batch).loss
    calls = []
    embeddings = model.audio_tower.embeddings  # runs only when the tower really encodes
    embeddings.register_forward_pre_hook(lambda module, args: calls.append(args[0].shape[0]))
    with frozen_encoder_cache(model) as memo:
        first = model(**batch).loss
        second = model(**batch).loss
    assert torch.allclose(first, expected) and torch.allclose(second, expected)
    assert len(memo) == calls[0] and calls[1:] == []  # the second pass encoded nothing
    model(**batch)
    assert len(calls) == 2  # restored: the tower runs again
    model.audio_tower.requires_grad_(True)
    with frozen_encoder_cache(model) as memo:
        model(**batch)
    assert memo == {}  # a tower that trains is never memoised
