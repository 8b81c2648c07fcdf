"""Sound-source catalogues: one interface over the authors' AudioSet layout, any labelled folder, and the
built-in procedural bank. A catalogue says which clips exist, what they are, and loads one on demand."""

from __future__ import annotations

import abc
import csv
from pathlib import Path

import numpy as np

from ..audio_format import SAMPLE_RATE
from ..files import read_json, short_hash
from .procedural_sounds import PROCEDURAL_CLASSES, class_slug, synthesize

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
# Bump when a procedural generator changes what it synthesises: the fingerprint of every procedural catalogue changes
PROCEDURAL_SOUNDS_VERSION = 1


def read_audio(path) -> tuple[np.ndarray, int]:
    """(audio (channels, T) float32, sample_rate) with soundfile; ``OSError`` naming the file when unreadable."""
    import soundfile

    try:
        audio, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError) as error:  # soundfile raises LibsndfileError (a RuntimeError)
        raise OSError(f"cannot read audio file {path}: {error}") from error
    return np.ascontiguousarray(audio.T), int(sample_rate)


class SoundCatalogue(abc.ABC):
    """A set of labelled clips.

    ``ids`` lists clip ids, ``labels(clip_id)`` their class display names, ``class_names`` all classes, and
    ``load(clip_id)`` returns ``(audio, sample_rate)`` with audio float32, 1-D or (channels, T).
    """

    @property
    @abc.abstractmethod
    def ids(self) -> list[str]: ...

    @property
    @abc.abstractmethod
    def class_names(self) -> list[str]: ...

    @abc.abstractmethod
    def labels(self, clip_id: str) -> list[str]: ...

    @abc.abstractmethod
    def load(self, clip_id: str) -> tuple[np.ndarray, int]: ...

    def __len__(self) -> int:
        return len(self.ids)

    def fingerprint(self) -> str:
        """A short hash of which clips exist with which labels; datasets record it and refuse another on read.

        Audio files are not hashed (that would read every clip); the procedural catalogue hashes its settings.
        """
        entries = "\x1f".join(f"{clip_id}={';'.join(self.labels(clip_id))}" for clip_id in sorted(self.ids))
        return short_hash(type(self).__name__, entries)

    def ids_by_class(self) -> dict[str, list[str]]:
        """Class name -> ids of clips carrying that label (for class-balanced sampling)."""
        table: dict[str, list[str]] = {name: [] for name in self.class_names}
        for clip_id in self.ids:
            for name in self.labels(clip_id):
                table.setdefault(name, []).append(clip_id)
        return table


class _TableCatalogue(SoundCatalogue):
    """A catalogue backed by a dict clip_id -> (path, labels)."""

    def __init__(self, clips: dict[str, tuple[Path, list[str]]], class_names: list[str]):
        self._clips = clips
        self._class_names = class_names

    @property
    def ids(self) -> list[str]:
        return list(self._clips)

    @property
    def class_names(self) -> list[str]:
        return list(self._class_names)

    def _entry(self, clip_id: str) -> tuple[Path, list[str]]:
        try:
            return self._clips[clip_id]
        except KeyError:
            raise KeyError(f"unknown clip id {clip_id!r} in {type(self).__name__}") from None

    def labels(self, clip_id: str) -> list[str]:
        return list(self._entry(clip_id)[1])

    def path(self, clip_id: str) -> Path:
        return self._entry(clip_id)[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.source)!r}, {len(self)} clips)"

    def load(self, clip_id: str) -> tuple[np.ndarray, int]:
        return read_audio(self.path(clip_id))


class AudioSetCatalogue(_TableCatalogue):
    """The authors' AudioSet layout.

    ``root/metadata/<name>.json`` = ``{"data": [{"id", "folder", "label": [mids]}]}`` with audio at
    ``root/<folder>/<id>.wav``, and ``root/metadata/class_labels_indices_subset.csv`` (index, mid, display_name)
    naming the 355 classes kept. Clip ids are ``"<folder>/<id>"`` (the release's ``audio_id``, e.g.
    ``"eval/audio/YI-HlrcP6Qg4"``). Labels outside the class table are dropped; clips left with none are skipped.

    Args:
        root: the AudioSet directory.
        metadata: a metadata name ("eval", "balanced", "unbalanced") or a path to such a JSON file.
        class_csv: the class table; defaults to the 355-class subset in ``root/metadata``.
    """

    def __init__(self, root, metadata: str = "eval", class_csv=None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"AudioSet root not found: {self.root}")
        metadata_path = (
            Path(metadata) if str(metadata).endswith(".json") else self.root / "metadata" / f"{metadata}.json"
        )
        class_path = Path(class_csv) if class_csv else self.root / "metadata" / "class_labels_indices_subset.csv"
        for path in (metadata_path, class_path):
            if not path.is_file():
                raise FileNotFoundError(f"AudioSet file not found: {path}")
        self.source = metadata_path
        mid_to_name = {}
        with open(class_path, newline="") as handle:
            for row in csv.DictReader(handle):
                mid_to_name[row["mid"]] = row["display_name"]
        metadata = read_json(metadata_path)
        if not isinstance(metadata, dict) or not isinstance(metadata.get("data"), list):
            raise ValueError(f"{metadata_path}: expected {{'data': [{{'id', 'folder', 'label'}}, ...]}}")
        records = metadata["data"]
        clips = {}
        for record in records:
            names = [mid_to_name[mid] for mid in record["label"] if mid in mid_to_name]
            if names:
                clip_id = f"{record['folder'].strip('/')}/{record['id']}"
                clips[clip_id] = (self.root / f"{clip_id}.wav", names)
        super().__init__(clips, list(mid_to_name.values()))


