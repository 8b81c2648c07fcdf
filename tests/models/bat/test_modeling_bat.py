"""BatConfig / BatForConditionalGeneration: structure, loss masking, training, generation, saving, PEFT."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMultimodalLM, AutoProcessor

from transformers_bat import BatConfig, BatForConditionalGeneration, SpatialASTModel
from transformers_bat.compat import CACHE_KEY
from transformers_bat.models.bat import BAT_PROMPT_TEMPLATE, BatMultiModalProjector

from . import bat_tester as bt


@pytest.fixture(scope="module")
def llama_bat():
    return bt.build_bat("llama")


def batch(processor, n=2, answers=False):
    clips = [bt.binaural_clip(i) for i in range(n)]
    extra = {"answers": bt.ANSWERS[:n]} if answers else {}
    return processor(audio=clips, text=bt.QUESTIONS[:n], sampling_rate=bt.SAMPLING_RATE, **extra)


# ---------------------------------------------------------------- config


def test_config_defaults_are_the_release():
    config = BatConfig()
    assert config.audio_config.hidden_size == 768 and config.audio_config.num_hidden_layers == 12
    qformer = config.projector_config
    assert (qformer.num_hidden_layers, qformer.hidden_size, qformer.num_attention_heads) == (8, 768, 12)
    assert (qformer.intermediate_size, qformer.cross_attention_frequency, qformer.encoder_hidden_size) == (
        3072,
        2,
        768,
    )
    assert config.num_query_tokens == 64 and config.projector_layer_norm_eps == 1e-5
    assert config.text_config.model_type == "llama" and config.text_config.hidden_size == 4096
    assert config.prompt_template == BAT_PROMPT_TEMPLATE
    assert config.prompt_template.startswith("Based on the audio you've heard, refer to the instruction")
    # a partial projector dict keeps the release's 8 layers, and a dict round trip is stable
    assert (
        BatConfig(projector_config={"hidden_size": 64, "num_attention_heads": 2}).projector_config.num_hidden_layers
        == 8
    )
    again = BatConfig(**config.to_dict())
    assert again.projector_config.to_dict() == config.projector_config.to_dict()


def test_release_trainable_parameter_count():
    """Projector + LoRA (r 8 on q/v of 32 LLaMA-2 layers) = the 73,561,600 parameters of the released model.pt."""
    with torch.device("meta"):
        projector = BatMultiModalProjector(BatConfig())
    lora = 32 * 2 * (8 * 4096 + 4096 * 8)
    assert sum(p.numel() for p in projector.parameters()) + lora == 73_561_600
    assert projector.query.shape == (1, 64, 768)


def test_config_errors():
    with pytest.raises(ValueError, match="encoder_hidden_size"):
        BatConfig(audio_config=bt.audio_config(), projector_config={"encoder_hidden_size": 64})
    with pytest.raises(ValueError, match="instruction"):
        BatConfig(prompt_template="no field here")
    with pytest.raises(ValueError, match="outside the LM vocabulary"):
        BatConfig(text_config={"model_type": "llama", "vocab_size": 10}, audio_token_id=10)


# ---------------------------------------------------------------- structure and forward


@pytest.mark.parametrize("family", ["llama", "gpt2", "qwen2", "mistral"])
def test_forward_any_decoder_lm(family):
    model, processor = bt.build_bat(family)
    inputs = batch(processor, answers=True)
    out = model(**inputs)
    assert out.logits.shape == (*inputs["input_ids"].shape, len(processor.tokenizer))
    assert out.audio_hidden_states.shape == (2, bt.NUM_QUERIES, model.config.text_config.hidden_size)
    assert torch.isfinite(out.loss)
    assert type(model.language_model) is type(AutoModelForCausalLM.from_config(model.config.text_config))


def test_half_precision_language_model():
    """A 7B LM loads in its checkpoint dtype (fp16/bf16) next to an fp32 encoder and projector."""
    model, processor = bt.build_bat("llama", seed=5)
    model.language_model.to(torch.bfloat16)
    inputs = batch(processor, answers=True)
    out = model(**inputs)
    assert out.logits.dtype == torch.bfloat16 and torch.isfinite(out.loss)
    assert model.generate(**batch(processor), max_new_tokens=2, num_beams=2).shape[0] == 2


def test_audio_embeddings_replace_placeholders(llama_bat):
    model, processor = llama_bat
    inputs = batch(processor)
    captured = {}
    handle = model.language_model.register_forward_pre_hook(
        lambda module, args, kwargs: captured.update(embeds=kwargs["inputs_embeds"]), with_kwargs=True
    )
    with torch.no_grad():
        model(**inputs)
        audio = model.get_audio_features(inputs["input_features"]).pooler_output
    handle.remove()
    mask = inputs["input_ids"] == model.config.audio_token_id
    assert torch.allclose(captured["embeds"][mask], audio.reshape(-1, audio.shape[-1]))
    # the 64 (here 4) audio embeddings come first, right before BOS
    for row in range(2):
        real = inputs["input_ids"][row][inputs["attention_mask"][row].bool()]
        assert real[: bt.NUM_QUERIES].eq(model.config.audio_token_id).all()
        assert real[bt.NUM_QUERIES] == processor.tokenizer.bos_token_id


def test_encoder_gets_all_tokens_and_stays_frozen(llama_bat):
    model, processor = llama_bat
    encoded = model.get_audio_features(batch(processor)["input_features"]).last_hidden_state
    assert encoded.shape[1] == 3 + model.config.audio_config.num_patches
    assert not any(p.requires_grad for p in model.audio_tower.parameters())
    model.train()
    try:
        assert not model.audio_tower.training and model.multi_modal_projector.training
        train_encoded = model.get_audio_features(batch(processor)["input_features"]).last_hidden_state
        assert train_encoded.shape == encoded.shape  # no patch dropping in the frozen encoder
    finally:
        model.eval()


def test_labels_masking_token_by_token(llama_bat):
    model, processor = llama_bat
    tokenizer = processor.tokenizer
    inputs = batch(processor, n=3, answers=True)
    for row in range(3):
        ids, labels, mask = inputs["input_ids"][row], inputs["labels"][row], inputs["attention_mask"][row]
        answer_ids = tokenizer(bt.ANSWERS[row], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        prompt_ids = tokenizer(processor.build_prompt(bt.QUESTIONS[row]))["input_ids"]
        expected_ids = [model.config.audio_token_id] * bt.NUM_QUERIES + prompt_ids + answer_ids
        pad = len(ids) - len(expected_ids)
        assert ids[pad:].tolist() == expected_ids and mask[:pad].eq(0).all() and mask[pad:].eq(1).all()
        expected_labels = [-100] * (pad + bt.NUM_QUERIES + len(prompt_ids)) + answer_ids
        assert labels.tolist() == expected_labels
        assert tokenizer.decode(labels[labels != -100], skip_special_tokens=True) == bt.ANSWERS[row]
    # the loss is the mean cross-entropy over exactly those positions
    out = model(**inputs)
    logits, labels = out.logits[:, :-1], inputs["labels"][:, 1:]
    manual = torch.nn.functional.cross_entropy(logits[labels != -100], labels[labels != -100])
    assert torch.allclose(out.loss, manual, atol=1e-6)
    # Trainer's gradient accumulation passes the token count of all micro-batches
    scored = int((labels != -100).sum())
    assert torch.allclose(model(**inputs, num_items_in_batch=2 * scored).loss, manual / 2, atol=1e-6)


def test_overfit_fixed_batch():
    model, processor = bt.build_bat("llama", seed=1)
    inputs = batch(processor, n=2, answers=True)
    frozen = {k: v.clone() for k, v in model.audio_tower.state_dict().items()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-2)
    model.train()
    losses = []
    for _ in range(30):
        loss = model(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    model.eval()
    assert losses[-1] < 0.2 * losses[0], losses
    for key, value in model.audio_tower.state_dict().items():  # weights and BatchNorm statistics untouched
        assert torch.equal(value, frozen[key]), key


# ---------------------------------------------------------------- generation


@pytest.mark.parametrize("num_beams", [1, 3])
def test_generate_batched_equals_single(llama_bat, num_beams):
    model, processor = llama_bat
    clips = [bt.binaural_clip(i, seconds=0.3 + 0.1 * i) for i in range(3)]
    questions = ["Where?", bt.QUESTIONS[1], bt.QUESTIONS[2]]  # different prompt lengths -> left padding
    inputs = processor(audio=clips, text=questions, sampling_rate=bt.SAMPLING_RATE)
    assert inputs["attention_mask"].eq(0).any()
    out = model.generate(**inputs, max_new_tokens=6, num_beams=num_beams, min_new_tokens=6)
    batched = processor.decode_answers(out, inputs["input_ids"].shape[1])
    for clip, question, answer in zip(clips, questions, batched):
        one = processor(audio=clip, text=question, sampling_rate=bt.SAMPLING_RATE)
        single = model.generate(**one, max_new_tokens=6, num_beams=num_beams, min_new_tokens=6)
        assert processor.decode_answers(single, one["input_ids"].shape[1]) == [answer]


@pytest.mark.parametrize("num_beams", [1, 3])
def test_generate_rows_with_several_clips(llama_bat, num_beams):
    """Rows holding two clips and one clip: beams copy whole rows, so each row keeps its own clips in order."""
    model, processor = llama_bat
    placeholder = [model.config.audio_token_id] * bt.NUM_QUERIES
    prompt = processor.tokenizer(processor.build_prompt("Where?"))["input_ids"]
    features = processor(audio=[bt.binaural_clip(i) for i in range(3)], text="Where?", sampling_rate=bt.SAMPLING_RATE)[
        "input_features"
    ]
    rows = [placeholder * 2 + prompt, placeholder + prompt]
    width = len(rows[0])
    input_ids = torch.full((2, width), processor.tokenizer.pad_token_id)
    attention_mask = torch.zeros((2, width), dtype=torch.long)
    for i, ids in enumerate(rows):
        input_ids[i, width - len(ids) :] = torch.tensor(ids)
        attention_mask[i, width - len(ids) :] = 1
    settings = {"max_new_tokens": 5, "min_new_tokens": 5, "num_beams": num_beams}
    together = model.generate(input_ids=input_ids, attention_mask=attention_mask, input_features=features, **settings)[
        :, width:
    ]
    first = model.generate(input_ids=input_ids[:1], input_features=features[:2], **settings)[:, width:]
    second = model.generate(input_ids=torch.tensor([rows[1]]), input_features=features[2:], **settings)
    assert torch.equal(together[0], first[0]) and torch.equal(together[1], second[0, len(rows[1]) :])
    with torch.no_grad():  # the clips' order changes what the model sees, so a mix-up would be visible
        in_order = model(input_ids=input_ids[:1], input_features=features[:2]).logits
        swapped = model(input_ids=input_ids[:1], input_features=features[[1, 0]]).logits
    assert (in_order - swapped).abs().max() > 1e-4


def test_generate_without_attention_mask(llama_bat):
    model, processor = llama_bat
    inputs = processor(audio=bt.binaural_clip(7), text="Where?", sampling_rate=bt.SAMPLING_RATE)
    with_mask = model.generate(**inputs, max_new_tokens=5, num_beams=1)
    without = model.generate(
        input_ids=inputs["input_ids"], input_features=inputs["input_features"], max_new_tokens=5, num_beams=1
    )
    assert torch.equal(with_mask, without)


def test_generation_defaults_and_placeholder_suppressed(llama_bat):
    model, processor = llama_bat
    config = model.generation_config
    assert (config.num_beams, config.max_new_tokens, config.do_sample) == (4, 200, False)
    assert config.pad_token_id == processor.tokenizer.eos_token_id
    assert config.suppress_tokens == [model.config.audio_token_id]
    out = model.generate(**batch(processor), max_new_tokens=8, num_beams=1)
    assert not out[:, -8:].eq(model.config.audio_token_id).any()


def test_audio_is_encoded_once_per_clip_not_per_token(llama_bat):
    model, processor = llama_bat
    calls = []
    handle = model.audio_tower.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[0]))
    try:
        for num_beams in (1, 3):
            calls.clear()
            model.generate(**batch(processor, n=2), max_new_tokens=10, min_new_tokens=10, num_beams=num_beams)
            assert calls == [2]  # one encoder call for the two clips, also with beams
    finally:
        handle.remove()


def test_one_clip_many_questions_is_encoded_once(llama_bat):
    model, processor = llama_bat
    inputs = processor(audio=bt.binaural_clip(0), text=bt.QUESTIONS[:3], sampling_rate=bt.SAMPLING_RATE)
    assert inputs["input_features"].shape[0] == 3
    calls = []
    handle = model.audio_tower.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[0]))
    try:
        with torch.no_grad():
            shared = model(**inputs).logits
        out = model.generate(**inputs, max_new_tokens=4, num_beams=2)
    finally:
        handle.remove()
    assert calls == [1, 1]
    for row, question in enumerate(bt.QUESTIONS[:3]):  # same logits as asking each question alone
        one = processor(audio=bt.binaural_clip(0), text=question, sampling_rate=bt.SAMPLING_RATE)
        with torch.no_grad():
            alone = model(**one).logits[0]
        width = alone.shape[0]
        torch.testing.assert_close(shared[row, -width:], alone, atol=1e-5, rtol=1e-5)
    assert out.shape[0] == 3


@pytest.mark.parametrize("name", ["past_key_values", CACHE_KEY])
def test_forward_accepts_both_cache_names(llama_bat, name):
    """transformers 5.24 renamed past_key_values to cache; a step with either name continues the prefill."""
    model, processor = llama_bat
    inputs = processor(audio=bt.binaural_clip(0), text="Where?", sampling_rate=bt.SAMPLING_RATE)
    with torch.no_grad():
        first = model(**inputs, use_cache=True)
        cache = first[CACHE_KEY]
        assert cache is not None and cache.get_seq_length() == inputs["input_ids"].shape[1]
        next_token = first.logits[:, -1:].argmax(-1)
        mask = torch.cat([inputs["attention_mask"], torch.ones_like(next_token)], dim=1)
        position = mask.sum(-1, keepdim=True) - 1
        step = model(input_ids=next_token, attention_mask=mask, position_ids=position, use_cache=True, **{name: cache})
        full_ids = torch.cat([inputs["input_ids"], next_token], dim=1)
        full = model(input_ids=full_ids, attention_mask=mask, input_features=inputs["input_features"])
    torch.testing.assert_close(step.logits[:, -1], full.logits[:, -1], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="cache once"):
        model(input_ids=next_token, cache=cache, past_key_values=cache)


def test_placeholder_count_mismatches_raise(llama_bat):
    model, processor = llama_bat
    inputs = batch(processor, n=2)
    with pytest.raises(ValueError, match="do not match: 8 placeholder tokens .* 1 clip"):
        model(input_ids=inputs["input_ids"], input_features=inputs["input_features"][:1])
    broken = inputs["input_ids"].clone()
    broken[0, broken[0].eq(model.config.audio_token_id).nonzero()[0]] = processor.tokenizer.eos_token_id
    with pytest.raises(ValueError, match="multiple of num_query_tokens=4"):
        model(input_ids=broken, input_features=inputs["input_features"])
    with pytest.raises(ValueError, match="no input_features"):
        model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    with pytest.raises(ValueError, match="do not match"):
        model.generate(input_ids=inputs["input_ids"], input_features=inputs["input_features"][:1], max_new_tokens=2)
    with pytest.raises(ValueError, match="exactly one of input_ids or inputs_embeds"):
        model(input_features=inputs["input_features"])


def test_inputs_embeds_path_matches_input_ids(llama_bat):
    model, processor = llama_bat
    inputs = batch(processor)
    embeds = model.get_input_embeddings()(inputs["input_ids"])
    with torch.no_grad():
        by_ids = model(**inputs).logits
        by_embeds = model(
            inputs_embeds=embeds, input_features=inputs["input_features"], attention_mask=inputs["attention_mask"]
        ).logits
    assert torch.allclose(by_ids, by_embeds, atol=1e-5)


# ---------------------------------------------------------------- clips longer than the window


def test_one_window_clip_is_the_release_computation(llama_bat):
    """A clip that fits the window gives exactly today's tensors and logits: the features alone, fed the old way,
    and the projector reading the encoder's tokens with no mask, as the release does."""
    model, processor = llama_bat
    clips = [bt.binaural_clip(0, seconds=1.0), bt.binaural_clip(1, seconds=0.4)]
    inputs = processor(audio=clips, text=["Where?", bt.QUESTIONS[1]], sampling_rate=bt.SAMPLING_RATE)
    assert inputs["audio_window_counts"].tolist() == [1, 1]
    old_features = processor.feature_extractor(clips, sampling_rate=bt.SAMPLING_RATE, return_tensors="pt")
    assert torch.equal(inputs["input_features"], old_features["input_features"])
    with torch.no_grad():
        new = model(**inputs)
        old = model(
            input_ids=inputs["input_ids"],
            attention_mask=inputs["attention_mask"],
            input_features=old_features["input_features"],
        )
        release = model.multi_modal_projector(model.audio_tower(old_features["input_features"]).last_hidden_state)
    assert torch.equal(new.logits, old.logits)
    assert torch.equal(new.audio_hidden_states, release)


