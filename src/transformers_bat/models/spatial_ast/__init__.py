"""Spatial-AST: binaural features, encoder and the event / distance / direction heads.

Names are imported on first use (see :mod:`transformers_bat.lazy_exports`); the label conventions live in
:mod:`transformers_bat.labels`.
"""

from typing import TYPE_CHECKING

from ...lazy_exports import lazy_exports

_EXPORTS = {
    "SpatialASTConfig": ".configuration_spatial_ast",
    "SpatialASTFeatureExtractor": ".feature_extraction_spatial_ast",
    "SpatialASTForSpatialAudioClassification": ".modeling_spatial_ast",
    "SpatialASTModel": ".modeling_spatial_ast",
    "SpatialASTPreTrainedModel": ".modeling_spatial_ast",
    "SpatialAudioClassifierOutput": ".modeling_spatial_ast",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "SpatialASTConfig",
    "SpatialASTFeatureExtractor",
    "SpatialASTForSpatialAudioClassification",
    "SpatialASTModel",
    "SpatialASTPreTrainedModel",
    "SpatialAudioClassifierOutput",
]

if TYPE_CHECKING:
    from .configuration_spatial_ast import SpatialASTConfig
    from .feature_extraction_spatial_ast import SpatialASTFeatureExtractor
    from .modeling_spatial_ast import (
        SpatialASTForSpatialAudioClassification,
        SpatialASTModel,
        SpatialASTPreTrainedModel,
        SpatialAudioClassifierOutput,
    )
