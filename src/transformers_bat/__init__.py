"""transformers-bat: BAT, Spatial-AST and SpatialSoundQA for Hugging Face transformers.

Importing the package makes every model, feature extractor, processor and pipeline known to the transformers Auto*
classes (see :mod:`transformers_bat.registration`), so ``AutoModel.from_pretrained(dir)`` works on our checkpoints
after ``import transformers_bat``. The package is lazy: ``import transformers_bat.simulation`` or ``.data`` does not
import torch or transformers; the model classes below are imported on first use.
"""

from typing import TYPE_CHECKING

from .lazy_exports import lazy_exports
from .registration import register_on_import

register_on_import()

__version__ = "0.1.0"

_EXPORTS = {
    "BatConfig": ".models.bat",
    "BatForConditionalGeneration": ".models.bat",
    "BatModel": ".models.bat",
    "BatProcessor": ".models.bat",
    "SpatialASTConfig": ".models.spatial_ast",
    "SpatialASTFeatureExtractor": ".models.spatial_ast",
    "SpatialASTForSpatialAudioClassification": ".models.spatial_ast",
    "SpatialASTModel": ".models.spatial_ast",
    "SpatialASTPreTrainedModel": ".models.spatial_ast",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "BatConfig",
    "BatForConditionalGeneration",
    "BatModel",
    "BatProcessor",
    "SpatialASTConfig",
    "SpatialASTFeatureExtractor",
    "SpatialASTForSpatialAudioClassification",
    "SpatialASTModel",
    "SpatialASTPreTrainedModel",
]

if TYPE_CHECKING:
    from .models.bat import BatConfig, BatForConditionalGeneration, BatModel, BatProcessor
    from .models.spatial_ast import (
        SpatialASTConfig,
        SpatialASTFeatureExtractor,
        SpatialASTForSpatialAudioClassification,
        SpatialASTModel,
        SpatialASTPreTrainedModel,
    )