def test_every_window_of_a_long_clip_reaches_the_qformer(llama_bat):
    """3.5 s through a 1 s BAT: 4 windows, one encoder call, the Q-Former reads all 4 x 11 tokens unmasked, and
    changing only the last window (or only the first) changes the clip's audio embeddings."""
    model, processor = llama_bat
    clip = bt.binaural_clip(3, seconds=3.5)
    inputs = processor(audio=clip, text="Where?", sampling_rate=bt.SAMPLING_RATE)
    assert inputs["audio_window_counts"].tolist() == [4] and inputs["input_features"].shape[0] == 4
    seen = {}
    hooks = [
        model.audio_tower.register_forward_hook(lambda module, args, output: seen.update(windows=args[0].shape[0])),
        model.multi_modal_projector.qformer.register_forward_hook(
            lambda module, args, kwargs, output: seen.update(
                tokens=kwargs["encoder_hidden_states"].shape, mask=kwargs["encoder_attention_mask"]
            ),
            with_kwargs=True,
        ),
    ]
    try:
        with torch.no_grad():
            embeds = model(**inputs).audio_hidden_states
    finally:
        for hook in hooks:
            hook.remove()
    tokens = 3 + model.config.audio_config.num_patches
    assert seen == {"windows": 4, "tokens": (1, 4 * tokens, 32), "mask": None}
    assert embeds.shape == (1, bt.NUM_QUERIES, 32)
    for changed in (slice(3 * bt.SAMPLING_RATE, None), slice(0, 1000)):
        other = clip.copy()
        other[:, changed] = bt.binaural_clip(9, seconds=3.5)[:, changed]
        other_inputs = processor(audio=other, text="Where?", sampling_rate=bt.SAMPLING_RATE)
        with torch.no_grad():
            other_embeds = model(**other_inputs).audio_hidden_states
        assert (other_embeds - embeds).abs().max() > 1e-4


