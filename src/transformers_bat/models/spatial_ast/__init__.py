"""Spatial-AST: binaural features, encoder and the event / distance / direction heads."""

from .configuration_spatial_ast import SpatialASTConfig
from .feature_extraction_spatial_ast import SpatialASTFeatureExtractor
from .modeling_spatial_ast import (
    SpatialASTForSpatialAudioClassification,
    SpatialASTModel,
    SpatialASTPreTrainedModel,
    SpatialAudioClassifierOutput,
)

__all__ = [
    "SpatialASTConfig",
    "SpatialASTFeatureExtractor",
    "SpatialASTForSpatialAudioClassification",
    "SpatialASTModel",
    "SpatialASTPreTrainedModel",
    "SpatialAudioClassifierOutput",
]
