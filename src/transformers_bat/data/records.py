"""The SpatialSoundQA record: the question, its answer, and the scene it is about (ids and truth, never samples).

A record stores its scene as a ``sources`` column: a list of structs (clip id, RIR id, class names, azimuth,
elevation, distance; see :mod:`transformers_bat.scene`), one per source, source 1 first. Any number of sources can
be written down; the paper's data has one or two. The authors' eight fields (``audio_id``, ``reverb_id``,
``audio_id2``, ``reverb_id2``, ``question_id``, ``question_type``, ``question``, ``answer``) are a view of a record
(:func:`authors_view`), produced by the exporters and read back by :func:`from_authors_view`.

Folders written before the ``sources`` column (format 1: ``audio_id`` ... ``distance_m2`` columns) are converted on
read by :func:`~transformers_bat.data.dataset_folder.load_spatial_sound_qa`; :func:`upgrade_record` converts one.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..scene import SOURCE_FIELDS, Scene

if TYPE_CHECKING:
    import datasets

    # What training and evaluation read: a dataset (memory-mapped Arrow, never copied) or a sequence of dicts.
    Records = Sequence[Mapping] | datasets.Dataset | datasets.IterableDataset

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
AUTHORS_MAX_SOURCES = 2

SOURCE_STRUCT = pa.struct(
    [
        pa.field("audio_id", pa.string()),
        pa.field("reverb_id", pa.string()),
        pa.field("labels", pa.list_(pa.string())),
        pa.field("azimuth_deg", pa.float64()),
        pa.field("elevation_deg", pa.float64()),
        pa.field("distance_m", pa.float64()),
    ]
)
assert tuple(SOURCE_STRUCT.names) == SOURCE_FIELDS

# name -> (arrow type, one-line meaning). Order = column order of the parquet files.
COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "question_id": (pa.int64(), "record id, unique within a split of a generated dataset"),
    "question_type": (pa.string(), "question type string, e.g. MIXUP_DIRECTION (the release's, or ours beyond it)"),
    "question": (pa.string(), "question text"),
    "answer": (pa.string(), "answer text, derived by rule from the scene and the question parameters"),
    "room_id": (pa.string(), "room of the RIRs (all sources share it)"),
    "sources": (
        pa.list_(SOURCE_STRUCT),
        "the scene, source 1 first: audio_id, reverb_id, labels (class names), azimuth_deg (listener frame, "
        "0 = right, 90 = front), elevation_deg (0 = horizontal), distance_m",
    ),
    "template_id": (pa.int32(), "index of the question paraphrase (-1 when unknown)"),
    "form": (pa.string(), "variant of the question (e.g. MIXUP_DIRECTION: both / pair / relative; DOA: '' / event)"),
    "axis": (pa.string(), "axis asked about: lateral / frontal / vertical"),
    "direction": (pa.string(), "direction word asked about (first word of a 'pair' question)"),
    "direction2": (pa.string(), "second direction word of a 'pair' question"),
}

ARROW_SCHEMA = pa.schema([pa.field(name, dtype) for name, (dtype, _) in COLUMNS.items()])

# Format 1 (before the sources column): the two sources as flat columns.
LEGACY_SOURCE_COLUMNS: dict[str, tuple[str, str]] = {
    "audio_id": ("audio_id", "audio_id2"),
    "reverb_id": ("reverb_id", "reverb_id2"),
    "labels": ("labels", "labels2"),
    "azimuth_deg": ("azimuth_deg", "azimuth_deg2"),
    "elevation_deg": ("elevation_deg", "elevation_deg2"),
    "distance_m": ("distance_m", "distance_m2"),
}
LEGACY_COLUMNS = frozenset(name for pair in LEGACY_SOURCE_COLUMNS.values() for name in pair)


def features():
    """The ``datasets.Features`` of a SpatialSoundQA split (imported lazily: datasets is an optional extra)."""
    import datasets

    return datasets.Features.from_arrow_schema(ARROW_SCHEMA)


def empty_record() -> dict:
    """A record with every column present and null (``sources`` empty), for readers that fill what they know."""
    record = {name: None for name in COLUMNS}
    record["sources"] = []
    record["template_id"] = -1
    return record


def authors_view(record: Mapping) -> dict:
    """The authors' eight fields of a record, in their order (their format holds at most two sources)."""
    if "sources" not in record:
        return {name: record.get(name) for name in AUTHORS_FIELDS}  # already in their shape
    sources = list(record["sources"] or [])
    if len(sources) > AUTHORS_MAX_SOURCES:
        raise ValueError(
            f"record {record.get('question_id')} ({record.get('question_type')}) has {len(sources)} sources; the "
            f"authors' format holds at most {AUTHORS_MAX_SOURCES} (generate with --max-sources 2 to export)"
        )
    if not sources:
        raise ValueError(f"record {record.get('question_id')} has no sources")
    second = sources[1] if len(sources) > 1 else {}
    return {
        "audio_id": sources[0]["audio_id"],
        "reverb_id": sources[0]["reverb_id"],
        "audio_id2": second.get("audio_id"),
        "reverb_id2": second.get("reverb_id"),
        "question_id": record.get("question_id"),
        "question_type": record.get("question_type"),
        "question": record.get("question"),
        "answer": record.get("answer"),
    }


def from_authors_view(view: Mapping) -> dict:
    """A record of our schema from the authors' eight fields (sources without truth: ids only)."""
    record = empty_record()
    for name in ("question_id", "question_type", "question", "answer"):
        record[name] = view.get(name)
    record["sources"] = [{"audio_id": view["audio_id"], "reverb_id": view["reverb_id"]}]
    if view.get("audio_id2") is not None:
        record["sources"].append({"audio_id": view["audio_id2"], "reverb_id": view["reverb_id2"]})
    record["sources"] = [_full_source(source) for source in record["sources"]]
    return record


def _full_source(values: Mapping) -> dict:
    return {name: values.get(name) for name in SOURCE_FIELDS} | {"labels": list(values.get("labels") or [])}


def upgrade_record(record: Mapping) -> dict:
    """A format-1 record (flat ``audio_id`` ... ``distance_m2`` columns) in the current schema."""
    if "sources" in record:
        return dict(record)
    upgraded = {name: record.get(name) for name in COLUMNS if name != "sources"}
    sources = []
    for suffix in (0, 1):
        values = {field: record.get(columns[suffix]) for field, columns in LEGACY_SOURCE_COLUMNS.items()}
        if values["audio_id"] is not None:
            sources.append(_full_source(values))
    upgraded["sources"] = sources
    if upgraded.get("template_id") is None:
        upgraded["template_id"] = -1
    return upgraded


def is_legacy_schema(column_names) -> bool:
    """Whether a table's columns are those of format 1 (no ``sources`` column, flat source columns)."""
    names = set(column_names)
    return "sources" not in names and "audio_id" in names


def scene_of(record: Mapping) -> Scene:
    """The :class:`~transformers_bat.scene.Scene` of a record (format 1 records are upgraded first)."""
    return Scene.from_record(record if "sources" in record else upgrade_record(record))


def is_arrow_dataset(records: Any) -> bool:
    """Whether `records` is a `datasets.Dataset` or `IterableDataset` (without importing datasets, an optional
    extra: an object of its classes exists only once it is imported)."""
    datasets = sys.modules.get("datasets")
    return datasets is not None and isinstance(records, (datasets.Dataset, datasets.IterableDataset))
