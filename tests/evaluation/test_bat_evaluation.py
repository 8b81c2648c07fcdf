"""Answering SpatialSoundQA records: whole scenes, read window by window as the processor reads any clip; datasets
read batch by batch."""

from __future__ import annotations

import datasets
import pytest

from tests.models.bat import bat_tester as bt
from transformers_bat.evaluation.bat_evaluation import answer_records, record_batches, write_predictions


class SceneOfSeconds:
    """Renders record i as a seeded 2.5 s clip: longer than the tiny model's 1 s window."""

    def render(self, record):
        return bt.binaural_clip(record["seed"], seconds=2.5)


def test_answers_read_every_window_of_the_scene():
    model, processor = bt.build_bat("llama", seed=1)
    records = [{"seed": seed, "question": question} for seed, question in enumerate(bt.QUESTIONS[:3])]
    windows = []
    hook = model.audio_tower.register_forward_hook(lambda module, args, output: windows.append(args[0].shape[0]))
    try:
        answers = answer_records(
            model, processor, SceneOfSeconds(), records, batch_size=2, progress=False, num_beams=1, max_new_tokens=4
        )
    finally:
        hook.remove()
    assert windows == [6, 3]  # 3 windows per scene, batches of 2 and 1
    for record, answer in zip(records, answers, strict=True):
        inputs = processor(audio=SceneOfSeconds().render(record), text=record["question"], sampling_rate=32000)
        sequences = model.generate(**inputs, num_beams=1, max_new_tokens=4)
        assert processor.decode_answers(sequences, inputs["input_ids"].shape[1]) == [answer]


def test_a_dataset_is_answered_batch_by_batch_as_a_list_is(tmp_path, monkeypatch):
    model, processor = bt.build_bat("llama", seed=1)
    records = [{"seed": seed, "question": question} for seed, question in enumerate(bt.QUESTIONS[:3])]
    dataset = datasets.Dataset.from_list(records)
    options = dict(batch_size=2, progress=False, num_beams=1, max_new_tokens=4)
    expected = answer_records(model, processor, SceneOfSeconds(), records, **options)
    monkeypatch.setattr(datasets.Dataset, "to_list", lambda self: pytest.fail("the dataset was materialised"))
    assert answer_records(model, processor, SceneOfSeconds(), dataset, **options) == expected
    assert answer_records(model, processor, SceneOfSeconds(), dataset.to_iterable_dataset(), **options) == expected
    write_predictions(tmp_path / "predictions.jsonl", dataset, expected)
    assert len((tmp_path / "predictions.jsonl").read_text().splitlines()) == 3
    with pytest.raises(ValueError, match="the split is empty"):
        answer_records(model, processor, SceneOfSeconds(), dataset.select([]), **options)


def test_record_batches_stream_an_iterable_dataset():
    """Only the rows of the batches asked for are read: a streamed split is never held whole."""
    produced = []

    def rows():
        for index in range(10):
            produced.append(index)
            yield {"seed": index, "question": "q"}

    batches = record_batches(datasets.IterableDataset.from_generator(rows), batch_size=4)
    assert [row["seed"] for row in next(batches)] == [0, 1, 2, 3]
    assert len(produced) < 10
    assert [len(batch) for batch in batches] == [4, 2]
    assert [len(batch) for batch in record_batches([{"seed": i} for i in range(5)], 2)] == [2, 2, 1]
