"""Custom transformers pipelines of transformers-bat (registered on ``import transformers_bat``)."""

from .answer_parsing import parse_answer
from .spatial_audio_qa import SpatialAudioQAPipeline

__all__ = ["SpatialAudioQAPipeline", "parse_answer"]
