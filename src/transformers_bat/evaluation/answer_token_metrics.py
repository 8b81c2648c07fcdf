"""In-Trainer evaluation of BAT: how well the answer tokens are predicted under teacher forcing.

The paper's figures score generated answers (`evaluation.bat_evaluation`, `transformers-bat evaluate-bat`), which
needs `generate()` and is too slow to run every few hundred steps. During training the Trainer's `compute_metrics`
reports the cheap, monotone proxy: the share of answer tokens predicted right given the true prefix, and the share
of answers whose tokens are all right.
"""

from __future__ import annotations

import numpy as np
import torch

IGNORE_INDEX = -100


def argmax_logits(logits, labels) -> torch.Tensor:
    """`preprocess_logits_for_metrics`: keep the predicted token ids only, not (batch, length, vocabulary) floats."""
    if isinstance(logits, (tuple, list)):
        logits = logits[0]
    return logits.argmax(dim=-1)


def answer_token_metrics(eval_prediction) -> dict[str, float]:
    """`compute_metrics` for BAT: `answer_token_accuracy` and `answer_exact_match` (teacher forced).

    Predictions are the argmax token ids (see `argmax_logits`); the token at position t predicts label t + 1, and
    only labelled positions (the answers; prompts and audio are `IGNORE_INDEX`) count.
    """
    predictions = np.asarray(eval_prediction.predictions)
    labels = np.asarray(eval_prediction.label_ids)
    if predictions.shape != labels.shape:
        raise ValueError(
            f"Predictions {predictions.shape} and labels {labels.shape} differ in shape; pass "
            "preprocess_logits_for_metrics=argmax_logits to the Trainer."
        )
    predicted, target = predictions[:, :-1], labels[:, 1:]
    counted = target != IGNORE_INDEX
    correct = (predicted == target) & counted
    answered = counted.any(axis=1)
    if not answered.any():
        raise ValueError("No labelled answer tokens in the evaluation set (were the records built without answers?).")
    all_right = (correct | ~counted).all(axis=1)
    return {
        "answer_token_accuracy": float(correct.sum() / counted.sum()),
        "answer_exact_match": float(all_right[answered].mean()),
    }


__all__ = ["IGNORE_INDEX", "answer_token_metrics", "argmax_logits"]
