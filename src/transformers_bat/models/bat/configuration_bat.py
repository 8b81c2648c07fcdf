"""BAT configuration: Spatial-AST encoder + BLIP-2 Q-Former projector + a causal language model."""

from __future__ import annotations

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from ...remote_code import drop_custom_pipelines_if_packaged
from ..spatial_ast.configuration_spatial_ast import SpatialASTConfig

# Appendix G of the paper; the 64 audio embeddings are placed before BOS, so the template holds only text.
BAT_PROMPT_TEMPLATE = (
    "Based on the audio you've heard, refer to the instruction and provide a response.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:"
)
DEFAULT_AUDIO_TOKEN = "<|AUDIO|>"
PIPELINE_TASK = "spatial-audio-qa"
# the package modules a saved BAT needs for `trust_remote_code` loading (written by `transformers_bat.remote_code`)
REMOTE_CODE_MODULES = (
    "models.bat.configuration_bat",
    "models.bat.modeling_bat",
    "models.bat.processing_bat",
    "models.spatial_ast.feature_extraction_spatial_ast",
    "pipelines.spatial_audio_qa",
)


class BatConfig(PreTrainedConfig):
    r"""
    Configuration of [`BatForConditionalGeneration`]. The defaults describe the released BAT: Spatial-AST (ViT-B),
    an 8-layer BLIP-2 Q-Former with 64 learnable queries, and LLaMA-2 7B.

    Args:
        audio_config (`SpatialASTConfig` or `dict`, *optional*): the binaural encoder (paper model by default).
        text_config (`PreTrainedConfig` or `dict`, *optional*): any decoder-only causal LM config; LLaMA-2 7B shape
            (`model_type="llama"`) by default.
        projector_config (`Blip2QFormerConfig` or `dict`, *optional*): the Q-Former. Defaults to the transformers
            BLIP-2 Q-Former with `num_hidden_layers=8` (hidden 768, 12 heads, FFN 3072, cross-attention every 2nd
            layer); `encoder_hidden_size` is always taken from `audio_config.hidden_size`.
        num_query_tokens (`int`, *optional*, defaults to 64): learnable queries = audio embeddings per clip.
        projector_layer_norm_eps (`float`, *optional*, defaults to 1e-5): epsilon of the LayerNorm after the
            projection to the LM width.
        audio_token (`str`, *optional*, defaults to `"<|AUDIO|>"`): placeholder token added to the tokenizer.
        audio_token_id (`int`, *optional*): its id; set when the model is assembled with a tokenizer.
        prompt_template (`str`, *optional*): the instruction template with an `{instruction}` field (appendix G of
            the paper by default).
        freeze_audio_tower (`bool`, *optional*, defaults to `True`): keep Spatial-AST frozen and in eval mode (no
            patch dropping, no SpecAugment, fixed BatchNorm statistics), as in the paper and the release.
        initializer_range (`float`, *optional*, defaults to 0.02): std of the projector's linear layers.
    """

    model_type = "bat"
    # outputs the Trainer leaves out of evaluation predictions (the cache under either release's name)
    keys_to_ignore_at_inference = ["past_key_values", "cache", "hidden_states", "attentions", "audio_hidden_states"]
    sub_configs_defaults = {
        "audio_config": SpatialASTConfig,
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="llama"),
        "projector_config": SubConfigSpec(
            config_class=AutoConfig, model_type="blip_2_qformer", init_kwargs={"num_hidden_layers": 8}
        ),
    }

    audio_config: dict | PreTrainedConfig | None = None
    text_config: dict | PreTrainedConfig | None = None
    projector_config: dict | PreTrainedConfig | None = None
    num_query_tokens: int = 64
    projector_layer_norm_eps: float = 1e-5
    audio_token: str = DEFAULT_AUDIO_TOKEN
    audio_token_id: int | None = None
    prompt_template: str = BAT_PROMPT_TEMPLATE
    freeze_audio_tower: bool = True
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        drop_custom_pipelines_if_packaged(kwargs, __name__)
        audio = self.audio_config
        audio_hidden = audio.get("hidden_size", 768) if isinstance(audio, dict) else getattr(audio, "hidden_size", 768)
        if self.projector_config is None or isinstance(self.projector_config, dict):
            # partial dicts keep the release defaults (8 layers) instead of the Blip2QFormerConfig ones (12)
            projector = {**self.sub_configs_defaults["projector_config"].init_kwargs, **(self.projector_config or {})}
            projector.setdefault("encoder_hidden_size", audio_hidden)
            projector.setdefault("model_type", "blip_2_qformer")
            self.projector_config = projector
        super().__post_init__(**kwargs)
        if self.projector_config.encoder_hidden_size != self.audio_config.hidden_size:
            raise ValueError(
                f"projector_config.encoder_hidden_size ({self.projector_config.encoder_hidden_size}) must equal "
                f"audio_config.hidden_size ({self.audio_config.hidden_size}): the Q-Former cross-attends to it."
            )
        if "{instruction}" not in self.prompt_template:
            raise ValueError(f"prompt_template must contain '{{instruction}}', got {self.prompt_template!r}.")
        if self.num_query_tokens < 1:
            raise ValueError(f"num_query_tokens must be positive, got {self.num_query_tokens}.")
        vocab_size = getattr(self.text_config, "vocab_size", None)
        if self.audio_token_id is not None and vocab_size is not None and self.audio_token_id >= vocab_size:
            raise ValueError(
                f"audio_token_id ({self.audio_token_id}) is outside the LM vocabulary ({vocab_size}); resize the "
                f"embeddings after adding the audio token (see BatForConditionalGeneration.from_parts)."
            )


__all__ = ["BAT_PROMPT_TEMPLATE", "BatConfig", "DEFAULT_AUDIO_TOKEN", "PIPELINE_TASK", "REMOTE_CODE_MODULES"]
