"""Custom transformers pipelines of transformers-bat (registered on ``import transformers_bat``)."""

from ..answer_parsing import parse_answer
from .spatial_audio_classification import SpatialAudioClassificationPipeline
from .spatial_audio_qa import SpatialAudioQAPipeline

__all__ = ["SpatialAudioClassificationPipeline", "SpatialAudioQAPipeline", "parse_answer"]