@pytest.mark.parametrize("share_clips", [True, False])
def test_clips_of_different_lengths_batched_equal_one_by_one(llama_bat, share_clips):
    """Padding windows of shorter clips is masked: each row's logits and audio embeddings are its own, with a long
    clip asked twice projected once (eval) or once per row (the training path, here without dropout)."""
    model, processor = llama_bat
    clips = [bt.binaural_clip(0, seconds=3.5), bt.binaural_clip(1, seconds=0.5), bt.binaural_clip(2, seconds=2.0)]
    clips.append(clips[0])
    questions = ["Where?", bt.QUESTIONS[1], bt.QUESTIONS[2], bt.QUESTIONS[3]]
    inputs = processor(audio=clips, text=questions, sampling_rate=bt.SAMPLING_RATE)
    assert inputs["audio_window_counts"].tolist() == [4, 1, 2, 4]
    model.training = not share_clips  # the top module only: the path taken in training, submodules stay in eval
    try:
        with torch.no_grad():
            batched = model(**inputs)
            for row, (clip, question) in enumerate(zip(clips, questions)):
                one = model(**processor(audio=clip, text=question, sampling_rate=bt.SAMPLING_RATE))
                width = one.logits.shape[1]
                torch.testing.assert_close(batched.audio_hidden_states[row], one.audio_hidden_states[0])
                torch.testing.assert_close(batched.logits[row, -width:], one.logits[0], atol=1e-5, rtol=1e-5)
    finally:
        model.eval()


