"""The spatial-audio-qa pipeline: input forms, batching, generation kwargs, parsed answers, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from transformers import pipeline
from transformers.pipelines import PIPELINE_REGISTRY

from tests.models.bat import bat_tester as bt  # noqa: E402
from transformers_bat.pipelines import SpatialAudioQAPipeline  # noqa: E402

RATE = bt.SAMPLING_RATE
TRAINED = [  # (clip seed, question, answer) the tiny model is overfitted to
    (0, "Where is the sound coming from?", "left, front, below; 2.5m"),
    (1, "Is the car on the left of the dog?", "Yes"),
]


@pytest.fixture(scope="module")
def saved_bat(tmp_path_factory):
    """A tiny BAT overfitted to answer TRAINED, saved with its processor."""
    model, processor = bt.build_bat("llama", seed=4)
    inputs = processor(
        audio=[bt.binaural_clip(seed) for seed, _, _ in TRAINED],
        text=[q for _, q, _ in TRAINED],
        answers=[a for _, _, a in TRAINED],
        sampling_rate=RATE,
    )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(60):
        loss = model(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if loss.item() < 0.02:
            break
    model.eval()
    directory = tmp_path_factory.mktemp("bat")
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def qa(saved_bat):
    return pipeline("spatial-audio-qa", model=str(saved_bat), num_beams=1, max_new_tokens=32)


def test_registered_task(qa):
    assert "spatial-audio-qa" in PIPELINE_REGISTRY.get_supported_tasks()
    assert isinstance(qa, SpatialAudioQAPipeline)


def test_answers_and_parsed_structure(qa):
    result = qa(bt.binaural_clip(0), question=TRAINED[0][1], sampling_rate=RATE)
    assert result == {
        "question": TRAINED[0][1],
        "answer": "left, front, below; 2.5m",
        "answer_type": "direction_distance",
        "parsed": {"lateral": "left", "frontal": "front", "vertical": "below", "distance_m": 2.5},
    }
    yes = qa(bt.binaural_clip(1), question=TRAINED[1][1], sampling_rate=RATE)
    assert (yes["answer"], yes["answer_type"], yes["parsed"]) == ("Yes", "yes_no", True)
    forced = qa(bt.binaural_clip(1), question=TRAINED[1][1], sampling_rate=RATE, question_type="DOA")
    assert (forced["answer_type"], forced["parsed"]) == ("direction_distance", None)  # format mismatch


def test_input_forms(qa, tmp_path):
    clip = bt.binaural_clip(0)
    path = tmp_path / "clip.flac"
    sf.write(path, clip.T, RATE)
    question = TRAINED[0][1]
    expected = qa(clip, question=question, sampling_rate=RATE)["answer"]
    assert qa(str(path), question=question)["answer"] == expected
    assert qa(path, question=question)["answer"] == expected
    assert qa(path.read_bytes(), question=question)["answer"] == expected
    assert qa({"array": clip, "sampling_rate": RATE}, question=question)["answer"] == expected
    assert qa(torch.from_numpy(clip), question=question, sampling_rate=RATE)["answer"] == expected
    assert qa({"audio": str(path), "question": question})["answer"] == expected
    rows = qa([{"audio": str(path), "question": q} for _, q, _ in TRAINED])
    assert [r["question"] for r in rows] == [q for _, q, _ in TRAINED]


def test_lists_batches_and_question_pairing(qa):
    clips = [bt.binaural_clip(seed) for seed, _, _ in TRAINED]
    questions = [q for _, q, _ in TRAINED]
    one_by_one = [qa(c, question=q, sampling_rate=RATE)["answer"] for c, q in zip(clips, questions)]
    assert one_by_one == [a for _, _, a in TRAINED]
    for batch_size in (1, 2):
        results = qa(clips, question=questions, sampling_rate=RATE, batch_size=batch_size)
        assert [r["answer"] for r in results] == one_by_one
    many = qa(clips[0], question=questions, sampling_rate=RATE, batch_size=2)  # one clip, many questions
    assert [r["question"] for r in many] == questions and len(many) == 2
    shared = qa(clips, question=questions[0], sampling_rate=RATE)  # many clips, one question
    assert [r["question"] for r in shared] == [questions[0]] * 2
    assert qa(np.stack(clips), question=questions, sampling_rate=RATE)[1]["answer"] == "Yes"


def test_long_clips_are_answered_from_all_their_windows(qa):
    """A clip longer than the 1 s window is not cropped: the answer is the model's on all its windows, batched
    pipelines line up clips of different window counts, and `truncation=True` reads only the first window."""
    long_clip = np.concatenate([bt.binaural_clip(5, seconds=2.0), bt.binaural_clip(0, seconds=1.5)], axis=1)
    clips, question = [long_clip, bt.binaural_clip(1)], "Where is the sound coming from?"
    model, processor = qa.model, qa.processor
    expected = []
    for clip in clips:
        inputs = processor(audio=clip, text=question, sampling_rate=RATE)
        sequences = model.generate(**inputs, num_beams=1, max_new_tokens=32)
        expected.append(processor.decode_answers(sequences, inputs["input_ids"].shape[1])[0])
    windows = []
    hook = model.audio_tower.register_forward_hook(lambda module, args, output: windows.append(args[0].shape[0]))
    try:
        assert qa(long_clip, question=question, sampling_rate=RATE)["answer"] == expected[0]
        assert windows == [4]  # 3.5 s in 1 s windows
        for batch_size in (1, 2):
            windows.clear()
            results = qa(clips, question=question, sampling_rate=RATE, batch_size=batch_size)
            assert [r["answer"] for r in results] == expected
            assert windows == ([4, 1] if batch_size == 1 else [5])
    finally:
        hook.remove()
    first = processor(audio=long_clip[:, :RATE], text=question, sampling_rate=RATE)
    sequences = model.generate(**first, num_beams=1, max_new_tokens=32)
    truncated = qa(long_clip, question=question, sampling_rate=RATE, truncation=True)["answer"]
    assert truncated == processor.decode_answers(sequences, first["input_ids"].shape[1])[0]


def test_batches_need_left_padding(saved_bat):
    qa = pipeline("spatial-audio-qa", model=str(saved_bat), num_beams=1, max_new_tokens=4)
    qa.tokenizer.padding_side = "right"
    clips = [bt.binaural_clip(seed) for seed, _, _ in TRAINED]
    with pytest.raises(ValueError, match="right-padded"):
        qa(clips, question=[q for _, q, _ in TRAINED], sampling_rate=RATE, batch_size=2)


def test_processor_built_for_another_model_is_refused(saved_bat):
    from transformers import AutoModelForMultimodalLM, AutoProcessor

    model = AutoModelForMultimodalLM.from_pretrained(str(saved_bat))
    processor = AutoProcessor.from_pretrained(str(saved_bat))
    processor.num_query_tokens = model.config.num_query_tokens + 2
    with pytest.raises(ValueError, match="writes 6 audio placeholders per clip but the model reads 4"):
        pipeline("spatial-audio-qa", model=model, processor=processor)


def test_generation_kwargs(qa):
    clip, question = bt.binaural_clip(0), TRAINED[0][1]
    short = qa(clip, question=question, sampling_rate=RATE, max_new_tokens=2)
    assert len(short["answer"]) < len("left, front, below; 2.5m")
    beams = qa(clip, question=question, sampling_rate=RATE, num_beams=3)
    assert beams["answer"] == "left, front, below; 2.5m"
    several = qa(clip, question=question, sampling_rate=RATE, num_beams=3, num_return_sequences=2)
    assert isinstance(several, list) and len(several) == 2


def test_release_generation_defaults_apply(saved_bat):
    default = pipeline("spatial-audio-qa", model=str(saved_bat))
    assert default.model.generation_config.num_beams == 4
    assert default(bt.binaural_clip(1), question=TRAINED[1][1], sampling_rate=RATE)["answer"] == "Yes"


# ---------------------------------------------------------------- bad input


def test_bad_input_errors(qa, tmp_path):
    clip = bt.binaural_clip(0)
    with pytest.raises(ValueError, match="A question is required"):
        qa(clip, sampling_rate=RATE)
    with pytest.raises(ValueError, match="is empty"):
        qa(clip, question=" ", sampling_rate=RATE)
    with pytest.raises(ValueError, match="binaural"):
        qa(clip[0], question="Where?", sampling_rate=RATE)
    with pytest.raises(ValueError, match="sampling_rate must be"):
        qa(clip, question="Where?", sampling_rate=-1)
    with pytest.raises(ValueError, match="needs 'sampling_rate'"):
        qa({"array": clip}, question="Where?")
    not_audio = tmp_path / "fake.wav"
    not_audio.write_bytes(b"RIFF but not really a wave file")
    with pytest.raises(ValueError, match="as audio"):
        qa(str(not_audio), question="Where?")
    with pytest.raises(ValueError, match="Cannot pair 3 clips with 2 questions"):
        qa([clip, clip, clip], question=["a?", "b?"], sampling_rate=RATE)
    with pytest.raises(ValueError, match="not both"):
        qa({"audio": clip, "question": "a?"}, question="b?")


# ---------------------------------------------------------------- parser


def chat(audio_item: dict, question: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "audio", **audio_item}, {"type": "text", "text": question}]}]


def test_chat_messages_streams_and_gradio_tuples(qa, tmp_path):
    clip, (_, question, answer) = bt.binaural_clip(0), TRAINED[0]
    sf.write(tmp_path / "scene.wav", clip.T, RATE)
    assert qa(chat({"path": str(tmp_path / "scene.wav")}, question))["answer"] == answer
    assert qa(chat({"audio": clip, "sampling_rate": RATE}, question))["answer"] == answer
    two = qa(
        [chat({"path": str(tmp_path / "scene.wav")}, question), chat({"audio": clip, "sampling_rate": RATE}, question)]
    )
    assert [r["answer"] for r in two] == [answer, answer]
    with pytest.raises(ValueError, match="needs 'sampling_rate' beside it"):
        qa(chat({"audio": clip}, question))
    # gradio hands audio over as (rate, int16 (samples, 2))
    pcm = np.round(clip.T * 32767).astype(np.int16)
    assert qa((RATE, pcm), question=question)["answer"] == answer
    # generators and datasets are answered lazily, in order
    rows = ({"audio": bt.binaural_clip(seed), "question": q} for seed, q, _ in TRAINED)
    assert [r["answer"] for r in qa(rows, sampling_rate=RATE)] == [a for _, _, a in TRAINED]
    import datasets
    from transformers.pipelines.pt_utils import KeyDataset

    table = datasets.Dataset.from_dict({"audio": [str(tmp_path / "scene.wav")] * 2, "question": [question] * 2})
    assert [r["answer"] for r in qa(table)] == [answer, answer]
    assert [r["answer"] for r in qa(KeyDataset(table, "audio"), question=question)] == [answer, answer]


def test_any_to_any_pipeline_keeps_both_channels(saved_bat, tmp_path):
    """pipeline("any-to-any") with chat input and with text= + audio=; the file's two channels reach the model."""
    from transformers_bat import BatProcessor

    clip, (_, question, answer) = bt.binaural_clip(0), TRAINED[0]
    sf.write(tmp_path / "scene.wav", clip.T, RATE, subtype="FLOAT")  # exact samples: features comparable below
    processor = BatProcessor.from_pretrained(saved_bat)
    messages = chat({"path": str(tmp_path / "scene.wav")}, question)
    from_chat = processor.apply_chat_template(messages, tokenize=True, return_dict=True)
    direct = processor(audio=clip, text=question, sampling_rate=RATE)
    for key in direct:
        torch.testing.assert_close(from_chat[key], direct[key], rtol=0, atol=1e-6)
    anything = pipeline("any-to-any", model=str(saved_bat))
    reply = anything(text=messages, generate_kwargs={"num_beams": 1, "max_new_tokens": 32})[0]["generated_text"][-1]
    assert reply == {"role": "assistant", "content": answer}
    audio = str(tmp_path / "scene.wav")
    generate = {"num_beams": 1, "max_new_tokens": 32}  # a fresh dict: transformers 5.23 writes into the one given
    plain = anything(text=question, audio=audio, return_full_text=False, generate_kwargs=generate)
    assert plain[0]["generated_text"].strip() == answer
