"""BAT: a causal language model that answers questions about binaural audio.

Spatial-AST (frozen) encodes a clip into 3 + 512 tokens; a BLIP-2 Q-Former with learnable queries reads them into
`num_query_tokens` vectors, which a linear layer + LayerNorm map to the LM width. A clip longer than the encoder's
window arrives as several windows: all are encoded together and the Q-Former reads the tokens of all of a clip's
windows at once, so a clip still gives `num_query_tokens` vectors whatever its length. These audio embeddings replace
the audio placeholder tokens of `input_ids` (placed before BOS by [`BatProcessor`]), as Voxtral / Granite-Speech
merge audio with `masked_scatter`. Unlike those two, the language model is kept whole (`AutoModelForCausalLM`, as
in BLIP-2): any decoder LM that transformers loads works unchanged, with its own head and weight tying, and
checkpoints and LoRA weights of the LM map onto `language_model.*` by a plain prefix.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoModelForCausalLM, Blip2QFormerModel, GenerationConfig, GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.cache_utils import Cache
from transformers.modeling_outputs import BaseModelOutputWithPast, BaseModelOutputWithPooling, CausalLMOutputWithPast

from ...compat import CACHE_KEY
from ...remote_code import write_remote_code
from ..spatial_ast.configuration_spatial_ast import SpatialASTConfig
from ..spatial_ast.modeling_spatial_ast import SpatialASTModel, check_missing_weights, describe_weights_source
from .configuration_bat import PIPELINE_TASK, REMOTE_CODE_MODULES, BatConfig


@dataclass
class BatCausalLMOutputWithPast(CausalLMOutputWithPast):
    """Outputs of [`BatForConditionalGeneration`]: the language model's outputs plus the audio embeddings.

    Args:
        loss (`torch.FloatTensor` of shape `(1,)`, *optional*): next-token loss on the labelled (answer) tokens.
        logits (`torch.FloatTensor` of shape `(batch_size, sequence_length, vocab_size)`): LM logits.
        cache (`Cache`, *optional*): the LM's key/value cache (named `past_key_values` before transformers 5.24;
            the field takes the installed release's name, as `CausalLMOutputWithPast` does).
        hidden_states, attentions (`tuple(torch.FloatTensor)`, *optional*): of the language model.
        audio_hidden_states (`torch.FloatTensor` of shape `(num_clips, num_query_tokens, lm_hidden)`, *optional*):
            the projected audio embeddings merged into the input (only on steps that encoded audio).
    """

    audio_hidden_states: torch.FloatTensor | None = None


# what BAT passes on from its language model's outputs (logits, the cache under the installed release's name ...)
_LANGUAGE_OUTPUT_FIELDS = frozenset(field.name for field in dataclasses.fields(CausalLMOutputWithPast)) - {"loss"}


def _window_counts(audio_window_counts, num_windows: int) -> torch.LongTensor:
    """`audio_window_counts` checked against the `num_windows` rows of `input_features`, as a CPU LongTensor
    (one window per clip when None)."""
    if audio_window_counts is None:
        return torch.ones(num_windows, dtype=torch.long)
    counts = torch.as_tensor(audio_window_counts).reshape(-1).long().cpu()
    if len(counts) == 0 or bool((counts < 1).any()) or int(counts.sum()) != num_windows:
        raise ValueError(
            f"audio_window_counts {counts.tolist()} must be positive and add up to the {num_windows} rows of "
            f"input_features (one count per clip, as BatProcessor returns them)."
        )
    return counts


class BatMultiModalProjector(nn.Module):
    """Learnable queries read the encoder tokens through a BLIP-2 Q-Former, then Linear + LayerNorm to the LM width.

    The attribute names (`query`, `qformer`, `linear`, `norm`) match the released `encoder_projector.*` weights, so
    the converter maps them by prefix.
    """

    def __init__(self, config: BatConfig):
        super().__init__()
        qformer_config = config.projector_config
        self.query = nn.Parameter(torch.zeros(1, config.num_query_tokens, qformer_config.hidden_size))
        self.qformer = Blip2QFormerModel(qformer_config)
        self.linear = nn.Linear(qformer_config.hidden_size, config.text_config.hidden_size)
        self.norm = nn.LayerNorm(config.text_config.hidden_size, eps=config.projector_layer_norm_eps)

    def forward(
        self, encoder_hidden_states: torch.Tensor, encoder_attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(num_clips, encoder_tokens, audio_hidden) -> (num_clips, num_query_tokens, lm_hidden).

        `encoder_attention_mask` (num_clips, encoder_tokens), 1 = read, hides the padding of clips with fewer windows
        than others in the batch; the release passes none (one window per clip, nothing to hide).
        """
        query = self.query.expand(encoder_hidden_states.shape[0], -1, -1)
        encoder_hidden_states = encoder_hidden_states.to(self.query.dtype)
        queried = self.qformer(
            query_embeds=query,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            return_dict=True,
        )
        return self.norm(self.linear(queried.last_hidden_state))


