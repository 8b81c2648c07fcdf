"""A scene: the sources one listener hears in one room, each a clip heard through an RIR, with its ground truth.

One shape for every consumer: a SpatialSoundQA record stores its scene as the ``sources`` column (a list of
structs with the fields of :class:`Source`), encoder training items are scenes, the renderer turns a scene into
binaural audio, and answers and metrics read the truth from it. Source 1 (``sources[0]``) is the source a
question is about (the target of types C and D, ``{e1}`` of type E and of the multi-source types); the others
follow in the order the question names them.

Records of the authors' release carry ids only: their sources have no labels and no direction (``None``) until a
sound catalogue and an RIR bank fill them in (:func:`transformers_bat.data.authors_release.from_authors_records`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .labels import Placement

# The fields of one source, in column order of the ``sources`` struct.
SOURCE_FIELDS: tuple[str, ...] = ("audio_id", "reverb_id", "labels", "azimuth_deg", "elevation_deg", "distance_m")


@dataclass(frozen=True, kw_only=True)
class Source(Placement):
    """One sound of a scene: which clip (``audio_id``), heard through which RIR (``reverb_id``), what it is
    (``labels``: class display names) and where it is (the :class:`~transformers_bat.labels.Placement` fields)."""

    audio_id: str
    reverb_id: str
    labels: tuple[str, ...] = field(default=())

    def __post_init__(self):
        object.__setattr__(self, "labels", tuple(self.labels or ()))

    @property
    def has_truth(self) -> bool:
        """Whether the direction and distance are known (records of the authors' release may lack them)."""
        return None not in (self.azimuth_deg, self.elevation_deg, self.distance_m)

    def to_dict(self) -> dict:
        """The struct stored in a record's ``sources`` column."""
        return {
            "audio_id": self.audio_id,
            "reverb_id": self.reverb_id,
            "labels": list(self.labels),
            "azimuth_deg": None if self.azimuth_deg is None else float(self.azimuth_deg),
            "elevation_deg": None if self.elevation_deg is None else float(self.elevation_deg),
            "distance_m": None if self.distance_m is None else float(self.distance_m),
        }

    @classmethod
    def from_dict(cls, values: Mapping) -> Source:
        missing = [name for name in ("audio_id", "reverb_id") if values.get(name) is None]
        if missing:
            raise ValueError(f"A scene source needs {missing}; got {dict(values)!r}")
        return cls(
            audio_id=values["audio_id"],
            reverb_id=values["reverb_id"],
            labels=tuple(values.get("labels") or ()),
            azimuth_deg=values.get("azimuth_deg"),
            elevation_deg=values.get("elevation_deg"),
            distance_m=values.get("distance_m"),
        )


@dataclass(frozen=True)
class Scene:
    """The sources of one recording (1..N), all in one room (``room_id``, None when unknown)."""

    sources: tuple[Source, ...]
    room_id: str | None = None

    def __post_init__(self):
        sources = tuple(self.sources)
        if not sources:
            raise ValueError("A scene needs at least one source")
        object.__setattr__(self, "sources", sources)

    def __len__(self) -> int:
        return len(self.sources)

    def __iter__(self):
        return iter(self.sources)

    def __getitem__(self, index: int) -> Source:
        return self.sources[index]

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        """What determines the scene's audio: its (clip, RIR) pairs in order (for caches)."""
        return tuple((source.audio_id, source.reverb_id) for source in self.sources)

    @classmethod
    def of(cls, sources: Iterable[Source | Mapping], room_id: str | None = None) -> Scene:
        return cls(tuple(s if isinstance(s, Source) else Source.from_dict(s) for s in sources), room_id)

    @classmethod
    def of_item(cls, item: Scene | Source | Iterable[Source]) -> Scene:
        """A scene from a scene, a single source (a scene of one) or a sequence of sources."""
        if isinstance(item, Scene):
            return item
        if isinstance(item, Source):
            return cls((item,))
        return cls(tuple(item))

    def events(self) -> list[dict]:
        """One entry per (source, class label) with its direction and distance: the truth SELD metrics compare
        detections with."""
        return [
            {
                "label": label,
                "azimuth_deg": source.azimuth_deg,
                "elevation_deg": source.elevation_deg,
                "distance_m": source.distance_m,
            }
            for source in self.sources
            for label in source.labels
        ]

    @classmethod
    def from_record(cls, record: Mapping) -> Scene:
        """The scene of a SpatialSoundQA record (its ``sources`` column and ``room_id``)."""
        sources = record.get("sources")
        if not sources:
            if "audio_id" in record:
                raise ValueError(
                    f"record {record.get('question_id')} has the old two-source columns (audio_id, audio_id2, ...) "
                    "instead of a 'sources' list: convert it with transformers_bat.data.records.upgrade_record, or "
                    "read its folder with transformers_bat.data.load_spatial_sound_qa (which converts on read)"
                )
            raise ValueError(f"record {record.get('question_id')} has no sources")
        return cls.of(sources, record.get("room_id"))

    def to_columns(self) -> dict:
        """The record columns that hold the scene: ``room_id`` and ``sources``."""
        return {"room_id": self.room_id, "sources": [source.to_dict() for source in self.sources]}


__all__ = ["SOURCE_FIELDS", "Scene", "Source"]
