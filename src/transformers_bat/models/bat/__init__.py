"""BAT: Spatial-AST + Q-Former projector + a causal LM answering questions about binaural audio."""

from .configuration_bat import BAT_PROMPT_TEMPLATE, DEFAULT_AUDIO_TOKEN, BatConfig
from .modeling_bat import (
    BatCausalLMOutputWithPast,
    BatForConditionalGeneration,
    BatMultiModalProjector,
    BatPreTrainedModel,
    write_remote_code,
)
from .processing_bat import BatProcessor

__all__ = [
    "BAT_PROMPT_TEMPLATE",
    "DEFAULT_AUDIO_TOKEN",
    "BatCausalLMOutputWithPast",
    "BatConfig",
    "BatForConditionalGeneration",
    "BatMultiModalProjector",
    "BatPreTrainedModel",
    "BatProcessor",
    "write_remote_code",
]