class BatPreTrainedModel(PreTrainedModel):
    config_class = BatConfig
    config: BatConfig
    base_model_prefix = "bat"
    main_input_name = "input_ids"
    input_modalities = ("audio", "text")
    supports_gradient_checkpointing = True
    _no_split_modules = ["SpatialASTLayer", "Blip2QFormerLayer"]  # the LM's own are merged in by post_init
    _skip_keys_device_placement = [CACHE_KEY]
    _supports_flash_attn = False  # the Q-Former does not support it
    _supports_sdpa = True
    _supports_attention_backend = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, BatMultiModalProjector):
            init.normal_(module.query, mean=0.0, std=1.0)  # N(0, 1) as in the release


def _remote_code_auto_map() -> dict[str, str]:
    return {
        "AutoConfig": "configuration_bat.BatConfig",
        "AutoModel": "modeling_bat.BatModel",
        "AutoModelForMultimodalLM": "modeling_bat.BatForConditionalGeneration",
    }


def _custom_pipelines_entry() -> dict:
    return {
        PIPELINE_TASK: {
            "impl": "spatial_audio_qa.SpatialAudioQAPipeline",
            "pt": ["AutoModelForMultimodalLM"],
            "type": "multimodal",
        }
    }


@dataclass
class BatModelOutputWithPast(BaseModelOutputWithPast):
    """Outputs of [`BatModel`]: the language model's decoder outputs plus the audio embeddings.

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, sequence_length, hidden_size)`): the decoder's
            last hidden states over the merged sequence (audio embeddings in place of the placeholders).
        cache (`Cache`, *optional*): as in [`BatCausalLMOutputWithPast`].
        hidden_states, attentions (`tuple(torch.FloatTensor)`, *optional*): of the language model.
        audio_hidden_states (`torch.FloatTensor` of shape `(num_clips, num_query_tokens, lm_hidden)`, *optional*):
            the projected audio embeddings merged into the input.
    """

    audio_hidden_states: torch.FloatTensor | None = None


_BASE_OUTPUT_FIELDS = frozenset(field.name for field in dataclasses.fields(BaseModelOutputWithPast))


