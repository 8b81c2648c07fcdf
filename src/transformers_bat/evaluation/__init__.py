"""Metrics, reports and plots for Spatial-AST and BAT on SpatialSoundQA."""

from .encoder_metrics import (
    average_precision,
    compute_encoder_metrics,
    direction_errors_deg,
    distance_accuracy,
    error_rate,
    mean_average_precision,
    octant_accuracies,
    spatial_ast_metrics,
)
from .qa_metrics import CharNgramEmbedder, QAScores, format_table4, majority_predictions, score_answers, table4_figures
from .seld_metrics import seld_metrics

__all__ = [
    "CharNgramEmbedder",
    "QAScores",
    "average_precision",
    "compute_encoder_metrics",
    "direction_errors_deg",
    "distance_accuracy",
    "error_rate",
    "format_table4",
    "majority_predictions",
    "mean_average_precision",
    "octant_accuracies",
    "score_answers",
    "seld_metrics",
    "spatial_ast_metrics",
    "table4_figures",
]