@pytest.mark.parametrize("num_beams", [1, 2])
def test_generate_on_long_clips(llama_bat, num_beams):
    """generate() merges the windowed audio once; a batch of a long and a short clip answers as one by one."""
    model, processor = llama_bat
    clips, questions = [bt.binaural_clip(4, seconds=3.5), bt.binaural_clip(5)], ["Where?", bt.QUESTIONS[1]]
    inputs = processor(audio=clips, text=questions, sampling_rate=bt.SAMPLING_RATE)
    calls = []
    handle = model.audio_tower.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[0]))
    try:
        out = model.generate(**inputs, max_new_tokens=5, min_new_tokens=5, num_beams=num_beams)
    finally:
        handle.remove()
    assert calls == [5]  # all windows of both clips in one encoder call
    answers = processor.decode_answers(out, inputs["input_ids"].shape[1])
    for clip, question, answer in zip(clips, questions, answers):
        one = processor(audio=clip, text=question, sampling_rate=bt.SAMPLING_RATE)
        single = model.generate(**one, max_new_tokens=5, min_new_tokens=5, num_beams=num_beams)
        assert processor.decode_answers(single, one["input_ids"].shape[1]) == [answer]


def test_window_counts_must_match_the_features(llama_bat):
    model, processor = llama_bat
    inputs = processor(audio=bt.binaural_clip(0, seconds=2.0), text="Where?", sampling_rate=bt.SAMPLING_RATE)
    windows_as_clips = {k: v for k, v in inputs.items() if k != "audio_window_counts"}
    with pytest.raises(ValueError, match="do not match: 4 placeholder tokens .* 2 clip.*audio_window_counts"):
        model(**windows_as_clips)
    with pytest.raises(ValueError, match=r"audio_window_counts \[3\] must be positive and add up to the 2 rows"):
        model(**windows_as_clips, audio_window_counts=torch.tensor([3]))


