"""The authors' SpatialSoundQA release: ``{"data": [...]}`` JSON import/export and a reader of its folders.

The release ships QA files only (``closed-end/``), RIRs (``mp3d_reverb/``) and AudioSet clips separately. The
reader joins them: each QA record gets our columns (scene ground truth from the RIR index and clip labels) and
can be rendered by the same :class:`~transformers_bat.data.rendering.SceneRenderer` as generated data.
Files we write in their format load in their code, and theirs in ours, with their eight fields unchanged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import question_types as qt
from .combined_catalogue import CombinedCatalogue
from .records import AUTHORS_FIELDS, COLUMNS, authors_view, from_authors_view
from .rendering import SceneRenderer, check_assets

# stage -> (folder under closed-end/, {split: [file names]})
RELEASE_FILES: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "stage1": (
        "stage1-clsdoa",
        {"train": ("train.json",), "test": ("eval-stage1-classification.json", "eval-stage1-doa.json")},
    ),
    "stage2": (
        "stage2-single",
        {"train": ("train.json",), "test": ("eval-stage2-classification.json", "eval-stage2-doa.json")},
    ),
    "stage3": (
        "stage3-mixup",
        {
            "train": ("train.json",),
            "test": ("eval-stage3-direction.json", "eval-stage3-distance.json", "eval-stage3-nonbinary.json"),
        },
    ),
}
# Our split name -> the split name of the release's RIR index (``{split}_reverberation.json``).
REVERB_SPLIT = {"train": "train", "test": "eval"}


# ---------------------------------------------------------------------------------------------- JSON files


def read_qa_json(path: str | os.PathLike) -> list[dict]:
    """Records of one QA file of the authors' format, validated (fields present, known question types)."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"SpatialSoundQA file not found: {path}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ValueError(f"{path}: expected one JSON object {{'data': [record, ...]}} (the authors' format)")
    records = payload["data"]
    for index, record in enumerate(records):
        where = f"{path}, record {index}"
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected an object, got {type(record).__name__}")
        missing = [name for name in AUTHORS_FIELDS if name not in record]
        if missing:
            raise ValueError(f"{where}: missing field(s) {missing}")
        qt.validate_question_type(record["question_type"], where=where)
        two = record["audio_id2"] is not None
        if two != (record["reverb_id2"] is not None):
            raise ValueError(f"{where}: audio_id2 and reverb_id2 must be both null or both set")
        fewest, most = qt.num_sources(record["question_type"])
        if not fewest <= 1 + two <= (most or 1 + two):
            raise ValueError(f"{where}: {record['question_type']} needs {fewest} source(s), the record has {1 + two}")
    return records