class BatModel(BatPreTrainedModel):
    r"""
    BAT without the language-model head's logits: Spatial-AST audio tower, Q-Former projector
    (`multi_modal_projector`) and a causal LM (`language_model`) whose decoder returns the last hidden states.

    What `AutoModel.from_pretrained` gives for a BAT checkpoint, as for the in-tree audio LLMs; the modules and
    weight names are those of [`BatForConditionalGeneration`] (which extends this class with logits, loss and
    `generate`), so either class loads the other's checkpoints unchanged.
    """

    def __init__(self, config: BatConfig):
        super().__init__(config)
        self.audio_tower = SpatialASTModel(config.audio_config)
        self.multi_modal_projector = BatMultiModalProjector(config)
        self.language_model = AutoModelForCausalLM.from_config(config.text_config)
        self.post_init()
        if config.freeze_audio_tower:
            self.freeze_audio_tower()

    # ------------------------------------------------------------------ plumbing
    def freeze_audio_tower(self) -> None:
        """Freeze Spatial-AST and keep it in eval mode, also while the rest of the model trains."""
        self.audio_tower.requires_grad_(False)
        self.audio_tower.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.config.freeze_audio_tower:
            self.audio_tower.eval()  # no patch dropping / SpecAugment / BatchNorm updates in a frozen encoder
        return self

    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.language_model.set_input_embeddings(value)

    def get_decoder(self):
        return self.language_model.get_decoder()

    def resize_token_embeddings(self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, **kw):
        """Resize the LM's embeddings (and tied head) and keep `config.text_config.vocab_size` in sync."""
        embeddings = self.language_model.resize_token_embeddings(new_num_tokens, pad_to_multiple_of, **kw)
        self.config.text_config.vocab_size = embeddings.num_embeddings
        return embeddings

    # ------------------------------------------------------------------ audio
    def get_audio_features(
        self, input_features: torch.Tensor, audio_window_counts: torch.LongTensor | None = None, **kwargs
    ) -> BaseModelOutputWithPooling:
        """Encode clips: `input_features` (num_windows, 4, frames, mels) -> `pooler_output` (num_clips, queries, lm).

        A clip longer than the encoder's window is given as its windows, in time order, on consecutive rows;
        `audio_window_counts` (num_clips,) says how many rows each clip has (default: one row per clip, the release's
        input). Every window goes through Spatial-AST in one call, then the Q-Former reads each clip's windows'
        tokens concatenated (an encoder attention mask hides the padding when clips have different counts), so the
        queries see the whole clip and each clip still yields `num_query_tokens` embeddings. A clip of one window
        gives exactly the release's computation.

        `last_hidden_state` holds all Spatial-AST tokens (3 CLS + patches) of every window, as the projector reads
        them. Identical windows, and identical clips (one clip asked several questions), are encoded and projected
        once when the modules are in eval mode.
        """
        num_windows = input_features.shape[0]
        counts = _window_counts(audio_window_counts, num_windows)
        rows = torch.arange(num_windows)  # row of `encoded` holding each window
        if not self.audio_tower.training and num_windows > 1:
            unique, inverse = torch.unique(input_features.flatten(1), dim=0, return_inverse=True)
            if unique.shape[0] < num_windows:
                input_features, rows = unique.view(-1, *input_features.shape[1:]), inverse.cpu()
        if self.config.freeze_audio_tower:
            with torch.no_grad():
                encoded = self.audio_tower(input_features, return_dict=True).last_hidden_state
        else:
            encoded = self.audio_tower(input_features, return_dict=True).last_hidden_state
        # each clip as the rows of `encoded` holding its windows, -1 after its last one
        clips = nn.utils.rnn.pad_sequence(list(rows.split(counts.tolist())), batch_first=True, padding_value=-1)
        inverse = None
        if not self.training and clips.shape[0] > 1:  # in training, projector dropout: one draw per clip
            distinct, inverse = torch.unique(clips, dim=0, return_inverse=True)
            clips, inverse = (distinct, inverse) if distinct.shape[0] < clips.shape[0] else (clips, None)
        clips = clips.to(encoded.device)
        # (clips, windows, tokens, hidden) -> (clips, windows * tokens, hidden): a clip's windows one after another
        tokens = encoded[clips.clamp(min=0)].flatten(1, 2)
        mask = None
        if bool((clips < 0).any()):
            mask = (clips >= 0).repeat_interleave(encoded.shape[1], dim=1).long()
        audio_embeds = self.multi_modal_projector(tokens, encoder_attention_mask=mask)
        if inverse is not None:
            audio_embeds = audio_embeds[inverse.to(audio_embeds.device)]
        encoded = encoded[rows.to(encoded.device)]  # every window, in input order
        return BaseModelOutputWithPooling(last_hidden_state=encoded, pooler_output=audio_embeds)

    def get_placeholder_mask(
        self, input_ids: torch.LongTensor | None, inputs_embeds: torch.Tensor, audio_features: torch.Tensor
    ) -> torch.Tensor:
        """Boolean mask (batch, seq, hidden) of the placeholder positions; checks their count against the clips."""
        if input_ids is None:
            placeholder = self.get_input_embeddings()(
                torch.tensor(self.config.audio_token_id, dtype=torch.long, device=inputs_embeds.device)
            )
            special = (inputs_embeds == placeholder).all(-1)
        else:
            special = input_ids == self.config.audio_token_id
        num_queries = self.config.num_query_tokens
        per_row = special.sum(-1)
        if bool((per_row % num_queries != 0).any()):
            raise ValueError(
                f"Each sequence must hold a multiple of num_query_tokens={num_queries} audio placeholder tokens "
                f"(id {self.config.audio_token_id}); got {per_row.tolist()} per row. Build inputs with BatProcessor."
            )
        num_clips = audio_features.shape[0]
        if int(per_row.sum()) != num_clips * num_queries:
            raise ValueError(
                f"Audio placeholder tokens and audio clips do not match: {int(per_row.sum())} placeholder tokens "
                f"({int(per_row.sum()) // num_queries} clips x {num_queries}) but input_features holds {num_clips} "
                f"clip(s) (a clip of several windows counts once when audio_window_counts says so). Build inputs "
                f"with a BatProcessor whose num_query_tokens is the model's ({num_queries})."
            )
        return special.unsqueeze(-1).expand_as(inputs_embeds)

    def embed_inputs(
        self,
        input_ids: torch.LongTensor | None = None,
        input_features: torch.FloatTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        audio_window_counts: torch.LongTensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Token embeddings with the clips' audio embeddings in place of the placeholders.

        Returns `(inputs_embeds, audio_embeds)`; `audio_embeds` is None without `input_features`.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("Pass exactly one of input_ids or inputs_embeds.")
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        if input_features is None:
            return inputs_embeds, None
        audio_embeds = self.get_audio_features(input_features, audio_window_counts).pooler_output
        audio_embeds = audio_embeds.to(inputs_embeds.device, inputs_embeds.dtype)
        mask = self.get_placeholder_mask(input_ids, inputs_embeds, audio_embeds)
        return inputs_embeds.masked_scatter(mask, audio_embeds), audio_embeds

    def _check_audio_given(self, input_ids: torch.LongTensor | None, input_features) -> None:
        if input_features is None and input_ids is not None and bool((input_ids == self.config.audio_token_id).any()):
            raise ValueError(
                "input_ids contain audio placeholder tokens but no input_features were given: pass the clips' "
                "input_features (BatProcessor returns both)."
            )

    def _language_model_inputs(
        self,
        input_ids,
        input_features,
        inputs_embeds,
        attention_mask,
        position_ids,
        cache,
        past_key_values,
        audio_window_counts=None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.LongTensor | None, Cache | None]:
        """Merged input embeddings, audio embeddings, position ids and the cache, for either forward."""
        if cache is not None and past_key_values is not None:
            raise ValueError("Pass the key/value cache once, as cache= (past_key_values= before transformers 5.24).")
        cache = cache if cache is not None else past_key_values
        prefill = cache is None or cache.get_seq_length() == 0
        if prefill:
            self._check_audio_given(input_ids, input_features)
        inputs_embeds, audio_embeds = self.embed_inputs(input_ids, input_features, inputs_embeds, audio_window_counts)
        if position_ids is None and attention_mask is not None and attention_mask.ndim == 2 and prefill:
            # left-padded batches: count positions from the first real token (generate() does the same)
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        return inputs_embeds, audio_embeds, position_ids, cache

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        input_features: torch.FloatTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        use_cache: bool | None = None,
        past_key_values: Cache | None = None,
        audio_window_counts: torch.LongTensor | None = None,
        **kwargs,
    ) -> BatModelOutputWithPast:
        r"""
        The language model's last hidden states over the merged audio + text sequence (no logits), e.g. for
        embeddings or probing. Arguments as in [`BatForConditionalGeneration.forward`].
        """
        inputs_embeds, audio_embeds, position_ids, cache = self._language_model_inputs(
            input_ids,
            input_features,
            inputs_embeds,
            attention_mask,
            position_ids,
            cache,
            past_key_values,
            audio_window_counts,
        )
        kwargs.pop("return_dict", None)
        outputs = self.get_decoder()(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=use_cache,
            **{CACHE_KEY: cache},
            **kwargs,
        )
        decoder_outputs = {key: value for key, value in outputs.items() if key in _BASE_OUTPUT_FIELDS}
        return BatModelOutputWithPast(audio_hidden_states=audio_embeds, **decoder_outputs)

    # ------------------------------------------------------------------ saving / assembling
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike | None,
        *model_args,
        allow_missing_weights: bool = False,
        **kwargs,
    ):
        """`PreTrainedModel.from_pretrained`; re-applies the encoder freeze (loading materialises fresh parameters).

        Refuses a checkpoint that lacks tensors of the audio encoder or the projector, which transformers would
        initialise randomly with only a log line; other missing tensors are reported. Pass
        `allow_missing_weights=True` to initialise missing tensors randomly on purpose.
        """
        output_loading_info = kwargs.pop("output_loading_info", False)
        model, loading_info = super().from_pretrained(
            pretrained_model_name_or_path, *model_args, output_loading_info=True, **kwargs
        )
        check_missing_weights(
            cls.__name__,
            describe_weights_source(pretrained_model_name_or_path, kwargs.get("subfolder", "")),
            loading_info["missing_keys"],
            is_required=lambda key: key.startswith(("audio_tower.", "multi_modal_projector.")),
            required_part="audio encoder and projector",
            allow_missing_weights=allow_missing_weights,
        )
        if isinstance(model, BatModel) and model.config.freeze_audio_tower:
            model.freeze_audio_tower()
        return (model, loading_info) if output_loading_info else model

    def save_pretrained(self, save_directory: str | os.PathLike, *args, save_remote_code: bool = True, **kwargs):
        """`PreTrainedModel.save_pretrained`, plus the model code and the pipeline entry for `trust_remote_code`.

        Set `save_remote_code=False` to write weights and config only.
        """
        if save_remote_code:
            self.config.auto_map = _remote_code_auto_map()
            self.config.custom_pipelines = _custom_pipelines_entry()
        result = super().save_pretrained(save_directory, *args, **kwargs)
        if save_remote_code and kwargs.get("is_main_process", True):
            write_remote_code(save_directory, REMOTE_CODE_MODULES, __name__, self.config.name_or_path)
        return result


