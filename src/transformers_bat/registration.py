"""Registers every transformers-bat class with the transformers Auto* factories and the pipeline registry.

transformers 5.x has no plugin discovery, and registering imports torch and transformers (seconds), which the
simulator, the data tools and ``transformers-bat --help`` do not need. So ``import transformers_bat`` registers at
once only if transformers' Auto factories or pipelines are already imported; otherwise it installs an import hook
that registers as soon as they are (``from transformers import AutoModel``, ``pipeline(...)``), once no import of
transformers or of this package is still running. Either way, ``import transformers_bat`` followed by
``AutoModel.from_pretrained(our_checkpoint)`` works. Registrations use ``exist_ok=True``, so repeats are harmless;
nothing is registered against built-in configs.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

# Importing any of these means the user is about to call an Auto factory or a pipeline: register then.
AUTO_MODULES = (
    "transformers.models.auto.configuration_auto",
    "transformers.models.auto.modeling_auto",
    "transformers.models.auto.feature_extraction_auto",
    "transformers.models.auto.processing_auto",
    "transformers.models.auto.tokenization_auto",
    "transformers.pipelines",
)


def register_spatial_ast() -> None:
    """Spatial-AST under AutoConfig / AutoModel / AutoModelForAudioClassification / AutoFeatureExtractor and the
    "spatial-audio-classification" pipeline."""
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoModelForAudioClassification

    from .models.spatial_ast import (
        SpatialASTConfig,
        SpatialASTFeatureExtractor,
        SpatialASTForSpatialAudioClassification,
        SpatialASTModel,
    )

    AutoConfig.register(SpatialASTConfig.model_type, SpatialASTConfig, exist_ok=True)
    AutoModel.register(SpatialASTConfig, SpatialASTModel, exist_ok=True)
    AutoModelForAudioClassification.register(SpatialASTConfig, SpatialASTForSpatialAudioClassification, exist_ok=True)
    AutoFeatureExtractor.register(SpatialASTConfig, SpatialASTFeatureExtractor, exist_ok=True)

    from .pipelines.spatial_audio_classification import SpatialAudioClassificationPipeline

    _register_pipeline(
        "spatial-audio-classification", SpatialAudioClassificationPipeline, AutoModelForAudioClassification, "audio"
    )


def register_bat() -> None:
    """BAT under AutoConfig / AutoModel (BatModel) / AutoModelForMultimodalLM / AutoProcessor and the
    "spatial-audio-qa" pipeline.

    Not under AutoModelForCausalLM: BAT needs `input_features` with its placeholder tokens, so text-only causal-LM
    consumers (text-generation pipeline, LM harnesses) would fail or answer without audio; Voxtral and
    Granite-Speech are not registered there either.
    """
    from transformers import AutoConfig, AutoModel, AutoModelForMultimodalLM, AutoProcessor

    from .models.bat import BatConfig, BatForConditionalGeneration, BatModel, BatProcessor
    from .pipelines import SpatialAudioQAPipeline

    AutoConfig.register(BatConfig.model_type, BatConfig, exist_ok=True)
    AutoModel.register(BatConfig, BatModel, exist_ok=True)
    AutoModelForMultimodalLM.register(BatConfig, BatForConditionalGeneration, exist_ok=True)
    AutoProcessor.register(BatConfig, BatProcessor, exist_ok=True)
    _register_pipeline("spatial-audio-qa", SpatialAudioQAPipeline, AutoModelForMultimodalLM, "multimodal")


def _register_pipeline(task: str, pipeline_class, model_class, kind: str) -> None:
    from transformers.pipelines import PIPELINE_REGISTRY

    if task not in PIPELINE_REGISTRY.supported_tasks:
        PIPELINE_REGISTRY.register_pipeline(task, pipeline_class=pipeline_class, pt_model=model_class, type=kind)


_registered = False


def register_all() -> None:
    """Register everything now (idempotent); imports torch and transformers."""
    global _registered
    register_spatial_ast()
    register_bat()
    _registered = True
    _remove_hook()


class _NotifyingLoader(importlib.abc.Loader):
    """Runs a module's real loader and tells the hook when its execution ends."""

    def __init__(self, loader, hook: _RegisterWhenTransformersIsReady, trigger: bool):
        self._loader, self._hook, self._trigger = loader, hook, trigger

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._hook.running += 1
        try:
            self._loader.exec_module(module)
        finally:
            self._hook.running -= 1
        self._hook.triggered |= self._trigger
        self._hook.register_if_ready()

    def __getattr__(self, name):  # get_source, get_filename, is_package, ... of the real loader
        if name == "_loader":  # not set yet (e.g. a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self._loader, name)


class _RegisterWhenTransformersIsReady(importlib.abc.MetaPathFinder):
    """Watches imports of ``transformers*`` modules; registers once an Auto module or the pipelines have been
    imported and no watched module is still executing (registering in the middle of transformers' own imports
    would meet half-initialised modules)."""

    def __init__(self):
        self.running = 0
        self.triggered = False
        self.registering = False

    def find_spec(self, fullname, path, target=None):
        if self.registering or not fullname.startswith("transformers"):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _NotifyingLoader(spec.loader, self, fullname in AUTO_MODULES)
                return spec
        return None

    def register_if_ready(self) -> None:
        if self.triggered and self.running == 0 and not self.registering and not _registered:
            self.registering = True
            try:
                register_all()
            finally:
                self.registering = False


def _remove_hook() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _RegisterWhenTransformersIsReady)]


def register_on_import() -> None:
    """What ``import transformers_bat`` does: register now if transformers' Auto API is loaded, else hook."""
    if _registered:
        return
    if any(name in sys.modules for name in AUTO_MODULES):
        register_all()
    elif not any(isinstance(finder, _RegisterWhenTransformersIsReady) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterWhenTransformersIsReady())