# ---------------------------------------------------------------- assembling and saving


def test_from_parts_with_directories(tmp_path):
    tokenizer = bt.build_tokenizer()
    lm = AutoModelForCausalLM.from_config(
        bt.text_config("llama", len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id)
    )
    lm.save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    SpatialASTModel(bt.audio_config()).save_pretrained(tmp_path / "encoder")
    model, tok = BatForConditionalGeneration.from_parts(
        tmp_path / "encoder", tmp_path / "lm", projector_config=bt.PROJECTOR_CONFIG, num_query_tokens=bt.NUM_QUERIES
    )
    assert len(tok) == len(tokenizer) + 1 and tok.convert_tokens_to_ids("<|AUDIO|>") == model.config.audio_token_id
    assert model.config.text_config.vocab_size == len(tok) == model.get_output_embeddings().weight.shape[0]
    assert model.get_input_embeddings().weight[-1].abs().sum() == 0  # new rows start at zero
    assert torch.equal(model.language_model.model.embed_tokens.weight[:-1], lm.model.embed_tokens.weight)
    assert tok.padding_side == "left" and tok.pad_token == tok.eos_token


def test_auto_round_trip_and_sharding(llama_bat, tmp_path):
    model, processor = llama_bat
    inputs = batch(processor)
    model.save_pretrained(tmp_path / "bat", max_shard_size="100KB")
    processor.save_pretrained(tmp_path / "bat")
    assert (tmp_path / "bat" / "model.safetensors.index.json").is_file()
    assert isinstance(AutoConfig.from_pretrained(tmp_path / "bat"), BatConfig)
    loaded = AutoModelForMultimodalLM.from_pretrained(tmp_path / "bat").eval()
    assert type(loaded) is BatForConditionalGeneration
    assert loaded.generation_config.num_beams == 4 and loaded.generation_config.max_new_tokens == 200
    loaded_processor = AutoProcessor.from_pretrained(tmp_path / "bat")
    again = loaded_processor(audio=[bt.binaural_clip(i) for i in range(2)], text=bt.QUESTIONS[:2], sampling_rate=32000)
    for key in inputs:
        assert torch.equal(again[key], inputs[key]), key
    with torch.no_grad():
        assert torch.allclose(model(**inputs).logits, loaded(**inputs).logits, atol=1e-6)
    assert not any(p.requires_grad for p in loaded.audio_tower.parameters())


