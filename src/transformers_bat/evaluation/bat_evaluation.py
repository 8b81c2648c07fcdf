"""Answering SpatialSoundQA records with a BAT, and reading/writing prediction files.

Prediction files are JSON lines, one object per record: question_id, question_type, question, answer (the
reference) and prediction. Scoring a file again gives the same report (evaluation is deterministic: greedy or beam
decoding, and each record renders the same audio every time).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

import torch
from tqdm.auto import tqdm

from ..data.rendering import SAMPLE_RATE

PREDICTION_FIELDS = ("question_id", "question_type", "question", "answer", "prediction")


@torch.no_grad()
def answer_records(
    model, processor, renderer, records: Sequence[Mapping], batch_size: int = 16, progress: bool = True, **generate
) -> list[str]:
    """Generated answers, one per record, in order (batched; left padding keeps them equal to one-by-one).

    Each scene is read whole: when it is longer than the model's feature window, as all its windows (the processor's
    default, as in training), never a crop.
    """
    if not records:
        raise ValueError("Nothing to answer: the split is empty.")
    model.eval()
    answers = []
    for start in tqdm(range(0, len(records), batch_size), desc="answering", disable=not progress):
        chunk = records[start : start + batch_size]
        inputs = processor(
            audio=[renderer.render(record) for record in chunk],
            text=[record["question"] for record in chunk],
            sampling_rate=SAMPLE_RATE,
        )
        output = model.generate(**inputs, **generate)
        answers.extend(processor.decode_answers(output, inputs["input_ids"].shape[1]))
    return answers


def write_predictions(path: str | os.PathLike, records: Sequence[Mapping], predictions: Sequence[str]) -> None:
    if len(records) != len(predictions):
        raise ValueError(f"{len(records)} records but {len(predictions)} predictions.")
    with open(path, "w", encoding="utf-8") as handle:
        for record, prediction in zip(records, predictions):
            row = {key: record.get(key) for key in PREDICTION_FIELDS[:-1]}
            row["prediction"] = prediction
            handle.write(json.dumps(row) + "\n")


def read_predictions(path: str | os.PathLike) -> list[dict]:
    """Rows of a prediction file; a malformed line is reported with its number."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {number}: not valid JSON ({error.msg}).") from error
            missing = [key for key in PREDICTION_FIELDS if key not in row] if isinstance(row, dict) else ["all"]
            if missing or not isinstance(row.get("prediction"), str):
                raise ValueError(f"{path}, line {number}: expected the fields {PREDICTION_FIELDS}; missing {missing}.")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path} holds no predictions.")
    return rows


def align_predictions(records: Sequence[Mapping], rows: Sequence[Mapping]) -> list[str]:
    """Predictions in record order, matched on (question_id, question_type, question)."""
    by_key = {(r["question_id"], r["question_type"], r["question"]): r["prediction"] for r in rows}
    missing = [
        r["question_id"] for r in records if (r["question_id"], r["question_type"], r["question"]) not in by_key
    ]
    if missing:
        raise ValueError(
            f"The prediction file has no answer for {len(missing)} records (e.g. question_id {missing[0]})."
        )
    return [by_key[(r["question_id"], r["question_type"], r["question"])] for r in records]
