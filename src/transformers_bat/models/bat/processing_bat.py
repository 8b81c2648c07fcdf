"""BAT processor: binaural audio -> Spatial-AST features, questions -> the paper's prompt with audio placeholders."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import BatchFeature, ProcessorMixin

from ...remote_code import write_remote_code
from ..spatial_ast.feature_extraction_spatial_ast import (
    ENCODED_AUDIO,
    SpatialASTFeatureExtractor,
    check_sampling_rate,
    from_rate_and_array,
    is_rate_and_array,
    read_audio,
)
from .configuration_bat import BAT_PROMPT_TEMPLATE, DEFAULT_AUDIO_TOKEN


def bat_chat_template(prompt_template: str, audio_token: str) -> str:
    """A Jinja chat template that renders one user turn as BAT's prompt: one audio token per audio item (first:
    BAT reads the audio before BOS), then `prompt_template` with the text items as the instruction."""
    before, after = prompt_template.split("{instruction}", 1)

    def literal(text: str) -> str:  # a Jinja expression printing `text` verbatim
        return "{{ " + json.dumps(text) + " }}"

    return (
        "{%- set users = messages | selectattr('role', 'equalto', 'user') | list -%}"
        "{%- if users | length != 1 -%}"
        "{{ raise_exception('BAT answers one question about its audio: give exactly one user message') }}"
        "{%- endif -%}"
        "{%- if users[0]['content'] is string -%}"
        "{{ raise_exception('BAT needs audio: make the user content a list with an audio item and a text item') }}"
        "{%- endif -%}"
        "{%- for item in users[0]['content'] if item['type'] == 'audio' -%}"
        + literal(audio_token)
        + "{%- endfor -%}"
        + literal(before)
        + "{%- for item in users[0]['content'] if item['type'] == 'text' -%}{{ item['text'] }}{%- endfor -%}"
        + literal(after)
    )


def chat_audio_clip(item: dict, sampling_rate: int | None = None):
    """The clip of a chat's `{"type": "audio", ...}` item, in a form the processor reads with both channels: a path
    or encoded bytes as they are, an array as `{"array", "sampling_rate"}` (the item's rate, else `sampling_rate`)."""
    source = next((item[key] for key in ("audio", "path", "url") if item.get(key) is not None), None)
    if source is None:
        raise ValueError(f"An audio item needs 'path', 'url' or 'audio', got keys {sorted(item)}.")
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        raise ValueError(f"Audio URLs are not fetched (offline use): download {source} and pass its path.")
    if isinstance(source, (*ENCODED_AUDIO, dict)):
        return source
    rate = item.get("sampling_rate", sampling_rate)
    if rate is None:
        raise ValueError("An audio item holding an array needs 'sampling_rate' beside it.")
    return {"array": source, "sampling_rate": rate}


def _clip_name(index: int, item) -> str:
    return f"audio[{index}]" + (f" ({item})" if isinstance(item, (str, os.PathLike)) else "")


class BatProcessor(ProcessorMixin):
    r"""
    Builds BAT inputs from binaural clips and questions.

    Each (clip, question) pair becomes `[audio placeholder x num_query_tokens] + tokenizer(prompt)`, where the prompt
    is `prompt_template` (appendix G of the paper) filled with the question and the tokenizer adds BOS, so the audio
    embeddings come before BOS as in the release. With `answers`, `tokenizer(answer) + EOS` is appended and `labels`
    score only those tokens. Batches are left-padded (pad = eos when the tokenizer has no pad token) so batched
    generation matches one-by-one generation.

    Audio can be a `(2, samples)` array/tensor, a file path (read with soundfile, channels kept), a
    `{"array", "sampling_rate"}` dict, or a list of those. A clip longer than the feature extractor's window
    (`max_length_s`; 10 s for the paper's model, so one window per SpatialSoundQA clip) is read whole, window by
    window (`hop_s` apart, back to back by default): `input_features` holds every window and `audio_window_counts`
    how many each clip has, and the model's Q-Former reads all of a clip's windows together. `truncation=True` keeps
    only the first window.

    The in-tree contract works too: `text` may be full prompts holding the audio token (as `apply_chat_template`
    renders them), each leading audio token standing for the next clip; and `apply_chat_template(messages)` with
    `{"type": "audio", "path" | "audio": ...}` items loads the audio with both channels (transformers' own loader
    would mix them down to mono, erasing the spatial cues).

    Args:
        feature_extractor ([`SpatialASTFeatureExtractor`]): binaural front end.
        tokenizer ([`PreTrainedTokenizerBase`]): the LM's tokenizer, holding the audio token.
        audio_token (`str`, *optional*, defaults to `"<|AUDIO|>"`): the placeholder token.
        num_query_tokens (`int`, *optional*, defaults to 64): placeholders per clip (the model's query count).
        prompt_template (`str`, *optional*): template with an `{instruction}` field.
        chat_template (`str`, *optional*): defaults to one rendering a user turn as `prompt_template` does.
        audio_windows (`str`, *optional*, defaults to `"all"`): `"all"` reads every window of a long clip;
            `"loudest"` keeps only each clip's loudest window (most mel energy over both ears), a budget option for
            small models trained that way (the demo's BAT). Saved with the processor, so inference reads clips the
            way training did.
    """

    def __init__(
        self,
        feature_extractor: SpatialASTFeatureExtractor,
        tokenizer,
        audio_token: str = DEFAULT_AUDIO_TOKEN,
        num_query_tokens: int = 64,
        prompt_template: str = BAT_PROMPT_TEMPLATE,
        chat_template: str | None = None,
        audio_windows: str = "all",
    ):
        if "{instruction}" not in prompt_template:
            raise ValueError(f"prompt_template must contain '{{instruction}}', got {prompt_template!r}.")
        if audio_windows not in ("all", "loudest"):
            raise ValueError(f"audio_windows must be 'all' or 'loudest', got {audio_windows!r}.")
        self.audio_windows = audio_windows
        self.audio_token = audio_token
        self.num_query_tokens = num_query_tokens
        self.prompt_template = prompt_template
        if chat_template is None:
            chat_template = bat_chat_template(prompt_template, audio_token)
        super().__init__(feature_extractor, tokenizer, chat_template=chat_template)
        if audio_token not in tokenizer.get_vocab():
            raise ValueError(
                f"The tokenizer has no {audio_token!r} token; add it (BatForConditionalGeneration.from_parts does) "
                f"and resize the model's embeddings."
            )
        self.audio_token_id = tokenizer.convert_tokens_to_ids(audio_token)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"

    @classmethod
    def from_config(cls, config, tokenizer, audio_windows: str = "all", **feature_extractor_kwargs) -> BatProcessor:
        """Processor matching a [`BatConfig`]: feature shape from `audio_config`, token and template from `config`."""
        audio = config.audio_config
        feature_extractor_kwargs.setdefault("num_frames", audio.num_frames)
        feature_extractor_kwargs.setdefault("num_mel_bins", audio.num_mel_bins)
        return cls(
            SpatialASTFeatureExtractor(**feature_extractor_kwargs),
            tokenizer,
            audio_token=config.audio_token,
            num_query_tokens=config.num_query_tokens,
            prompt_template=config.prompt_template,
            audio_windows=audio_windows,
        )

    @property
    def model_input_names(self) -> list[str]:
        return ["input_ids", "attention_mask", "input_features", "audio_window_counts"]

    # ------------------------------------------------------------------ text
    def build_prompt(self, question: str) -> str:
        """The prompt of one question (the template filled in; braces in the question are kept verbatim)."""
        return self.prompt_template.replace("{instruction}", question)

    def _check_questions(self, text) -> list[str]:
        if text is None:
            raise ValueError("A question is required: pass text='Where is the sound coming from?' (or a list).")
        if not isinstance(text, (str, list, tuple)):
            raise ValueError(f"Questions must be a string or a list of strings, got {type(text).__name__}.")
        questions = [text] if isinstance(text, str) else list(text)
        if not questions:
            raise ValueError("Got an empty list of questions.")
        for i, question in enumerate(questions):
            if not isinstance(question, str):
                raise ValueError(f"question[{i}] must be a string, got {type(question).__name__}.")
            if not question.strip():
                raise ValueError(f"question[{i}] is empty: ask something about the audio.")
            if self.audio_token in question:
                raise ValueError(
                    f"question[{i}] contains the audio placeholder {self.audio_token!r}: the processor places the "
                    f"placeholders of each clip itself, so leave it out of the text."
                )
        return questions

    # ------------------------------------------------------------------ audio
    def _as_clips(self, audio, sampling_rate: int | None) -> list[tuple[object, int | None, str]]:
        """Flatten the accepted audio forms into `(array_or_tensor, rate, name)` per clip; files are read here."""
        if audio is None:
            raise ValueError("BAT answers questions about audio: pass audio (a (2, samples) array, path or dict).")
        if (
            isinstance(audio, (*ENCODED_AUDIO, dict))
            or is_rate_and_array(audio)
            or (isinstance(audio, (np.ndarray, torch.Tensor)) and audio.ndim <= 2)
        ):
            audio = [audio]
        elif isinstance(audio, (np.ndarray, torch.Tensor)) and audio.ndim == 3:
            audio = list(audio)
        if not isinstance(audio, Sequence) or len(audio) == 0:
            raise ValueError(f"Unsupported or empty audio input of type {type(audio).__name__}.")
        if len(audio) == 2 and all(np.ndim(item) == 1 and len(item) > 2 for item in audio):
            raise ValueError(
                "Got a list of two 1-D arrays, which reads as two mono clips. For one stereo clip pass "
                "np.stack([left, right]) (shape (2, samples))."
            )
        clips = []
        for i, item in enumerate(audio):
            name, rate = _clip_name(i, item), sampling_rate
            if is_rate_and_array(item):  # gradio: (rate, int16 (samples, 2))
                item = from_rate_and_array(*item)
            if isinstance(item, dict):
                if "array" in item or "raw" in item:
                    rate = item.get("sampling_rate", sampling_rate)
                    if rate is None:
                        raise ValueError(f"{name}: an audio dict needs 'sampling_rate' next to 'array'.")
                    item = item["array"] if "array" in item else item["raw"]
                elif item.get("bytes") is not None:  # datasets' Audio(decode=False): the encoded file
                    item = item["bytes"]
                elif item.get("path") is not None:
                    item = item["path"]
                else:
                    raise ValueError(
                        f"{name}: an audio dict needs 'array' (and 'sampling_rate'), 'bytes' (an encoded file) or "
                        f"'path'."
                    )
            if isinstance(item, ENCODED_AUDIO):
                name = _clip_name(i, item)  # names the path, also one found inside a dict
                item, rate = read_audio(item)
            if rate is not None:
                rate = check_sampling_rate(rate, f"{name}: sampling_rate")
            clips.append((item, rate, name))
        return clips

    def _check_features(self, input_features) -> torch.Tensor:
        features = torch.as_tensor(input_features)
        extractor = self.feature_extractor
        expected = (4, extractor.num_frames, extractor.num_mel_bins)
        if features.ndim != 4 or tuple(features.shape[1:]) != expected or len(features) == 0:
            raise ValueError(
                f"input_features must be (windows, {', '.join(map(str, expected))}) from this processor's feature "
                f"extractor, got shape {tuple(features.shape)}."
            )
        if not torch.isfinite(features).all():
            raise ValueError("input_features contain NaN or infinite values.")
        return features.float()

    def window_features(
        self, audio, sampling_rate: int | None = None, hop_s: float | None = None, truncation: bool = False
    ) -> list[torch.Tensor]:
        """Features of each clip's windows, one `(num_windows, 4, frames, mels)` tensor per clip, in order.

        What `__call__` feeds the model, for callers that keep features (training on fixed scenes): a clip that fits
        the feature extractor's window is one window, padded as the release pads it; a longer clip is all its
        windows (see `SpatialASTFeatureExtractor.window_starts`), never a crop, unless `truncation=True`.
        """
        return self._features(self._as_clips(audio, sampling_rate), hop_s, truncation)

    def _features(self, clips, hop_s: float | None, truncation: bool) -> list[torch.Tensor]:
        per_clip: list[torch.Tensor | None] = [None] * len(clips)
        by_rate: dict[int | None, list[int]] = {}
        for i, (_, rate, _) in enumerate(clips):
            by_rate.setdefault(None if rate is None else int(rate), []).append(i)
        for rate, indices in by_rate.items():
            batch = [clips[i][0] for i in indices]
            try:  # every window of every clip of this rate in one call
                features = self.feature_extractor(
                    batch, sampling_rate=rate, return_tensors="pt", windows=not truncation, hop_s=hop_s
                )
            except ValueError as error:
                names = ", ".join(clips[i][2] for i in indices[:5]) + (", ..." if len(indices) > 5 else "")
                raise ValueError(f"{error} (clips: {names})") from error
            owner = torch.arange(len(indices)) if truncation else features["clip_index"]
            for position, i in enumerate(indices):
                per_clip[i] = features["input_features"][owner == position]
        if self.audio_windows == "loudest":  # log-mel dB of both ears back to power, summed over the window
            per_clip = [
                windows[(10.0 ** (windows[:, :2].double() / 10.0)).sum((1, 2, 3)).argmax()][None]
                for windows in per_clip
            ]
        return per_clip

    def _check_window_counts(self, audio_window_counts, num_rows: int) -> list[int]:
        if audio_window_counts is None:
            return [1] * num_rows
        counts = torch.as_tensor(audio_window_counts).reshape(-1).tolist()
        if not counts or any(count < 1 for count in counts) or sum(counts) != num_rows:
            raise ValueError(
                f"audio_window_counts {counts} must be positive and add up to the {num_rows} rows of input_features "
                f"(one count per clip)."
            )
        return counts

    # ------------------------------------------------------------------ main entry
    def _prompt_rows(self, prompts: list[str], num_clips: int) -> list[tuple[list[int], str]]:
        """Rows of full prompts: the leading audio tokens of each take the next clips, in order."""
        rows, next_clip = [], 0
        for i, prompt in enumerate(prompts):
            count, position = 0, 0
            while prompt.startswith(self.audio_token, position):
                count, position = count + 1, position + len(self.audio_token)
            rest = prompt[position:]
            if self.audio_token in rest or count == 0:
                raise ValueError(
                    f"text[{i}]: BAT reads the audio before the prompt, so audio tokens {self.audio_token!r} may only "
                    f"start the text (one per clip); got {prompt!r}. To ask a question, pass it without the token."
                )
            rows.append((list(range(next_clip, next_clip + count)), rest))
            next_clip += count
        if next_clip != num_clips:
            raise ValueError(
                f"The text holds {next_clip} audio token(s) {self.audio_token!r} but {num_clips} clip(s) were given: "
                f"one token per clip."
            )
        return rows

    def _question_rows(self, text, num_clips: int) -> list[tuple[list[int], str]]:
        """Rows of questions, paired with clips, each filled into the prompt template."""
        if isinstance(text, (list, tuple)) and text and isinstance(text[0], (list, tuple)):
            if len(text) != num_clips:
                raise ValueError(f"Got {num_clips} clips but {len(text)} lists of questions (one list per clip).")
            pairs = [(c, q) for c, group in enumerate(text) for q in self._check_questions(group)]
        else:
            questions = self._check_questions(text)
            if num_clips == len(questions):
                pairs = list(enumerate(questions))
            elif num_clips == 1:
                pairs = [(0, q) for q in questions]
            elif len(questions) == 1:
                pairs = [(c, questions[0]) for c in range(num_clips)]
            else:
                raise ValueError(
                    f"Cannot pair {num_clips} clips with {len(questions)} questions: give one clip, one question, "
                    f"equal numbers, or one list of questions per clip."
                )
        return [([clip], self.build_prompt(question)) for clip, question in pairs]

    def __call__(
        self,
        audio=None,
        text: str | Sequence[str] | None = None,
        answers: str | Sequence[str] | None = None,
        sampling_rate: int | None = None,
        truncation: bool = False,
        return_tensors: str | None = "pt",
        input_features: torch.Tensor | None = None,
        audio_window_counts: torch.Tensor | Sequence[int] | None = None,
        hop_s: float | None = None,
        images=None,
        videos=None,
        padding: bool | str = True,
        add_special_tokens: bool = True,
        audio_kwargs: dict | None = None,
        **kwargs,
    ) -> BatchFeature:
        """Pair clips with questions (or read full prompts) and build `input_ids`, `attention_mask`,
        `input_features`, `audio_window_counts` (+ `labels`).

        Pairing: one clip with N questions, N clips with one question, or N clips with N questions (pairwise).
        `text` may also be a list of lists, one list of questions per clip (a batch of clips x questions). Text that
        starts with the audio token is a full prompt (the in-tree contract; `apply_chat_template` renders them): its
        leading audio tokens take the next clips and no template is applied.

        Args:
            audio: clip(s), see the class docstring.
            text: question(s) (the `{instruction}` of the template), or full prompt(s) starting with audio tokens.
            answers: target answer(s) for training, one per row; adds `labels`.
            sampling_rate: rate of array inputs (dict inputs carry their own; files use theirs).
            truncation: read only the first window of clips longer than the window (default: every window).
            input_features: features `(windows, 4, frames, mels)` computed earlier by this feature extractor
                (e.g. by `window_features`), instead of `audio` (training loops that cache the features of fixed
                scenes).
            audio_window_counts: with `input_features`, how many consecutive rows each clip has (default one).
            hop_s: seconds between the starts of a long clip's windows (default: the window length, no overlap).
            images, videos: not taken by BAT (accepted as None, as generic pipelines pass them).
            padding: rows are always left-padded to the longest; `False` refuses rows of different lengths.
            add_special_tokens: add the tokenizer's BOS to each prompt (False when the prompt already has it).
            audio_kwargs: `sampling_rate` / `truncation` / `hop_s`, as the in-tree processors take them.
        """
        if kwargs:
            raise TypeError(f"Unexpected arguments for BatProcessor: {sorted(kwargs)}.")
        if images is not None or videos is not None:
            raise ValueError("BAT takes binaural audio and text; it does not read images or videos.")
        if padding not in (True, False, "longest", "do_not_pad"):
            raise ValueError(f"padding={padding!r} is not supported: rows are left-padded to the longest one.")
        for key, value in (audio_kwargs or {}).items():
            if key == "sampling_rate":
                sampling_rate = value if sampling_rate is None else sampling_rate
            elif key == "truncation":
                truncation = value
            elif key == "hop_s":
                hop_s = value
            else:
                raise TypeError(f"Unexpected audio_kwargs for BatProcessor: {key!r}.")
        if input_features is not None:
            if audio is not None:
                raise ValueError("Pass either audio or input_features, not both.")
            input_features = self._check_features(input_features)
            per_clip = list(input_features.split(self._check_window_counts(audio_window_counts, len(input_features))))
            clips = [(None, None, f"features[{i}]") for i in range(len(per_clip))]
        else:
            if audio_window_counts is not None:
                raise ValueError("audio_window_counts describes input_features: pass it with them, not with audio.")
            clips = self._as_clips(audio, sampling_rate)
        texts = [text] if isinstance(text, str) else text
        is_prompt = isinstance(texts, (list, tuple)) and any(
            isinstance(item, str) and self.audio_token in item for item in texts
        )
        if is_prompt:
            rows = self._prompt_rows(self._check_prompts(texts), len(clips))
        else:
            rows = self._question_rows(text, len(clips))
        if answers is not None:
            answers = [answers] if isinstance(answers, str) else list(answers)
            if len(answers) != len(rows):
                raise ValueError(f"Got {len(answers)} answers for {len(rows)} (clip, question) rows.")

        if input_features is None:
            per_clip = self._features(clips, hop_s, truncation)
        # the windows of each placeholder group's clip, groups in reading order
        order = [c for clip_ids, _ in rows for c in clip_ids]
        features = torch.cat([per_clip[c] for c in order])
        window_counts = torch.tensor([len(per_clip[c]) for c in order], dtype=torch.long)

        tokenizer = self.tokenizer
        sequences, label_rows = [], []
        for row, (clip_ids, prompt) in enumerate(rows):
            prompt_ids = tokenizer(prompt, add_special_tokens=add_special_tokens)["input_ids"]
            ids = [self.audio_token_id] * (self.num_query_tokens * len(clip_ids)) + list(prompt_ids)
            labels = [-100] * len(ids)
            if answers is not None:
                answer_ids = tokenizer(answers[row], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
                ids += answer_ids
                labels += answer_ids
            sequences.append(ids)
            label_rows.append(labels)

        length = max(len(ids) for ids in sequences)
        if padding in (False, "do_not_pad") and any(len(ids) != length for ids in sequences):
            raise ValueError("The rows have different lengths and padding=False: they cannot form one batch.")
        pad_id = tokenizer.pad_token_id
        input_ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(sequences), length), dtype=torch.long)
        labels_tensor = torch.full((len(sequences), length), -100, dtype=torch.long)
        for row, (ids, labels) in enumerate(zip(sequences, label_rows)):
            input_ids[row, length - len(ids) :] = torch.tensor(ids)
            attention_mask[row, length - len(ids) :] = 1
            labels_tensor[row, length - len(ids) :] = torch.tensor(labels)
        data = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "input_features": features,
            "audio_window_counts": window_counts,
        }
        if answers is not None:
            data["labels"] = labels_tensor
        output = BatchFeature(data)
        if return_tensors != "pt":
            output = BatchFeature({k: v.numpy() for k, v in data.items()}, tensor_type=return_tensors)
        return output

    def _check_prompts(self, prompts) -> list[str]:
        prompts = list(prompts)
        for i, prompt in enumerate(prompts):
            if not isinstance(prompt, str):
                raise ValueError(f"text[{i}] must be a string, got {type(prompt).__name__}.")
            if self.audio_token not in prompt:
                raise ValueError(
                    f"text[{i}] has no audio token {self.audio_token!r} while other texts do: pass either questions "
                    f"(no audio token) or full prompts (starting with one audio token per clip), not both."
                )
        return prompts

    # ------------------------------------------------------------------ chat
    def apply_chat_template(self, conversation, chat_template: str | None = None, **kwargs):
        """`ProcessorMixin.apply_chat_template`, with the audio items loaded by this processor (both channels).

        transformers' own loader mixes files down to mono, which erases the interaural cues BAT listens to. Audio
        items may hold `"path"` (or `"url"` for a local file), `"audio"` (an array or path) and `"sampling_rate"`
        (for arrays). With `tokenize=False` the rendered prompt(s) are returned.
        """
        tokenize = kwargs.pop("tokenize", False)
        return_dict = kwargs.pop("return_dict", False)
        processor_kwargs = dict(kwargs.pop("processor_kwargs", None) or {})
        for key in ("return_tensors", "sampling_rate", "truncation", "hop_s", "padding", "audio_kwargs"):
            if key in kwargs:
                processor_kwargs[key] = kwargs.pop(key)
        prompts = super().apply_chat_template(conversation, chat_template=chat_template, tokenize=False, **kwargs)
        if not tokenize:
            return prompts
        batched = isinstance(conversation[0], (list, tuple)) or hasattr(conversation[0], "messages")
        conversations = conversation if batched else [conversation]
        clips = [clip for chat in conversations for clip in self._chat_audio(chat, processor_kwargs)]
        if processor_kwargs.get("return_tensors", "pt") in (None, "auto"):
            processor_kwargs["return_tensors"] = "pt"
        bos = self.tokenizer.bos_token
        texts = prompts if batched else [prompts]
        after_audio = [text.replace(self.audio_token, "") for text in texts]  # audio tokens only lead (checked later)
        starts_with_bos = bos is not None and all(text.startswith(bos) for text in after_audio)
        inputs = self(
            audio=clips or None,
            text=texts,
            add_special_tokens=not starts_with_bos,
            **{k: v for k, v in processor_kwargs.items() if k != "sampling_rate"},
        )
        return inputs if return_dict else inputs["input_ids"]

    def _chat_audio(self, chat, processor_kwargs: dict) -> list:
        """The audio items of a conversation, in order, as inputs `_as_clips` reads with both channels kept."""
        messages = chat.messages if hasattr(chat, "messages") else chat
        clips = []
        for message in messages:
            content = message.get("content")
            if not isinstance(content, (list, tuple)):
                continue
            rate = processor_kwargs.get("sampling_rate")
            clips.extend(chat_audio_clip(item, rate) for item in content if item.get("type") == "audio")
        return clips

    def decode_answers(self, sequences: torch.Tensor, prompt_length: int) -> list[str]:
        """Answers from `generate()` output: tokens after the prompt, without special tokens, stripped."""
        new_tokens = sequences[:, prompt_length:]
        return [text.strip() for text in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]

    # ------------------------------------------------------------------ saving
    def to_dict(self) -> dict:
        output = super().to_dict()
        feature_extractor = output.get("feature_extractor")
        if isinstance(feature_extractor, dict):
            # derived from num_mel_bins by SpatialASTFeatureExtractor.__init__, which rejects it as a keyword
            feature_extractor.pop("feature_size", None)
        return output

    def save_pretrained(self, save_directory, *args, save_remote_code: bool = True, **kwargs):
        """`ProcessorMixin.save_pretrained`, plus `auto_map` and code so `trust_remote_code` loading works."""
        files = super().save_pretrained(save_directory, *args, **kwargs)
        if save_remote_code:
            _write_processor_auto_map(save_directory)
            write_remote_code(save_directory, ("models.bat.processing_bat",), __name__)
        return files


def _write_processor_auto_map(save_directory: str | os.PathLike) -> None:
    """Add the `auto_map` entries of the processor and feature extractor to `processor_config.json`."""
    path = Path(save_directory) / "processor_config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["auto_map"] = {"AutoProcessor": "processing_bat.BatProcessor"}
    if isinstance(data.get("feature_extractor"), dict):
        data["feature_extractor"]["auto_map"] = {
            "AutoFeatureExtractor": "feature_extraction_spatial_ast.SpatialASTFeatureExtractor",
            "AutoProcessor": "processing_bat.BatProcessor",
        }
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


__all__ = ["BatProcessor"]
