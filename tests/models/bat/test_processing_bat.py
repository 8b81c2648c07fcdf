"""BatProcessor: prompt template, placeholder expansion, pairing, stereo file loading, padding, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from transformers_bat import BatProcessor
from transformers_bat.models.bat import BAT_PROMPT_TEMPLATE

from . import bat_tester as bt

RATE = bt.SAMPLING_RATE


@pytest.fixture(scope="module")
def processor():
    tokenizer = bt.build_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|AUDIO|>"]})
    return BatProcessor(bt.feature_extractor(), tokenizer, num_query_tokens=bt.NUM_QUERIES)


def test_paper_prompt_and_override(processor):
    assert processor.build_prompt("Where is it?") == (
        "Based on the audio you've heard, refer to the instruction and provide a response.\n\n"
        "### Instruction:\nWhere is it?\n\n### Response:"
    )
    assert processor.build_prompt("a {brace} question").count("{brace}") == 1  # no str.format surprises
    custom = BatProcessor(processor.feature_extractor, processor.tokenizer, prompt_template="Q: {instruction}\nA:")
    assert custom.build_prompt("Why?") == "Q: Why?\nA:"
    with pytest.raises(ValueError, match="instruction"):
        BatProcessor(processor.feature_extractor, processor.tokenizer, prompt_template="no field")
    assert BAT_PROMPT_TEMPLATE.count("{instruction}") == 1


def test_sequence_layout_and_left_padding(processor):
    out = processor(
        audio=[bt.binaural_clip(0), bt.binaural_clip(1)], text=["Where?", bt.QUESTIONS[1]], sampling_rate=RATE
    )
    assert set(out) == {"input_ids", "attention_mask", "input_features", "audio_window_counts"}
    assert out["input_features"].shape == (2, 4, 64, 32)
    assert out["audio_window_counts"].tolist() == [1, 1]  # clips within the window: one each, as the release
    audio_id = processor.audio_token_id
    for row, question in enumerate(["Where?", bt.QUESTIONS[1]]):
        ids = out["input_ids"][row][out["attention_mask"][row].bool()].tolist()
        prompt = processor.tokenizer(processor.build_prompt(question))["input_ids"]
        assert ids == [audio_id] * bt.NUM_QUERIES + prompt  # placeholders, then BOS + prompt
    short = out["attention_mask"][0]
    assert short[0] == 0 and short[-1] == 1  # left padding
    assert out["input_ids"][0][short == 0].eq(processor.tokenizer.eos_token_id).all()  # pad = eos


@pytest.mark.parametrize(
    ("n_clips", "text", "expected_clip_rows"),
    [
        (1, ["a?", "b?", "c?"], [0, 0, 0]),
        (3, "a?", [0, 1, 2]),
        (2, ["a?", "b?"], [0, 1]),
        (2, [["a?", "b?"], ["c?"]], [0, 0, 1]),
    ],
)
def test_pairing_clips_and_questions(processor, n_clips, text, expected_clip_rows):
    clips = [bt.binaural_clip(i) for i in range(n_clips)]
    out = processor(audio=clips if n_clips > 1 else clips[0], text=text, sampling_rate=RATE)
    alone = processor(audio=clips, text=["x?"] * n_clips, sampling_rate=RATE)["input_features"]
    assert out["input_features"].shape[0] == len(expected_clip_rows) == out["input_ids"].shape[0]
    for row, clip in enumerate(expected_clip_rows):
        assert torch.equal(out["input_features"][row], alone[clip])
    with pytest.raises(ValueError, match="Cannot pair 3 clips with 2 questions"):
        processor(audio=[bt.binaural_clip(i) for i in range(3)], text=["a?", "b?"], sampling_rate=RATE)


def test_input_forms_agree_and_stereo_files_keep_channels(processor, tmp_path):
    clip = bt.binaural_clip(5)
    path = tmp_path / "clip.wav"
    sf.write(path, clip.T, RATE, subtype="FLOAT")
    forms = [
        clip,
        torch.from_numpy(clip),
        str(path),
        path,
        {"array": clip, "sampling_rate": RATE},
        {"path": str(path)},
        {"bytes": path.read_bytes(), "path": "clip.wav"},  # datasets' Audio(decode=False)
        path.read_bytes(),
    ]
    features = [processor(audio=form, text="Where?", sampling_rate=RATE)["input_features"] for form in forms]
    for other in features[1:]:
        assert torch.allclose(other, features[0], atol=1e-5)
    # swapping the ears changes the features: the file was read as stereo, not downmixed
    swapped = tmp_path / "swapped.wav"
    sf.write(swapped, clip[::-1].T, RATE, subtype="FLOAT")
    assert not torch.allclose(processor(audio=str(swapped), text="Where?")["input_features"], features[0])


def test_other_rates_are_resampled(processor):
    clip_48k = bt.binaural_clip(2, rate=48000)
    out = processor(audio={"array": clip_48k, "sampling_rate": 48000}, text="Where?")
    assert out["input_features"].shape == (1, 4, 64, 32)


def test_answers_give_labels(processor):
    out = processor(
        audio=bt.binaural_clip(0), text=["a?", "b?"], answers=["Yes", "left, front, below; 2.5m"], sampling_rate=RATE
    )
    labels = out["labels"]
    assert labels.shape == out["input_ids"].shape
    for row, answer in enumerate(["Yes", "left, front, below; 2.5m"]):
        tail = labels[row][labels[row] != -100].tolist()
        assert tail[-1] == processor.tokenizer.eos_token_id
        assert processor.tokenizer.decode(tail[:-1]) == answer
    with pytest.raises(ValueError, match="2 answers for 1"):
        processor(audio=bt.binaural_clip(0), text="a?", answers=["x", "y"], sampling_rate=RATE)


def test_precomputed_features_give_the_same_inputs(processor):
    clips = [bt.binaural_clip(0), bt.binaural_clip(1)]
    from_audio = processor(audio=clips, text=["a?", "b?"], answers=["Yes", "No"], sampling_rate=RATE)
    features = processor.feature_extractor(clips, sampling_rate=RATE, return_tensors="pt")["input_features"]
    from_features = processor(input_features=features, text=["a?", "b?"], answers=["Yes", "No"])
    assert set(from_audio) == set(from_features)
    for name in from_audio:
        assert torch.equal(from_audio[name], from_features[name])
    with pytest.raises(ValueError, match="either audio or input_features"):
        processor(audio=clips, input_features=features, text="a?")
    with pytest.raises(ValueError, match="input_features must be"):
        processor(input_features=features[:, :2], text="a?")
    with pytest.raises(ValueError, match="NaN or infinite"):
        processor(input_features=torch.full_like(features, float("nan")), text="a?")


def test_decode_answers(processor):
    prompt = processor(audio=bt.binaural_clip(0), text="a?", sampling_rate=RATE)["input_ids"]
    answer = processor.tokenizer(" right, behind, above; 1m", add_special_tokens=False)["input_ids"]
    sequences = torch.cat([prompt, torch.tensor([answer + [processor.tokenizer.eos_token_id]])], dim=1)
    assert processor.decode_answers(sequences, prompt.shape[1]) == ["right, behind, above; 1m"]


def test_save_and_load(processor, tmp_path):
    processor.save_pretrained(tmp_path)
    loaded = BatProcessor.from_pretrained(tmp_path)
    assert (loaded.num_query_tokens, loaded.audio_token, loaded.prompt_template) == (
        bt.NUM_QUERIES,
        "<|AUDIO|>",
        BAT_PROMPT_TEMPLATE,
    )
    a = processor(audio=bt.binaural_clip(1), text="Where?", sampling_rate=RATE)
    b = loaded(audio=bt.binaural_clip(1), text="Where?", sampling_rate=RATE)
    assert all(torch.equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------- bad input


def test_missing_or_empty_question(processor):
    clip = bt.binaural_clip(0)
    with pytest.raises(ValueError, match="A question is required"):
        processor(audio=clip, sampling_rate=RATE)
    with pytest.raises(ValueError, match=r"question\[0\] is empty"):
        processor(audio=clip, text="   ", sampling_rate=RATE)
    with pytest.raises(ValueError, match=r"question\[1\] is empty"):
        processor(audio=clip, text=["ok?", ""], sampling_rate=RATE)
    with pytest.raises(ValueError, match="empty list of questions"):
        processor(audio=clip, text=[], sampling_rate=RATE)
    with pytest.raises(ValueError, match="must be a string"):
        processor(audio=clip, text=[3], sampling_rate=RATE)
    # a typed audio token: the text is read as a full prompt, where the token may only lead (one per clip)
    with pytest.raises(ValueError, match=r"text\[0\] has no audio token '<\|AUDIO\|>' while other texts do"):
        processor(audio=clip, text=["ok?", "<|AUDIO|>Where from?"], sampling_rate=RATE)
    with pytest.raises(ValueError, match=r"text\[0\]: BAT reads the audio before the prompt, so audio tokens"):
        processor(audio=clip, text=["Where is <|AUDIO|> from?"], sampling_rate=RATE)
    with pytest.raises(ValueError, match=r"The text holds 2 audio token\(s\) '<\|AUDIO\|>' but 1 clip\(s\)"):
        processor(audio=clip, text=["<|AUDIO|><|AUDIO|>Where from?"], sampling_rate=RATE)


def test_missing_audio(processor):
    with pytest.raises(ValueError, match="pass audio"):
        processor(text="Where?")


def test_mono_and_channel_errors(processor, tmp_path):
    mono = bt.binaural_clip(0)[0]
    with pytest.raises(ValueError, match="binaural"):
        processor(audio=mono, text="Where?", sampling_rate=RATE)
    path = tmp_path / "mono.wav"
    sf.write(path, mono, RATE)
    with pytest.raises(ValueError, match="mono"):
        processor(audio=str(path), text="Where?")
    with pytest.raises(ValueError, match="exactly 2 channels"):
        processor(audio=np.zeros((3, RATE // 2), np.float32), text="Where?", sampling_rate=RATE)
    left, right = bt.binaural_clip(0)
    with pytest.raises(ValueError, match=r"np.stack\(\[left, right\]\)"):
        processor(audio=[left, right], text="Where?", sampling_rate=RATE)
    with pytest.raises(ValueError, match="channel-last"):
        processor(audio=bt.binaural_clip(0).T.copy(), text="Where?", sampling_rate=RATE)


@pytest.mark.parametrize("rate", [0, -16000, "32k", 22050.5, True])
def test_wrong_sampling_rate(processor, rate):
    with pytest.raises(ValueError, match="sampling_rate must be"):
        processor(audio=bt.binaural_clip(0), text="Where?", sampling_rate=rate)
    with pytest.raises(ValueError, match="sampling_rate must be"):
        processor(audio={"array": bt.binaural_clip(0), "sampling_rate": rate}, text="Where?")


def test_dict_without_rate(processor):
    with pytest.raises(ValueError, match="needs 'sampling_rate'"):
        processor(audio={"array": bt.binaural_clip(0)}, text="Where?")
    with pytest.raises(ValueError, match="needs 'array' .*, 'bytes' .* or 'path'"):
        processor(audio={"bytes": None, "path": None}, text="Where?")


def test_long_audio_is_read_window_by_window(processor):
    """A clip longer than the 1 s window becomes all its windows (never a crop); `truncation=True` keeps the first."""
    long_clip = bt.binaural_clip(0, seconds=2.5)
    out = processor(audio=long_clip, text="Where?", sampling_rate=RATE)
    assert out["audio_window_counts"].tolist() == [3] and out["input_features"].shape == (3, 4, 64, 32)
    assert out["input_ids"].eq(processor.audio_token_id).sum() == bt.NUM_QUERIES  # the prompt is unchanged
    extractor = processor.feature_extractor
    for row, start in enumerate((0, RATE, 2 * RATE)):  # back to back; the last one zero-padded
        window = extractor(long_clip[:, start : start + RATE], sampling_rate=RATE, return_tensors="pt")
        assert torch.equal(out["input_features"][row], window["input_features"][0])
    first = processor(audio=long_clip, text="Where?", sampling_rate=RATE, truncation=True)
    assert first["audio_window_counts"].tolist() == [1]
    assert torch.allclose(first["input_features"], out["input_features"][:1])
    overlapping = processor(audio=long_clip, text="Where?", sampling_rate=RATE, audio_kwargs={"hop_s": 0.5})
    assert overlapping["audio_window_counts"].tolist() == [4]  # windows at 0, 0.5, 1 and 1.5 s
    torch.testing.assert_close(overlapping["input_features"][2], out["input_features"][1])


def test_windows_of_each_clip_follow_the_rows(processor):
    """Windows go with their clip through pairing, precomputed features and BatchFeature.to()."""
    clips = [bt.binaural_clip(0, seconds=2.0), bt.binaural_clip(1), bt.binaural_clip(2, seconds=3.5)]
    out = processor(audio=clips, text="Where?", sampling_rate=RATE)
    assert out["audio_window_counts"].tolist() == [2, 1, 4]
    windows = processor.window_features(clips, sampling_rate=RATE)
    assert [len(w) for w in windows] == [2, 1, 4]
    assert torch.equal(out["input_features"], torch.cat(windows))
    asked_twice = processor(audio=clips[2], text=["a?", "b?"], sampling_rate=RATE)
    assert asked_twice["audio_window_counts"].tolist() == [4, 4]
    assert torch.equal(asked_twice["input_features"], torch.cat([windows[2], windows[2]]))
    pairs = processor(audio=clips[::-1], text=["a?", "b?", "c?"], sampling_rate=RATE)
    assert pairs["audio_window_counts"].tolist() == [4, 1, 2]
    assert torch.equal(pairs["input_features"], torch.cat(windows[::-1]))
    from_features = processor(
        input_features=torch.cat(windows), audio_window_counts=[2, 1, 4], text="Where?", sampling_rate=RATE
    )
    for name in out:
        assert torch.equal(from_features[name], out[name]), name
    moved = out.to(torch.float16)  # what pipelines do: floats cast, the counts kept as they are
    assert moved["input_features"].dtype == torch.float16 and torch.equal(
        moved["audio_window_counts"], out["audio_window_counts"]
    )
    assert "audio_window_counts" in processor.model_input_names
    with pytest.raises(ValueError, match=r"add up to the 7 rows of input_features"):
        processor(input_features=torch.cat(windows), audio_window_counts=[2, 1, 3], text="Where?")
    with pytest.raises(ValueError, match="pass it with them, not with audio"):
        processor(audio=clips, audio_window_counts=[2, 1, 4], text="Where?", sampling_rate=RATE)


def test_non_audio_and_missing_files(processor, tmp_path):
    text_file = tmp_path / "notes.wav"
    text_file.write_text("this is not audio")
    with pytest.raises(ValueError, match="Could not read .*notes.wav as audio"):
        processor(audio=str(text_file), text="Where?")
    with pytest.raises(ValueError, match="not found"):
        processor(audio=str(tmp_path / "missing.wav"), text="Where?")


def test_tokenizer_without_audio_token():
    with pytest.raises(ValueError, match="has no '<\\|AUDIO\\|>' token"):
        BatProcessor(bt.feature_extractor(), bt.build_tokenizer())


def test_chat_template_renders_the_paper_prompt(processor, tmp_path):
    clip = bt.binaural_clip(0)
    messages = [
        {
            "role": "user",
            "content": [{"type": "audio", "audio": clip, "sampling_rate": RATE}, {"type": "text", "text": "Where?"}],
        }
    ]
    prompt = processor.apply_chat_template(messages)
    assert prompt == "<|AUDIO|>" + processor.build_prompt("Where?")
    chat_inputs = processor.apply_chat_template(messages, tokenize=True, return_dict=True)
    direct = processor(audio=clip, text="Where?", sampling_rate=RATE)
    for key in direct:
        assert torch.equal(chat_inputs[key], direct[key]), key
    long_clip = bt.binaural_clip(3, seconds=2.5)  # a long clip in a chat: all its windows
    messages[0]["content"][0]["audio"] = long_clip
    chat_inputs = processor.apply_chat_template(messages, tokenize=True, return_dict=True)
    assert chat_inputs["audio_window_counts"].tolist() == [3]
    direct = processor(audio=long_clip, text="Where?", sampling_rate=RATE)
    assert all(torch.equal(chat_inputs[key], direct[key]) for key in direct)
    # the in-tree contract: a prompt with the audio token is used as it is (no second template)
    assert torch.equal(processor(audio=clip, text=prompt, sampling_rate=RATE)["input_ids"], direct["input_ids"])
    with pytest.raises(Exception, match="give exactly one user message"):
        processor.apply_chat_template(messages + messages)
    with pytest.raises(Exception, match="make the user content a list"):
        processor.apply_chat_template([{"role": "user", "content": "Where?"}])


def test_generic_call_arguments(processor):
    clip = bt.binaural_clip(0)
    with pytest.raises(ValueError, match="does not read images or videos"):
        processor(audio=clip, text="Where?", sampling_rate=RATE, images=[np.zeros((8, 8, 3))])
    with pytest.raises(ValueError, match="different lengths and padding=False"):
        processor(audio=clip, text=["Where?", "Is it a dog or a siren?"], sampling_rate=RATE, padding=False)
    same = processor(audio=clip, text="Where?", audio_kwargs={"sampling_rate": RATE}, padding="longest")
    assert torch.equal(same["input_ids"], processor(audio=clip, text="Where?", sampling_rate=RATE)["input_ids"])


def test_gradio_tuples_and_stereo_fetch(processor, tmp_path):
    """gradio gives (rate, int16 (samples, 2)); fetch_audio (used by generic pipelines) keeps both channels."""
    clip = bt.binaural_clip(2)
    pcm = np.round(clip.T * 32767).astype(np.int16)
    from_tuple = processor(audio=(RATE, pcm), text="Where?")["input_features"]
    from_float = processor(audio=pcm.T / 32768.0, text="Where?", sampling_rate=RATE)["input_features"]
    torch.testing.assert_close(from_tuple, from_float.float())
    sf.write(tmp_path / "scene.wav", clip.T, RATE, subtype="FLOAT")
    fetched = processor.feature_extractor.fetch_audio(str(tmp_path / "scene.wav"))
    assert fetched["array"].shape == clip.shape and fetched["sampling_rate"] == RATE
    np.testing.assert_array_equal(fetched["array"], clip)


def test_loudest_window_option_keeps_one_window_and_is_saved(tmp_path):
    """`audio_windows="loudest"` (the demo's budget option) keeps each clip's loudest window, and the choice travels
    with the saved processor so inference reads clips as training did."""
    _, processor = bt.build_bat("llama", seed=0)
    loudest = BatProcessor(
        processor.feature_extractor,
        processor.tokenizer,
        num_query_tokens=processor.num_query_tokens,
        audio_windows="loudest",
    )
    clip = np.zeros((2, 3 * bt.SAMPLING_RATE), dtype=np.float32)
    clip[:, 70_000:72_000] = np.random.default_rng(0).standard_normal((2, 2000))  # a burst in the third second
    every = processor(audio=clip, text="Where?", sampling_rate=bt.SAMPLING_RATE)
    one = loudest(audio=clip, text="Where?", sampling_rate=bt.SAMPLING_RATE)
    assert every["audio_window_counts"].tolist() == [3] and one["audio_window_counts"].tolist() == [1]
    assert torch.equal(one["input_features"][0], every["input_features"][2])
    loudest.save_pretrained(tmp_path)
    assert BatProcessor.from_pretrained(tmp_path).audio_windows == "loudest"
    with pytest.raises(ValueError, match="audio_windows must be"):
        BatProcessor(processor.feature_extractor, processor.tokenizer, audio_windows="middle")
