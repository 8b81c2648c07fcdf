"""Registers every transformers-bat class with the transformers Auto* factories and the pipeline registry.

transformers 5.x has no plugin discovery, so this runs on ``import transformers_bat``. Registrations use
``exist_ok=True`` so re-imports (e.g. from remote code) are harmless; nothing is registered against built-in
configs.
"""

from __future__ import annotations

from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModel,
    AutoModelForAudioClassification,
)

from .models.spatial_ast import (
    SpatialASTConfig,
    SpatialASTFeatureExtractor,
    SpatialASTForSpatialAudioClassification,
    SpatialASTModel,
)


def register_spatial_ast() -> None:
    AutoConfig.register(SpatialASTConfig.model_type, SpatialASTConfig, exist_ok=True)
    AutoModel.register(SpatialASTConfig, SpatialASTModel, exist_ok=True)
    AutoModelForAudioClassification.register(SpatialASTConfig, SpatialASTForSpatialAudioClassification, exist_ok=True)
    AutoFeatureExtractor.register(SpatialASTConfig, SpatialASTFeatureExtractor, exist_ok=True)


def register_all() -> None:
    register_spatial_ast()
