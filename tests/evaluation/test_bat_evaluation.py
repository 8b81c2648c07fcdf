"""Answering SpatialSoundQA records: whole scenes, read window by window as the processor reads any clip."""

from __future__ import annotations

from tests.models.bat import bat_tester as bt
from transformers_bat.evaluation.bat_evaluation import answer_records


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
