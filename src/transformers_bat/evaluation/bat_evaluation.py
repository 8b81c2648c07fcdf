"""Answering SpatialSoundQA records with a BAT, and reading/writing prediction files.

Prediction files are JSON lines, one object per record: question_id, question_type, question, answer (the
reference) and prediction. Scoring a file again gives the same report (evaluation is deterministic: greedy or beam
decoding, and each record renders the same audio every time).

Records are a `datasets.Dataset` (what `data.load_spatial_sound_qa` returns), an `IterableDataset`, or a sequence of
dicts (small tests, the authors' release reader). A dataset is read batch by batch from its memory-mapped Arrow
files and never copied into a list: at the release's scale (870K records) a list is a copy per process.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from tqdm.auto import tqdm

from ..audio_format import SAMPLE_RATE
from ..data.records import is_arrow_dataset

if TYPE_CHECKING:
    from ..data.records import Records

PREDICTION_FIELDS = ("question_id", "question_type", "question", "answer", "prediction")


def record_batches(records: Records, batch_size: int) -> Iterator[list[Mapping]]:
    """Consecutive batches of records, each a list of mappings (rows as dicts), in order.

    A dataset is read one Arrow batch at a time (`Dataset.iter`), so only `batch_size` rows are ever Python objects;
    a sequence is sliced.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    if is_arrow_dataset(records):
        for columns in records.iter(batch_size=batch_size):
            yield [dict(zip(columns, values)) for values in zip(*columns.values())]
        return
    for start in range(0, len(records), batch_size):
        yield list(records[start : start + batch_size])


@torch.no_grad()
def answer_records(
    model, processor, renderer, records: Records, batch_size: int = 16, progress: bool = True, **generate
) -> list[str]:
    """Generated answers, one per record, in order (batched; left padding keeps them equal to one-by-one).

    Each scene is read whole: when it is longer than the model's feature window, as all its windows (the processor's
    default, as in training), never a crop. A dataset is read batch by batch (`record_batches`), not materialised.
    """
    total = len(records) if hasattr(records, "__len__") else None  # an IterableDataset has no length
    if total == 0:
        raise ValueError("Nothing to answer: the split is empty.")
    model.eval()
    answers = []
    batches = record_batches(records, batch_size)
    steps = math.ceil(total / batch_size) if total is not None else None
    for chunk in tqdm(batches, total=steps, desc="answering", disable=not progress):
        inputs = processor(
            audio=[renderer.render(record) for record in chunk],
            text=[record["question"] for record in chunk],
            sampling_rate=SAMPLE_RATE,
        )
        output = model.generate(**inputs, **generate)
        answers.extend(processor.decode_answers(output, inputs["input_ids"].shape[1]))
    if not answers:
        raise ValueError("Nothing to answer: the split is empty.")
    return answers


def write_predictions(path: str | os.PathLike, records: Records, predictions: Sequence[str]) -> None:
    """One JSON line per record (a dataset is read row by row, not copied)."""
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


def align_predictions(records: Records, rows: Sequence[Mapping]) -> list[str]:
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