def write_qa_json(records: Iterable[Mapping], path: str | os.PathLike) -> Path:
    """Write records (ours or theirs) as the authors' ``{"data": [...]}`` with their eight fields only."""
    path = Path(path)
    data = []
    for record in records:
        view = authors_view(record)
        qt.validate_question_type(view["question_type"])
        view["question_id"] = int(view["question_id"])
        data.append(view)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps({"data": data}, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def from_authors_records(records: Iterable[Mapping], rir_bank=None, catalogue=None) -> list[dict]:
    """Authors' records -> our record schema. The sources' truth is filled from ``rir_bank`` / ``catalogue`` when
    given.

    Question parameters (form, axis, asked words, paraphrase index) are not in the release and stay null.
    """
    out = []
    for record in records:
        ours = from_authors_view(record)
        for source in ours["sources"]:
            if rir_bank is not None:
                info = rir_bank.info(source["reverb_id"])
                source.update(
                    azimuth_deg=float(info.azimuth_deg),
                    elevation_deg=float(info.elevation_deg),
                    distance_m=float(info.distance_m),
                )
                ours["room_id"] = ours["room_id"] or str(info.room_id)
            if catalogue is not None:
                source["labels"] = list(catalogue.labels(source["audio_id"]))
        out.append(ours)
    return out


def export_release_layout(records_by_split: Mapping[str, Iterable[Mapping]], closed_end_dir) -> list[Path]:
    """Write records in the release's ``closed-end/`` layout (train.json + eval-*.json per stage folder).

    Train files are cumulative like the release's. Test records go to the eval file of their type's group: stage 1
    classification = A, doa = B; stage 2 classification = C, doa = D (our reading of the release); stage 3
    direction = MIXUP_DIRECTION, distance = MIXUP_DISTANCE_BOTH, nonbinary = the three open types.
    """
    closed_end_dir = Path(closed_end_dir)
    eval_file = {
        qt.CLASSIFICATION: ("stage1", 0),
        qt.DOA: ("stage1", 1),
        qt.MIXUP_SINGLE_CLASSIFICATION: ("stage2", 0),
        qt.MIXUP_SINGLE_DOA: ("stage2", 1),
        qt.MIXUP_DIRECTION: ("stage3", 0),
        qt.MIXUP_DISTANCE_BOTH: ("stage3", 1),
        qt.MIXUP_NONBINARY_DIRECTION: ("stage3", 2),
        qt.MIXUP_NONBINARY_DISTANCE: ("stage3", 2),
        qt.MIXUP_NONBINARY_SOURCE: ("stage3", 2),
    }
    written = []
    train = [dict(r) for r in records_by_split.get("train", [])]
    test = [dict(r) for r in records_by_split.get("test", [])]
    beyond = sorted({r["question_type"] for r in train + test} - set(eval_file))
    if beyond:
        raise ValueError(
            f"The release's layout has no place for {beyond} (question types beyond the paper); export the paper's "
            "types only, e.g. a dataset generated with --max-sources 2"
        )
    for stage, (folder, files) in RELEASE_FILES.items():
        types = set(qt.stage_types(stage))
        written.append(
            write_qa_json([r for r in train if r["question_type"] in types], closed_end_dir / folder / "train.json")
        )
        for index, name in enumerate(files["test"]):
            rows = [r for r in test if eval_file[r["question_type"]] == (stage, index)]
            written.append(write_qa_json(rows, closed_end_dir / folder / name))
    return written


# ---------------------------------------------------------------------------------------------- folders


class AuthorsRelease:
    """Local copies of the release: ``closed-end/`` (QA JSON), ``mp3d_reverb/`` (RIRs), AudioSet (clips).

    ``audioset`` is the AudioSet folder (``<folder>/<id>.wav`` + ``metadata/``, read with the simulator's
    ``AudioSetCatalogue``) or a catalogue object used for every split. Test clips come from ``metadata/eval.json``,
    train clips from whichever of ``train_metadata`` exist. Only the QA folder is needed to read questions; scene
    parameters and audio need the other two.
    """

    def __init__(self, closed_end_dir, reverb_dir=None, audioset=None, train_metadata=("balanced", "unbalanced")):
        self.closed_end_dir = Path(closed_end_dir)
        if not self.closed_end_dir.is_dir():
            raise FileNotFoundError(
                f"SpatialSoundQA QA folder not found: {self.closed_end_dir} (expected the release's closed-end/ "
                "with stage1-clsdoa/, stage2-single/, stage3-mixup/)"
            )
        self.reverb_dir = None if reverb_dir is None else Path(reverb_dir)
        self.audioset_dir = Path(audioset) if isinstance(audioset, (str, os.PathLike)) else None
        self._catalogue_object = None if isinstance(audioset, (str, os.PathLike)) else audioset
        self.train_metadata = tuple(train_metadata)
        self._banks: dict[str, object] = {}
        self._catalogues: dict[str, object] = {}
        self._hints: dict[str, str] = {}  # how to make a missing part available (from_snapshot)

    @classmethod
    def from_snapshot(cls, snapshot_dir, **kwargs) -> AuthorsRelease:
        """The release as it sits in a local copy of the authors' Hub dataset repo (`zhisheng01/SpatialAudio`:
        `huggingface_hub.snapshot_download(..., repo_type="dataset")` output or a git clone), or its
        `SpatialSoundQA/` folder. The questions are read as they are; the RIRs (`mp3d_reverb.zip`) and AudioSet
        clips (`AudioSet/*.zip`) are used once extracted in place, and a zip found unextracted is named, with the
        command to extract it, when its part is first needed. Keyword arguments go to the constructor."""
        root = Path(snapshot_dir)
        if not root.is_dir():
            raise FileNotFoundError(f"Snapshot folder not found: {root}")
        base = root / "SpatialSoundQA" if (root / "SpatialSoundQA").is_dir() else root
        closed_end = base / "closed-end"
        if not closed_end.is_dir():
            raise FileNotFoundError(
                f"{root} does not look like a snapshot of the authors' release: no SpatialSoundQA/closed-end/ "
                "(download it with huggingface_hub.snapshot_download('zhisheng01/SpatialAudio', repo_type='dataset'))"
            )
        reverb = base / "mp3d_reverb"
        audioset = base / "AudioSet"
        release = cls(
            closed_end,
            reverb if (reverb / "binaural").is_dir() else None,
            audioset if (audioset / "metadata").is_dir() else None,
            **kwargs,
        )
        if release.reverb_dir is None and (base / "mp3d_reverb.zip").is_file():
            release._hints["reverb"] = f"extract it first: cd {base} && unzip mp3d_reverb.zip (8.9 GB)"
        zips = sorted(path.name for path in audioset.glob("*.zip")) if audioset.is_dir() else []
        unextracted = [name for name in zips if not (audioset / name.removesuffix(".zip")).is_dir()]
        if unextracted:
            release._hints["audioset"] = f"extract {', '.join(unextracted)} first: cd {audioset} && " + " && ".join(
                f"unzip {name}" for name in unextracted
            )
        return release

    def qa_files(self, stage: str, split: str) -> list[Path]:
        """The QA files of a stage and split; FileNotFoundError lists every missing file."""
        qt.stage_types(stage)
        folder, files = RELEASE_FILES[stage]
        if split not in files:
            raise ValueError(f"Unknown split {split!r}; the release has {sorted(files)}")
        paths = [self.closed_end_dir / folder / name for name in files[split]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(
                f"SpatialSoundQA {stage} {split}: missing {missing} (looked in {self.closed_end_dir})"
            )
        return paths

    def rir_bank(self, split: str):
        """The RIR bank of a split (``mp3d_reverb`` with ``{train,eval}_reverberation.json``)."""
        if self.reverb_dir is None:
            if "reverb" in self._hints:
                raise FileNotFoundError(f"The release's RIRs are still zipped: {self._hints['reverb']}")
            raise FileNotFoundError(
                "No RIR folder given: pass reverb_dir= (the release's mp3d_reverb/ with binaural/ and "
                f"{REVERB_SPLIT.get(split, split)}_reverberation.json) to get scene parameters and audio"
            )
        if split not in self._banks:
            from ..simulation.rir_bank import RIRBank

            reverb_split = REVERB_SPLIT.get(split, split)
            index = self.reverb_dir / f"{reverb_split}_reverberation.json"
            if not index.is_file():
                raise FileNotFoundError(f"RIR index for split {split!r} not found: {index}")
            self._banks[split] = RIRBank.open(self.reverb_dir, split=reverb_split)
        return self._banks[split]

    def catalogue(self, split: str):
        """The AudioSet catalogue of a split's clips."""
        if self._catalogue_object is not None:
            return self._catalogue_object
        if "audioset" in self._hints:
            raise FileNotFoundError(f"The release's AudioSet clips are still zipped: {self._hints['audioset']}")
        if self.audioset_dir is None:
            raise FileNotFoundError(
                "No AudioSet folder given: pass audioset= (the folder holding eval/, balanced_train/ ... and "
                "metadata/) to get class labels and audio"
            )
        if split not in self._catalogues:
            if not self.audioset_dir.is_dir():
                raise FileNotFoundError(f"AudioSet folder not found: {self.audioset_dir}")
            from ..simulation import AudioSetCatalogue

            names = ("eval",) if split == "test" else self.train_metadata
            paths = [self.audioset_dir / "metadata" / f"{name}.json" for name in names]
            found = [name for name, path in zip(names, paths) if path.is_file()]
            if not found:
                raise FileNotFoundError(
                    f"AudioSet metadata for split {split!r} not found: looked for {[str(p) for p in paths]}"
                )
            catalogues = [AudioSetCatalogue(self.audioset_dir, metadata=name) for name in found]
            self._catalogues[split] = catalogues[0] if len(catalogues) == 1 else CombinedCatalogue(catalogues)
        return self._catalogues[split]

    def records(self, stage: str, split: str, with_scene: bool = True, check: bool = True) -> list[dict]:
        """Our records for a stage and split (scene columns filled when ``with_scene``)."""
        raw = [record for path in self.qa_files(stage, split) for record in read_qa_json(path)]
        if not with_scene:
            return from_authors_records(raw)
        bank, catalogue = self.rir_bank(split), self.catalogue(split)
        if check:
            check_assets(raw, bank, catalogue, where=f"SpatialSoundQA {stage} {split} ({self.closed_end_dir})")
        return from_authors_records(raw, bank, catalogue)

    def load(self, stage: str, split: str, with_scene: bool = True, check: bool = True):
        """A ``datasets.Dataset`` with the same features as generated SpatialSoundQA."""
        import datasets

        from .records import features

        rows = self.records(stage, split, with_scene=with_scene, check=check)
        columns = {name: [row[name] for row in rows] for name in COLUMNS}
        return datasets.Dataset.from_dict(columns, features=features())

    def renderer(self, split: str, **kwargs) -> SceneRenderer:
        """A renderer over this release's RIRs and clips (same rendering as generated data)."""
        return SceneRenderer(self.rir_bank(split), self.catalogue(split), **kwargs)
