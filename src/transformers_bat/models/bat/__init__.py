"""BAT: Spatial-AST + Q-Former projector + a causal LM answering questions about binaural audio.

Names are imported on first use (see :mod:`transformers_bat.lazy_exports`).
"""

from typing import TYPE_CHECKING

from ...lazy_exports import lazy_exports

_EXPORTS = {
    "BAT_PROMPT_TEMPLATE": ".configuration_bat",
    "DEFAULT_AUDIO_TOKEN": ".configuration_bat",
    "BatConfig": ".configuration_bat",
    "BatCausalLMOutputWithPast": ".modeling_bat",
    "BatForConditionalGeneration": ".modeling_bat",
    "BatModel": ".modeling_bat",
    "BatModelOutputWithPast": ".modeling_bat",
    "BatMultiModalProjector": ".modeling_bat",
    "BatPreTrainedModel": ".modeling_bat",
    "BatProcessor": ".processing_bat",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "BAT_PROMPT_TEMPLATE",
    "BatCausalLMOutputWithPast",
    "BatConfig",
    "BatForConditionalGeneration",
    "BatModel",
    "BatModelOutputWithPast",
    "BatMultiModalProjector",
    "BatPreTrainedModel",
    "BatProcessor",
    "DEFAULT_AUDIO_TOKEN",
]

if TYPE_CHECKING:
    from .configuration_bat import BAT_PROMPT_TEMPLATE, DEFAULT_AUDIO_TOKEN, BatConfig
    from .modeling_bat import (
        BatCausalLMOutputWithPast,
        BatForConditionalGeneration,
        BatModel,
        BatModelOutputWithPast,
        BatMultiModalProjector,
        BatPreTrainedModel,
    )
    from .processing_bat import BatProcessor
