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


def register_bat() -> None:
    """BAT under AutoConfig / AutoModelForMultimodalLM / AutoProcessor and the "spatial-audio-qa" pipeline.

    Not under AutoModelForCausalLM: BAT needs `input_features` with its placeholder tokens, so text-only causal-LM
    consumers (text-generation pipeline, LM harnesses) would fail or answer without audio; Voxtral and
    Granite-Speech are not registered there either.
    """
    from transformers import AutoModelForMultimodalLM, AutoProcessor
    from transformers.pipelines import PIPELINE_REGISTRY

    from .models.bat import BatConfig, BatForConditionalGeneration, BatProcessor
    from .pipelines import SpatialAudioQAPipeline

    AutoConfig.register(BatConfig.model_type, BatConfig, exist_ok=True)
    AutoModelForMultimodalLM.register(BatConfig, BatForConditionalGeneration, exist_ok=True)
    AutoProcessor.register(BatConfig, BatProcessor, exist_ok=True)
    if "spatial-audio-qa" not in PIPELINE_REGISTRY.supported_tasks:
        PIPELINE_REGISTRY.register_pipeline(
            "spatial-audio-qa",
            pipeline_class=SpatialAudioQAPipeline,
            pt_model=AutoModelForMultimodalLM,
            type="multimodal",
        )


def register_all() -> None:
    register_spatial_ast()
    register_bat()