class BatForConditionalGeneration(BatModel, GenerationMixin):
    r"""
    BAT: Spatial-AST audio tower, Q-Former projector (`multi_modal_projector`) and a causal LM (`language_model`).

    Inputs follow the in-tree audio LLMs: `input_ids` hold `num_query_tokens` audio placeholder tokens per clip
    (before BOS), `input_features` the Spatial-AST features of the clips (one row per placeholder group, in order;
    several rows for a clip longer than the encoder's window, counted by `audio_window_counts`). `generate()` encodes
    the audio once, before decoding starts.
    """

    def __init__(self, config: BatConfig):
        super().__init__(config)
        self._set_generation_defaults()

    def _set_generation_defaults(self) -> None:
        """Release defaults: beam search with 4 beams, up to 200 new tokens, no sampling; pad = eos."""
        text_config = self.config.text_config
        eos = getattr(text_config, "eos_token_id", None)
        self.generation_config = GenerationConfig(
            num_beams=4,
            max_new_tokens=200,
            do_sample=False,
            bos_token_id=getattr(text_config, "bos_token_id", None),
            eos_token_id=eos,
            suppress_tokens=[self.config.audio_token_id] if self.config.audio_token_id is not None else None,
            pad_token_id=getattr(text_config, "pad_token_id", None)
            if getattr(text_config, "pad_token_id", None) is not None
            else (eos[0] if isinstance(eos, list) else eos),
        )

    def get_output_embeddings(self) -> nn.Module:
        return self.language_model.get_output_embeddings()

    def set_output_embeddings(self, new_embeddings: nn.Module) -> None:
        self.language_model.set_output_embeddings(new_embeddings)

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.LongTensor | None = None,
        input_features: torch.FloatTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        audio_window_counts: torch.LongTensor | None = None,
        **kwargs,
    ):
        """`GenerationMixin.generate` with the audio merged into the prompt embeddings first.

        The clips are encoded once, before decoding starts, and the language model decodes from the merged
        embeddings, as BLIP-2 does; beams and `num_return_sequences` copy whole rows of embeddings, so any number of
        clips per row stays in order. The returned sequences start with `input_ids` (placeholders included).
        """
        if input_features is None:
            self._check_audio_given(input_ids, input_features)
        else:
            inputs_embeds, _ = self.embed_inputs(input_ids, input_features, inputs_embeds, audio_window_counts)
        return super().generate(input_ids, inputs_embeds=inputs_embeds, **kwargs)

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        input_features: torch.FloatTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        past_key_values: Cache | None = None,
        audio_window_counts: torch.LongTensor | None = None,
        **kwargs,
    ) -> BatCausalLMOutputWithPast:
        r"""
        input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`): token ids with `num_query_tokens`
            audio placeholders per clip (from [`BatProcessor`]).
        input_features (`torch.FloatTensor` of shape `(num_windows, 4, num_frames, num_mel_bins)`, *optional*):
            Spatial-AST features of the clips, one per placeholder group in reading order; a clip longer than the
            encoder's window is its windows on consecutive rows.
        cache (`Cache`, *optional*): the language model's key/value cache; `past_key_values` is its name before
            transformers 5.24 and is accepted under both.
        labels (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*): targets aligned with
            `input_ids`; -100 is ignored. Audio placeholder positions are never scored.
        audio_window_counts (`torch.LongTensor` of shape `(num_clips,)`, *optional*): rows of `input_features` per
            clip (from [`BatProcessor`]); default one row per clip.
        """
        inputs_embeds, audio_embeds, position_ids, cache = self._language_model_inputs(
            input_ids,
            input_features,
            inputs_embeds,
            attention_mask,
            position_ids,
            cache,
            past_key_values,
            audio_window_counts,
        )
        kwargs.pop("return_dict", None)
        num_items_in_batch = kwargs.pop("num_items_in_batch", None)
        outputs = self.language_model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=use_cache,
            logits_to_keep=logits_to_keep,
            **{CACHE_KEY: cache},
            **kwargs,
        )
        logits = outputs.logits

        loss = None
        if labels is not None:
            if input_ids is not None:
                labels = labels.masked_fill(input_ids == self.config.audio_token_id, -100)
            shift_logits = logits[:, :-1, :].float()
            shift_labels = labels[:, 1:].to(logits.device)
            loss = nn.functional.cross_entropy(
                shift_logits.reshape(-1, shift_logits.shape[-1]),
                shift_labels.reshape(-1),
                ignore_index=-100,
                reduction="sum" if num_items_in_batch is not None else "mean",
            )
            if num_items_in_batch is not None:  # Trainer with gradient accumulation: normalise over all micro-batches
                loss = loss / torch.as_tensor(num_items_in_batch, device=loss.device, dtype=loss.dtype)

        language_outputs = {key: value for key, value in outputs.items() if key in _LANGUAGE_OUTPUT_FIELDS}
        return BatCausalLMOutputWithPast(loss=loss, audio_hidden_states=audio_embeds, **language_outputs)

    @classmethod
    def from_parts(
        cls,
        audio_encoder: str | os.PathLike | PreTrainedModel,
        language_model: str | os.PathLike | PreTrainedModel,
        tokenizer=None,
        projector_config: dict | None = None,
        num_query_tokens: int = 64,
        audio_token: str | None = None,
        prompt_template: str | None = None,
        dtype: torch.dtype | None = None,
        **config_kwargs,
    ) -> tuple[BatForConditionalGeneration, object]:
        """Assemble a BAT from a Spatial-AST checkpoint and a causal-LM checkpoint (+ its tokenizer) in one call.

        Adds the audio placeholder token to the tokenizer (as a special token), resizes the LM embeddings to the
        new vocabulary (new rows zero), sets pad = eos where the tokenizer has no pad token, and initialises a fresh
        projector. The loaded encoder and LM become the model's modules (no copy), so a 7B LM is held once.

        Args:
            audio_encoder: Spatial-AST directory / model (any model whose config is a `SpatialASTConfig`; heads are
                dropped).
            language_model: causal-LM directory / model id available locally, or a loaded model.
            tokenizer: tokenizer or its directory; defaults to the tokenizer saved with `language_model`.
        Returns:
            `(model, tokenizer)`; build a [`BatProcessor`] from the tokenizer with `BatProcessor.from_parts`.
        """
        from transformers import AutoTokenizer

        load_kwargs = {"dtype": dtype} if dtype is not None else {}  # else the checkpoints' own dtypes ("auto")
        if not isinstance(audio_encoder, PreTrainedModel):
            audio_encoder = SpatialASTModel.from_pretrained(audio_encoder, **load_kwargs)
        if not isinstance(audio_encoder.config, SpatialASTConfig):
            raise ValueError(f"audio_encoder must be a Spatial-AST model, got {type(audio_encoder.config).__name__}.")
        if not isinstance(audio_encoder, SpatialASTModel):  # a model with heads: keep its encoder
            audio_encoder = getattr(audio_encoder, audio_encoder.base_model_prefix)
        lm_path = None
        if not isinstance(language_model, PreTrainedModel):
            lm_path = language_model
            language_model = AutoModelForCausalLM.from_pretrained(language_model, **load_kwargs)
        if tokenizer is None:
            if lm_path is None:
                raise ValueError("Pass the tokenizer of the language model (it was given as a loaded model).")
            tokenizer = lm_path
        if not hasattr(tokenizer, "convert_tokens_to_ids"):
            tokenizer = AutoTokenizer.from_pretrained(tokenizer)

        audio_token = audio_token or BatConfig.audio_token
        if audio_token not in tokenizer.get_vocab():
            tokenizer.add_special_tokens({"additional_special_tokens": [audio_token]})
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        audio_token_id = tokenizer.convert_tokens_to_ids(audio_token)
        old_vocab = language_model.get_input_embeddings().num_embeddings
        if len(tokenizer) > old_vocab:
            language_model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
            # New rows start at zero: the placeholder's input row is always replaced by audio, and a zero output
            # row keeps assembling deterministic (generation also suppresses the placeholder).
            with torch.no_grad():
                language_model.get_input_embeddings().weight[old_vocab:].zero_()
                output = language_model.get_output_embeddings()
                if output is not None and output.weight.shape[0] > old_vocab:
                    output.weight[old_vocab:].zero_()
                    if getattr(output, "bias", None) is not None:
                        output.bias[old_vocab:].zero_()

        # pad = eos lives in the tokenizer and generation_config only: an embedding padding_idx would freeze EOS
        text_config = language_model.config
        audio_config = audio_encoder.config
        extra = {"prompt_template": prompt_template} if prompt_template else {}
        config = BatConfig(
            audio_config=audio_config,
            text_config=text_config,
            projector_config=projector_config,
            num_query_tokens=num_query_tokens,
            audio_token=audio_token,
            audio_token_id=audio_token_id,
            **extra,
            **config_kwargs,
        )
        with torch.device("meta"):  # no second random copy of a 7B LM in memory: the loaded parts are moved in
            model = cls(config)
        model.audio_tower = audio_encoder
        model.language_model = language_model
        model.multi_modal_projector = BatMultiModalProjector(config)
        with torch.no_grad():
            model.multi_modal_projector.query.normal_(0.0, 1.0)
            model.multi_modal_projector.linear.weight.normal_(0.0, config.initializer_range)
            model.multi_modal_projector.linear.bias.zero_()
        if dtype is not None:
            model.to(dtype)
        if config.freeze_audio_tower:
            model.freeze_audio_tower()
        return model, tokenizer


__all__ = [
    "BatCausalLMOutputWithPast",
    "BatForConditionalGeneration",
    "BatModel",
    "BatModelOutputWithPast",
    "BatMultiModalProjector",
    "BatPreTrainedModel",
]
