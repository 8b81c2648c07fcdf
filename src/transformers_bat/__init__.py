"""transformers-bat: BAT, Spatial-AST and SpatialSoundQA for Hugging Face transformers.

Importing the package registers every model, feature extractor, processor and pipeline with the transformers
Auto* classes, so ``AutoModel.from_pretrained(dir)`` works on our checkpoints after ``import transformers_bat``.
"""

from .models.bat import BatConfig, BatForConditionalGeneration, BatProcessor
from .models.spatial_ast import (
    SpatialASTConfig,
    SpatialASTFeatureExtractor,
    SpatialASTForSpatialAudioClassification,
    SpatialASTModel,
    SpatialASTPreTrainedModel,
)
from .registration import register_all

register_all()

__version__ = "0.1.0"

__all__ = [
    "BatConfig",
    "BatForConditionalGeneration",
    "BatProcessor",
    "SpatialASTConfig",
    "SpatialASTFeatureExtractor",
    "SpatialASTForSpatialAudioClassification",
    "SpatialASTModel",
    "SpatialASTPreTrainedModel",
]
