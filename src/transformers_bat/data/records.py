"""The SpatialSoundQA record: where the audio is (ids) and how to make it (scene parameters), never samples.

A record carries the authors' eight fields unchanged (``audio_id``, ``reverb_id``, ``audio_id2``, ``reverb_id2``,
``question_id``, ``question_type``, ``question``, ``answer``) plus the ground truth the answer was derived from,
so metrics read the truth instead of parsing answer strings. Source 1 is always the source a question is about
(the target of C/D, ``{e1}`` of type E); source 2 is the other one (null fields for single-source records).
"""

from __future__ import annotations

import pyarrow as pa

AUTHORS_FIELDS: tuple[str, ...] = (
    "audio_id",
    "reverb_id",
    "audio_id2",
    "reverb_id2",
    "question_id",
    "question_type",
    "question",
    "answer",
)

# name -> (arrow type, one-line meaning). Order = column order of the parquet files.
COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "audio_id": (pa.string(), "clip id of source 1 in the sound catalogue"),
    "reverb_id": (pa.string(), "RIR id of source 1 in the RIR bank"),
    "audio_id2": (pa.string(), "clip id of source 2 (null for one source)"),
    "reverb_id2": (pa.string(), "RIR id of source 2 (null for one source)"),
    "question_id": (pa.int64(), "record id, unique within a split of a generated dataset"),
    "question_type": (pa.string(), "official type string, e.g. MIXUP_DIRECTION"),
    "question": (pa.string(), "question text"),
    "answer": (pa.string(), "answer text, derived by rule from the fields below"),
    "room_id": (pa.string(), "room of the RIRs (both sources share it)"),
    "labels": (pa.list_(pa.string()), "class names of source 1"),
    "azimuth_deg": (pa.float64(), "source 1 azimuth, listener frame, 0 = right, 90 = front"),
    "elevation_deg": (pa.float64(), "source 1 elevation, 0 = horizontal"),
    "distance_m": (pa.float64(), "source 1 distance to the listener"),
    "labels2": (pa.list_(pa.string()), "class names of source 2"),
    "azimuth_deg2": (pa.float64(), "source 2 azimuth"),
    "elevation_deg2": (pa.float64(), "source 2 elevation"),
    "distance_m2": (pa.float64(), "source 2 distance"),
    "template_id": (pa.int32(), "index of the question paraphrase (-1 when unknown)"),
    "form": (pa.string(), "MIXUP_DIRECTION form: both / pair / relative; DOA: '' or 'event'"),
    "axis": (pa.string(), "axis asked about: lateral / frontal / vertical"),
    "direction": (pa.string(), "direction word asked about (first word of a 'pair' question)"),
    "direction2": (pa.string(), "second direction word of a 'pair' question"),
}

ARROW_SCHEMA = pa.schema([pa.field(name, dtype) for name, (dtype, _) in COLUMNS.items()])


def features():
    """The ``datasets.Features`` of a SpatialSoundQA split (imported lazily: datasets is an optional extra)."""
    import datasets

    return datasets.Features.from_arrow_schema(ARROW_SCHEMA)


def empty_record() -> dict:
    """A record with every column present and null (``labels`` empty), for readers that fill what they know."""
    record = {name: None for name in COLUMNS}
    record["labels"] = []
    record["template_id"] = -1
    return record


def authors_view(record: dict) -> dict:
    """Only the authors' eight fields of a record, in their order."""
    return {name: record.get(name) for name in AUTHORS_FIELDS}
