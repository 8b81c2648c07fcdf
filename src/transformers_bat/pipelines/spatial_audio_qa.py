"""The `spatial-audio-qa` pipeline: binaural clip(s) + question(s) -> BAT answer text and parsed structure."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from transformers import Pipeline

from ..answer_parsing import parse_answer
from ..compat import pipeline_generate_kwargs
from ..models.bat.processing_bat import chat_audio_clip
from ..models.spatial_ast.feature_extraction_spatial_ast import ENCODED_AUDIO, is_rate_and_array

AudioLike = str | os.PathLike | bytes | np.ndarray | torch.Tensor | dict


def _is_clip(item) -> bool:
    """One clip: a path, a dict, gradio's (rate, array) tuple, or an array/tensor of at most 2 dimensions."""
    return (
        isinstance(item, (*ENCODED_AUDIO, dict))
        or (isinstance(item, (np.ndarray, torch.Tensor)) and item.ndim <= 2)
        or is_rate_and_array(item)
    )


def _is_chat(inputs) -> bool:
    """One conversation: a list of {"role", "content"} messages."""
    return (
        isinstance(inputs, (list, tuple))
        and bool(inputs)
        and all(isinstance(message, dict) and "role" in message for message in inputs)
    )


def _row_from_chat(messages) -> dict:
    """The {"audio", "question"} row of a conversation with one user turn holding audio and text items."""
    users = [message for message in messages if message.get("role") == "user"]
    if len(users) != 1 or not isinstance(users[0].get("content"), (list, tuple)):
        raise ValueError("A chat for BAT needs exactly one user message whose content lists an audio and a text item.")
    content = users[0]["content"]
    audio = [item for item in content if item.get("type") == "audio"]
    text = " ".join(item["text"] for item in content if item.get("type") == "text").strip()
    if len(audio) != 1 or not text:
        raise ValueError(f"The user message needs one audio item and a question, got {len(audio)} audio item(s).")
    return {"audio": chat_audio_clip(audio[0]), "question": text}


def _is_stream(inputs) -> bool:
    """Inputs to answer one by one: generators and dataset-like objects (len + getitem, not a plain container)."""
    if isinstance(inputs, (str, bytes, dict, list, tuple, np.ndarray, torch.Tensor, os.PathLike)):
        return False
    return isinstance(inputs, Iterator) or (hasattr(inputs, "__len__") and hasattr(inputs, "__getitem__"))


def _stream_rows(inputs, question):
    """Rows of a stream: {"audio", "question"} dicts as they are, clips paired with `question`."""
    for item in inputs:
        if isinstance(item, dict) and "audio" in item:
            row = {"audio": item["audio"], "question": item.get("question", question)}
        elif _is_chat(item):
            row = _row_from_chat(item)
        else:
            row = {"audio": item, "question": question}
        if not isinstance(row["question"], str):
            raise ValueError("Each streamed item needs a question: in the item ({'audio', 'question'}) or question=.")
        yield row