class FolderCatalogue(_TableCatalogue):
    """Any labelled clips: a directory laid out as ``<label>/<clip>.wav`` (also .flac/.ogg), or a CSV file with
    columns ``path`` (relative to the CSV) and ``label`` (several labels joined by ";"). Clip ids are the paths
    relative to the root, without extension."""

    def __init__(self, path):
        path = Path(path)
        self.source = path
        clips: dict[str, tuple[Path, list[str]]] = {}
        if path.is_file() and path.suffix.lower() == ".csv":
            root = path.parent
            with open(path, newline="") as handle:
                reader = csv.DictReader(handle)
                if not {"path", "label"} <= set(reader.fieldnames or ()):
                    raise ValueError(f"{path} needs the columns 'path' and 'label', has {reader.fieldnames}")
                for row in reader:
                    names = [name.strip() for name in row["label"].split(";") if name.strip()]
                    relative = Path(row["path"])
                    clips[str(relative.with_suffix("")).replace("\\", "/")] = (root / relative, names)
        elif path.is_dir():
            for file in sorted(path.glob("*/*")):
                if file.suffix.lower() in AUDIO_EXTENSIONS:
                    clips[f"{file.parent.name}/{file.stem}"] = (file, [file.parent.name])
        else:
            raise FileNotFoundError(f"no clip folder or CSV at {path}")
        if not clips:
            raise ValueError(f"no labelled clips found at {path} (expected <label>/*.wav or a CSV with path,label)")
        class_names = sorted({name for _, names in clips.values() for name in names})
        super().__init__(clips, class_names)


class ProceduralCatalogue(SoundCatalogue):
    """Built-in synthetic clips (see :mod:`.procedural_sounds`): offline and deterministic.

    Ids are ``"procedural/<class_slug>/<k>"``; clip ``k`` of a class is the same for the same ``seed``.
    """

    def __init__(
        self,
        clips_per_class: int = 10,
        seed: int = 0,
        duration_s: float = 10.0,
        sample_rate: int = SAMPLE_RATE,
        class_names: list[str] | None = None,
    ):
        if clips_per_class < 1:
            raise ValueError(f"clips_per_class must be positive, got {clips_per_class}")
        names = list(class_names) if class_names is not None else list(PROCEDURAL_CLASSES)
        unknown = [name for name in names if name not in PROCEDURAL_CLASSES]
        if unknown:
            raise ValueError(f"unknown procedural classes {unknown}; known: {list(PROCEDURAL_CLASSES)}")
        self.seed, self.duration_s, self.sample_rate = int(seed), float(duration_s), int(sample_rate)
        self.clips_per_class = int(clips_per_class)
        self._class_names = names
        self._by_slug = {class_slug(name): name for name in names}
        self._ids = [f"procedural/{class_slug(name)}/{k}" for name in names for k in range(clips_per_class)]
        self._id_set = set(self._ids)

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def __repr__(self) -> str:
        return (
            f"ProceduralCatalogue(clips_per_class={self.clips_per_class}, seed={self.seed}, "
            f"duration_s={self.duration_s:g}, sample_rate={self.sample_rate}, {len(self._class_names)} classes)"
        )

    def fingerprint(self) -> str:
        """Hash of what decides every clip: classes, clips per class, seed, duration, rate and generator version."""
        settings = [self.clips_per_class, self.seed, self.duration_s, self.sample_rate, PROCEDURAL_SOUNDS_VERSION]
        return short_hash("ProceduralCatalogue", *map(str, settings), *self._class_names)

    @property
    def class_names(self) -> list[str]:
        return list(self._class_names)

    def _parse(self, clip_id: str) -> tuple[str, int]:
        if clip_id not in self._id_set:
            raise KeyError(f"unknown clip id {clip_id!r} in ProceduralCatalogue")
        _, slug, k = clip_id.split("/")
        return self._by_slug[slug], int(k)

    def labels(self, clip_id: str) -> list[str]:
        return [self._parse(clip_id)[0]]

    def load(self, clip_id: str) -> tuple[np.ndarray, int]:
        name, k = self._parse(clip_id)
        class_index = list(PROCEDURAL_CLASSES).index(name)
        return synthesize(name, [self.seed, class_index, k], self.duration_s, self.sample_rate), self.sample_rate
