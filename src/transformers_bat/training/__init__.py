"""Training Spatial-AST and BAT with the transformers Trainer (CPU at toy scale, accelerate at paper scale)."""

from .bat_curriculum import BatQACollator, RecordList, stage_records, train_curriculum
from .encoder_data import (
    EpochIndexSampler,
    RenderPlan,
    SpatialAudioCollator,
    SpatialAudioDataset,
    examples_from_bank,
    examples_from_records,
    multi_source_scenes,
    soft_class_targets,
)
from .encoder_trainer import (
    ENCODER_LABEL_NAMES,
    ClassBalancedSampler,
    ExampleList,
    SpatialASTTrainer,
    class_balanced_weights,
    layer_decay_parameter_groups,
    train_encoder_stages,
)

__all__ = [
    "BatQACollator",
    "RecordList",
    "stage_records",
    "train_curriculum",
    "ENCODER_LABEL_NAMES",
    "ClassBalancedSampler",
    "EpochIndexSampler",
    "ExampleList",
    "RenderPlan",
    "SpatialASTTrainer",
    "SpatialAudioCollator",
    "SpatialAudioDataset",
    "class_balanced_weights",
    "examples_from_bank",
    "examples_from_records",
    "layer_decay_parameter_groups",
    "multi_source_scenes",
    "soft_class_targets",
    "train_encoder_stages",
]