def test_auto_model_gives_the_base_model_with_the_same_weights(llama_bat, tmp_path):
    """`AutoModel.from_pretrained(bat_dir)` (the user's first line) gives BatModel: the decoder's last hidden states,
    which the LM head turns into exactly BatForConditionalGeneration's logits; each class loads the other's files."""
    from transformers import AutoModel

    from transformers_bat import BatModel

    model, processor = llama_bat
    model.save_pretrained(tmp_path / "bat")
    base, info = AutoModel.from_pretrained(tmp_path / "bat", output_loading_info=True)
    assert type(base) is BatModel and not info["missing_keys"] and not info["unexpected_keys"]
    inputs = batch(processor)
    with torch.no_grad():
        outputs = base.eval()(**inputs)
        logits = model.eval()(**inputs).logits
    head = base.language_model.get_output_embeddings()
    assert outputs.last_hidden_state.shape[:2] == inputs["input_ids"].shape
    assert outputs.audio_hidden_states.shape[1] == model.config.num_query_tokens
    torch.testing.assert_close(head(outputs.last_hidden_state), logits, atol=1e-5, rtol=1e-5)
    base.save_pretrained(tmp_path / "base")
    again = BatForConditionalGeneration.from_pretrained(tmp_path / "base").eval()
    with torch.no_grad():
        torch.testing.assert_close(again(**inputs).logits, logits)
    assert not any(p.requires_grad for p in base.audio_tower.parameters())


REMOTE_SCRIPT = textwrap.dedent(
    """
    import importlib.util, os, sys
    sys.path = [p for p in sys.path if not os.path.isdir(os.path.join(p or ".", "transformers_bat"))]
    assert importlib.util.find_spec("transformers_bat") is None, "transformers_bat is still importable"
    import numpy as np, torch
    from transformers import AutoModel, AutoModelForMultimodalLM, AutoProcessor, pipeline

    directory = sys.argv[1]
    model = AutoModelForMultimodalLM.from_pretrained(directory, trust_remote_code=True).eval()
    base = AutoModel.from_pretrained(directory, trust_remote_code=True).eval()
    assert type(base).__name__ == "BatModel", type(base)
    processor = AutoProcessor.from_pretrained(directory, trust_remote_code=True)
    clip = np.load(os.path.join(directory, "clip.npy"))
    inputs = processor(audio=clip, text="Where is the sound coming from?", sampling_rate=32000)
    with torch.no_grad():
        logits = model(**inputs).logits
        head = base.language_model.get_output_embeddings()
        assert torch.allclose(head(base(**inputs).last_hidden_state), logits, atol=1e-5)
    qa = pipeline(model=directory, trust_remote_code=True)
    answer = qa(clip, question="Where is the sound coming from?", sampling_rate=32000, max_new_tokens=3, num_beams=1)
    print(type(model).__module__, type(qa).__module__)
    np.save(os.path.join(directory, "logits.npy"), logits.numpy())
    # code loaded from the checkpoint saves itself again, and that copy loads too
    resaved = os.path.join(os.path.dirname(directory), "resaved")
    model.save_pretrained(resaved)
    processor.save_pretrained(resaved)
    again = AutoModelForMultimodalLM.from_pretrained(resaved, trust_remote_code=True).eval()
    with torch.no_grad():
        assert torch.allclose(again(**AutoProcessor.from_pretrained(resaved, trust_remote_code=True)(
            audio=clip, text="Where is the sound coming from?", sampling_rate=32000)).logits, logits, atol=1e-5)
    """
)