class SpatialAudioQAPipeline(Pipeline):
    r"""
    Answers questions about binaural (2-channel) audio with a BAT model.

    ```python
    >>> qa = pipeline("spatial-audio-qa", model="path/to/bat")
    >>> qa("clip.wav", question="Where is the sound coming from?")
    {'question': ..., 'answer': 'left, front, below; 2.5m', 'answer_type': 'direction_distance',
     'parsed': {'lateral': 'left', 'frontal': 'front', 'vertical': 'below', 'distance_m': 2.5}}
    ```

    Inputs: a path, a `(2, samples)` array/tensor, a `{"array", "sampling_rate"}` dict, gradio's `(rate, int16
    (samples, 2))` tuple, a `{"audio", "question"}` dict, or a list of these; a chat (`[{"role": "user", "content":
    [{"type": "audio", "path": ...}, {"type": "text", "text": ...}]}]`) or a list of chats; or a generator / dataset
    of any of these, answered lazily. `question` may be one string (asked of every clip), a list with one question
    per clip, or, for a single clip, a list of questions. Results come in input order: a dict for one (clip,
    question), a list otherwise.

    A clip longer than the model's window is read whole, window by window (see [`BatProcessor`]), never cropped.

    Call arguments: `question`, `sampling_rate` (for bare arrays), `hop_s` (seconds between a long clip's windows;
    default back to back), `truncation` (read only the first window of a long clip), `question_type` (an official
    SpatialSoundQA type to force the answer parser), `batch_size`, and any `generate()` argument (`max_new_tokens`,
    `num_beams`, `generation_config` ...). Generation defaults come from the model's `generation_config` (beam search
    4, 200 new tokens for the release).
    """

    _load_processor = True
    _load_feature_extractor = False
    _load_tokenizer = False
    _load_image_processor = False
    _pipeline_calls_generate = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.processor is None:
            raise ValueError("The spatial-audio-qa pipeline needs a BatProcessor (processor=...).")
        expected = getattr(self.model.config, "num_query_tokens", None)
        if expected is not None and getattr(self.processor, "num_query_tokens", expected) != expected:
            raise ValueError(
                f"The processor writes {self.processor.num_query_tokens} audio placeholders per clip but the model "
                f"reads {expected} query tokens: use the processor saved with this model "
                f"(BatProcessor.from_config(model.config, tokenizer) builds a matching one)."
            )
        # Batches go through the default collate (`pad_collate_fn`), which left-pads token ids with the processor's
        # tokenizer. The clips' windows have one fixed shape and need no padding, so the feature extractor takes
        # no part (its padding side, unused, would otherwise conflict with the tokenizer's).
        self.tokenizer = self.processor.tokenizer
        self.feature_extractor = None

    def _sanitize_parameters(
        self,
        question=None,
        sampling_rate=None,
        truncation=None,
        hop_s=None,
        question_type=None,
        generate_kwargs=None,
        **kwargs,
    ):
        preprocess = {}
        for key, value in (("sampling_rate", sampling_rate), ("truncation", truncation), ("hop_s", hop_s)):
            if value is not None:
                preprocess[key] = value
        forward = {"generate_kwargs": {**(generate_kwargs or {}), **kwargs}}
        postprocess = {"question_type": question_type} if question_type is not None else {}
        return preprocess, forward, postprocess

    def __call__(self, inputs: AudioLike | Sequence[AudioLike], question: str | Sequence[str] | None = None, **kwargs):
        """Answer `question` about `inputs`; see the class docstring for the accepted forms."""
        if _is_chat(inputs):
            return super().__call__([_row_from_chat(inputs)], **kwargs)[0]
        if isinstance(inputs, (list, tuple)) and inputs and all(_is_chat(chat) for chat in inputs):
            return super().__call__([_row_from_chat(chat) for chat in inputs], **kwargs)
        if _is_stream(inputs):  # a generator, a datasets.Dataset, a KeyDataset: answered lazily, in order
            return super().__call__(_stream_rows(inputs, question), **kwargs)
        items, single = self._pairs(inputs, question)
        results = super().__call__(items, **kwargs)
        return results[0] if single else results

    @staticmethod
    def _pairs(inputs, question) -> tuple[list[dict], bool]:
        """Normalise inputs into `{"audio", "question"}` rows (the pipeline's unit of work)."""
        if isinstance(inputs, dict) and "audio" in inputs:
            if question is not None:
                raise ValueError("Give the question either inside the input dict or as question=, not both.")
            return [dict(inputs)], True
        if _is_clip(inputs):
            clips, single_clip = [inputs], True
        elif isinstance(inputs, (np.ndarray, torch.Tensor)) and inputs.ndim == 3:
            clips, single_clip = list(inputs), False
        elif isinstance(inputs, Sequence) and not isinstance(inputs, str):
            clips, single_clip = list(inputs), False
            if not clips:
                raise ValueError("Got an empty list of inputs.")
            if all(isinstance(item, dict) and "audio" in item for item in clips):
                if question is not None:
                    raise ValueError("Give questions either inside the input dicts or as question=, not both.")
                return [dict(item) for item in clips], False
        else:
            raise ValueError(f"Unsupported input of type {type(inputs).__name__}: pass a path, array or dict.")
        if question is None:
            raise ValueError("A question is required: pipe(audio, question='Where is the sound coming from?').")
        questions = [question] if isinstance(question, str) else list(question)
        if not questions:
            raise ValueError("Got an empty list of questions.")
        if len(questions) == len(clips):
            pairs = list(zip(clips, questions))
        elif len(clips) == 1:
            pairs = [(clips[0], q) for q in questions]
        elif len(questions) == 1:
            pairs = [(c, questions[0]) for c in clips]
        else:
            raise ValueError(f"Cannot pair {len(clips)} clips with {len(questions)} questions.")
        single = single_clip and isinstance(question, str)
        return [{"audio": clip, "question": q} for clip, q in pairs], single

    def preprocess(self, item: dict, sampling_rate=None, truncation: bool = False, hop_s=None) -> dict:
        if not isinstance(item, dict) or "audio" not in item:
            raise ValueError(f"Expected an {{'audio', 'question'}} row, got {type(item).__name__}.")
        question = item.get("question")
        inputs = self.processor(
            audio=item["audio"], text=question, sampling_rate=sampling_rate, truncation=truncation, hop_s=hop_s
        )
        return {
            "input_ids": inputs["input_ids"],
            "attention_mask": inputs["attention_mask"],
            # Not under its model name (the default collate assumes a feature extractor for "input_features"), and
            # one flat row per window: the collate concatenates 2-D rows of equal width, so the windows of a batch's
            # clips line up whatever their counts (a 4-D tensor would be padded as one item per clip).
            "clip_features": inputs["input_features"].flatten(1).to(self.dtype),
            "audio_window_counts": inputs["audio_window_counts"],
            "question": question,
        }

    def _forward(self, model_inputs: dict, generate_kwargs=None) -> dict:
        questions = model_inputs.pop("question")
        questions = [questions] if isinstance(questions, str) else questions  # one row, or a batch's list
        extractor = self.processor.feature_extractor
        shape = (4, extractor.num_frames, extractor.num_mel_bins)
        model_inputs["input_features"] = model_inputs.pop("clip_features").unflatten(1, shape)
        if bool(model_inputs["attention_mask"][:, -1].eq(0).any()):
            raise ValueError(
                "Batched prompts arrived right-padded: set the processor's tokenizer.padding_side = 'left' (BAT "
                "generates after the prompt, so padding must come first)."
            )
        prompt_length = model_inputs["input_ids"].shape[1]
        generate_kwargs = pipeline_generate_kwargs(self, generate_kwargs or {})
        sequences = self.model.generate(**model_inputs, **generate_kwargs)
        if not isinstance(sequences, torch.Tensor):
            sequences = sequences.sequences
        new_tokens = sequences[:, prompt_length:]
        batch = len(questions)
        if new_tokens.shape[0] != batch:  # num_return_sequences > 1
            new_tokens = new_tokens.reshape(batch, -1, new_tokens.shape[-1])
        return {"new_tokens": new_tokens, "question": questions}

    def postprocess(self, model_outputs: dict, question_type: str | None = None):
        tokens = model_outputs["new_tokens"][0]
        question = model_outputs["question"]
        question = question[0] if isinstance(question, list) else question
        rows = tokens if tokens.ndim == 2 else tokens[None]
        answers = []
        for text in self.processor.tokenizer.batch_decode(rows, skip_special_tokens=True):
            text = text.strip()
            kind, parsed = parse_answer(text, question_type)
            answers.append({"question": question, "answer": text, "answer_type": kind, "parsed": parsed})
        return answers[0] if len(answers) == 1 else answers


__all__ = ["SpatialAudioQAPipeline"]
