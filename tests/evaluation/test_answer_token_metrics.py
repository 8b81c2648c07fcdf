"""Teacher-forced answer-token metrics: shifted comparison on labelled positions only."""

import numpy as np
import pytest
import torch
from transformers import EvalPrediction

from transformers_bat.evaluation.answer_token_metrics import IGNORE_INDEX, answer_token_metrics, argmax_logits

X = IGNORE_INDEX


def test_only_answer_positions_count_and_predictions_are_shifted():
    labels = np.array([[X, X, 5, 6, 7], [X, X, X, 8, 9]])
    # the token at position t predicts label t + 1; prompt positions (X) never count, whatever is predicted there
    predictions = np.array([[0, 5, 6, 1, 0], [3, 3, 8, 9, 4]])
    metrics = answer_token_metrics(EvalPrediction(predictions=predictions, label_ids=labels))
    assert metrics["answer_token_accuracy"] == pytest.approx(4 / 5)
    assert metrics["answer_exact_match"] == pytest.approx(1 / 2)


def test_argmax_keeps_token_ids_and_shape_mismatch_is_explained():
    logits = torch.zeros(2, 5, 11)
    logits[..., 3] = 1.0
    assert argmax_logits((logits,), None).tolist() == [[3] * 5] * 2
    with pytest.raises(ValueError, match="preprocess_logits_for_metrics"):
        answer_token_metrics(EvalPrediction(predictions=logits.numpy(), label_ids=np.zeros((2, 5), dtype=int)))
    with pytest.raises(ValueError, match="No labelled answer tokens"):
        answer_token_metrics(EvalPrediction(predictions=np.zeros((1, 3)), label_ids=np.full((1, 3), X)))