def test_trust_remote_code_without_the_package(llama_bat, tmp_path):
    model, processor = llama_bat
    source = tmp_path / "saved"
    model.save_pretrained(source)
    processor.save_pretrained(source)
    for name in ("modeling_bat.py", "modeling_spatial_ast.py", "labels.py", "spatial_audio_qa.py", "remote_code.py"):
        assert (source / name).is_file(), name
    config = json.loads((source / "config.json").read_text())
    assert config["auto_map"]["AutoModelForMultimodalLM"] == "modeling_bat.BatForConditionalGeneration"
    assert config["auto_map"]["AutoModel"] == "modeling_bat.BatModel"
    assert config["custom_pipelines"]["spatial-audio-qa"]["impl"] == "spatial_audio_qa.SpatialAudioQAPipeline"
    checkpoint = tmp_path / "elsewhere" / "bat-checkpoint"
    shutil.copytree(source, checkpoint)
    clip = bt.binaural_clip(3)
    np.save(checkpoint / "clip.npy", clip)
    (tmp_path / "run.py").write_text(REMOTE_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_MODULES_CACHE=str(tmp_path / "modules"), HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    result = subprocess.run(
        [sys.executable, str(tmp_path / "run.py"), str(checkpoint)],
        cwd=tmp_path / "elsewhere",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "transformers_modules" in result.stdout and "spatial_audio_qa" in result.stdout
    inputs = processor(audio=clip, text="Where is the sound coming from?", sampling_rate=bt.SAMPLING_RATE)
    with torch.no_grad():
        expected = model(**inputs).logits.numpy()
    np.testing.assert_allclose(np.load(checkpoint / "logits.npy"), expected, atol=1e-5)


# ---------------------------------------------------------------- PEFT


def test_lora_save_load_merge_identical_logits(tmp_path):
    pytest.importorskip("peft")
    from peft import PeftModel
    from safetensors.torch import load_file

    from transformers_bat.models.bat.peft_bat import add_lora

    model, processor = bt.build_bat("llama", seed=2)
    inputs = batch(processor, answers=True)
    peft_model = add_lora(model)
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_" in n or "multi_modal_projector" in n for n in trainable)
    assert not any("audio_tower" in n for n in trainable)
    lora_modules = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in trainable if ".lora_" in n}
    assert lora_modules == {"q_proj", "v_proj"} and all("language_model" in n for n in trainable if ".lora_" in n)
    config = peft_model.peft_config["default"]
    assert (config.r, config.lora_alpha, config.lora_dropout) == (8, 32, 0.05)
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    peft_model.train()
    for _ in range(3):
        peft_model(**inputs).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    peft_model.eval()
    with torch.no_grad():
        reference = peft_model(**inputs).logits
    peft_model.save_pretrained(tmp_path / "adapter")
    saved = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    assert all(".lora_" in k or "multi_modal_projector" in k for k in saved)  # adapter + projector only
    base, _ = bt.build_bat("llama", seed=2)
    loaded = PeftModel.from_pretrained(base, tmp_path / "adapter").eval()
    with torch.no_grad():
        assert torch.allclose(loaded(**inputs).logits, reference, atol=1e-6)
        merged = loaded.merge_and_unload()
        assert type(merged) is BatForConditionalGeneration
        assert torch.allclose(merged(**inputs).logits, reference, atol=1e-5)
    generated = peft_model.generate(
        **{k: v for k, v in inputs.items() if k != "labels"}, max_new_tokens=3, num_beams=2
    )
    assert generated.shape[0] == 2


def test_llama_adapter_option(tmp_path):
    pytest.importorskip("peft")
    from transformers_bat.models.bat.peft_bat import add_llama_adapter, load_llama_adapter, save_llama_adapter

    model, processor = bt.build_bat("llama", seed=3)
    inputs = batch(processor, answers=True)
    add_llama_adapter(model, adapter_len=3)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any("adaption" in n for n in trainable) and any("multi_modal_projector" in n for n in trainable)
    assert not any("audio_tower" in n or "lora" in n for n in trainable)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(2):
        model(**inputs).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    with torch.no_grad():
        reference = model(**inputs).logits
    save_llama_adapter(model, tmp_path / "adapter")
    fresh, _ = bt.build_bat("llama", seed=3)
    load_llama_adapter(fresh, tmp_path / "adapter").eval()
    with torch.no_grad():
        assert torch.allclose(fresh(**inputs).logits, reference, atol=1e-6)
    gpt2, _ = bt.build_bat("gpt2")
    with pytest.raises(ValueError, match="Llama and Mistral"):
        add_llama_adapter(gpt2)


def test_trainer_smoke(tmp_path):
    """Two Trainer steps on CPU with the processor as collator; only the projector and LM change."""
    pytest.importorskip("accelerate")
    from transformers import Trainer, TrainingArguments

    model, processor = bt.build_bat("llama", seed=6)
    rows = [{"clip": i, "question": bt.QUESTIONS[i % 4], "answer": bt.ANSWERS[i % 7]} for i in range(4)]

    def collate(items):
        return processor(
            audio=[bt.binaural_clip(item["clip"]) for item in items],
            text=[item["question"] for item in items],
            answers=[item["answer"] for item in items],
            sampling_rate=bt.SAMPLING_RATE,
        )

    encoder_before = {k: v.clone() for k, v in model.audio_tower.state_dict().items()}
    projector_before = model.multi_modal_projector.linear.weight.clone()
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=2,
        max_steps=2,
        learning_rate=1e-3,
        use_cpu=True,
        report_to="none",
        remove_unused_columns=False,
        save_strategy="no",
        logging_steps=1,
    )
    trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collate)
    result = trainer.train()
    assert np.isfinite(result.training_loss)
    assert not torch.equal(model.multi_modal_projector.linear.weight, projector_before)
    assert all(torch.equal(v, encoder_before[k]) for k, v in model.audio_tower.state_dict().items())


# ---------------------------------------------------------------- loading never leaves weights silently random


def saved_without(llama_bat, folder, *names):
    """The fixture's BAT saved to `folder` (with its remote code), then `names` deleted from the weights file."""
    from safetensors.torch import load_file, save_file

    llama_bat[0].save_pretrained(folder)
    weights = load_file(folder / "model.safetensors")
    for name in names:
        del weights[name]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


def test_missing_encoder_or_projector_tensor_is_an_error(llama_bat, tmp_path, caplog):
    from transformers_bat.models.spatial_ast.modeling_spatial_ast import MissingPretrainedWeightsError

    folder = saved_without(
        llama_bat, tmp_path / "bat", "audio_tower.layers.0.mlp.fc1.weight", "multi_modal_projector.query"
    )
    with pytest.raises(MissingPretrainedWeightsError) as caught:
        AutoModelForMultimodalLM.from_pretrained(folder)
    assert str(caught.value) == (
        f"BatForConditionalGeneration.from_pretrained: 2 tensor(s) of the pretrained audio encoder and projector are "
        f"missing from {folder / 'model.safetensors'}: audio_tower.layers.0.mlp.fc1.weight, "
        f"multi_modal_projector.query. Loading would initialise them randomly and silently change the model. Check "
        f"that the file is complete (save or convert it again); to initialise them randomly on purpose, pass "
        f"allow_missing_weights=True."
    )
    with caplog.at_level("WARNING", logger="transformers_bat.models.spatial_ast.modeling_spatial_ast"):
        model, info = BatForConditionalGeneration.from_pretrained(
            folder, allow_missing_weights=True, output_loading_info=True
        )
    assert info["missing_keys"] == {"audio_tower.layers.0.mlp.fc1.weight", "multi_modal_projector.query"}
    assert not any(p.requires_grad for p in model.audio_tower.parameters())  # the freeze is still applied
    assert any("were initialised randomly (allow_missing_weights=True)" in r.getMessage() for r in caplog.records)


def test_missing_language_model_tensor_is_reported(llama_bat, tmp_path, caplog):
    folder = saved_without(llama_bat, tmp_path / "bat", "language_model.model.layers.1.mlp.up_proj.weight")
    with caplog.at_level("WARNING", logger="transformers_bat.models.spatial_ast.modeling_spatial_ast"):
        model = BatForConditionalGeneration.from_pretrained(folder)
    assert isinstance(model, BatForConditionalGeneration)
    assert [r.getMessage() for r in caplog.records if "start from random" in r.getMessage()] == [
        f"BatForConditionalGeneration.from_pretrained: 1 tensor(s) are not in {folder / 'model.safetensors'} and "
        f"start from random initialisation: language_model.model.layers.1.mlp.up_proj.weight."
    ]


def test_remote_code_loading_refuses_a_missing_projector_tensor(llama_bat, tmp_path):
    """modeling_bat imports the check from the copied modeling_spatial_ast.py: it must work without the package."""
    folder = saved_without(llama_bat, tmp_path / "bat", "multi_modal_projector.linear.bias")
    script = textwrap.dedent(
        f"""
        import importlib.util, os, sys
        sys.path = [p for p in sys.path if not os.path.isdir(os.path.join(p or ".", "transformers_bat"))]
        assert importlib.util.find_spec("transformers_bat") is None, "transformers_bat is still importable"
        from transformers import AutoModelForMultimodalLM
        try:
            AutoModelForMultimodalLM.from_pretrained({str(folder)!r}, trust_remote_code=True)
        except ValueError as error:
            print(type(error).__module__, error)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_MODULES_CACHE=str(tmp_path / "modules"), HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("transformers_modules.")
    assert "1 tensor(s) of the pretrained audio encoder and projector are missing" in result.stdout
    assert "multi_modal_projector.linear.bias" in result.stdout
