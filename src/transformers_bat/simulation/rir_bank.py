"""RIR banks: render many binaural RIRs to sharded files, and read our banks or the authors' ``mp3d_reverb``.

Our bank directory::

    bank.json                      settings (seed, HRTF, rooms, placement, shard size); fixed at creation
    shards/shard-00000.npy         (n, 2, L) float32, zero-padded to the longest RIR of the shard
    shards/shard-00000.json        {"data": [record, ...], "shard_file": {name, bytes, sha256}} (after the .npy)
    reverberation.json             all records + every shard's size and SHA-256, written when all are complete

Records follow the authors' ``*_reverberation.json`` schema (``fname``, ``sensor_position``,
``source_position``, ``agent_position`` as "x,y,z" strings) extended with heading, room, RT60, labels and
where the samples are. Positions are in the simulator frame (z up) for our banks.

RIR ``i`` depends only on (seed, i) and the settings, so any worker count, and any resumed run, gives the same
bytes. Every file is written to a temporary name and renamed; a shard counts as done when its JSON exists and its
``.npy`` still has the recorded size and hash. Opening a bank checks every shard's size (a truncated shard is named
with how to repair it); :meth:`SimulatedRIRBank.verify` (``transformers-bat verify``) checks the hashes too.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import labels
from ..audio_format import SAMPLE_RATE
from ..files import (
    CorruptFileError,
    atomic_write,
    atomic_write_json,
    file_digest,
    file_problem,
    read_json,
    short_hash,
)
from ..worker_processes import exit_with_parent
from .geometry import AUTHORS_FRAME, label_from_offset, listener_offset
from .rir_rendering import BinauralRenderer, PlacementConfig, Scene, place_source, target_for_index
from .rooms import sample_room

BANK_FORMAT = "transformers-bat-rir-bank"
BANK_VERSION = 1
SETTINGS_FILE = "bank.json"
MERGED_FILE = "reverberation.json"
SHARD_DIR = "shards"
# Settings that do not change any RIR's bytes (RIR i is the same in a bank of 100 and of 10,000): not fingerprinted
NOT_FINGERPRINTED = ("num_rirs", "shard_size")
REPAIR_HINT = "delete it (and its .json) and rerun render-rirs with the same settings to render it again"

logger = logging.getLogger(__name__)


class RIRFileError(OSError):
    """An RIR file exists in the index but cannot be read as a (2, L) array."""


# ----------------------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, kw_only=True)
class RIRInfo(labels.Placement):
    """What is known about one RIR of a bank.

    Positions are in the bank's own world frame: the authors' (+x right, +y up, -z front) for their release, our
    simulator's (z up) for simulated banks. ``heading_deg`` is the yaw the listener faces in the simulator frame
    (counter-clockwise from +x; ``None`` for the authors' data, whose labels come from world-frame offsets).
    Angles, distance and indices follow :mod:`transformers_bat.labels`; ``rt60_s`` is the target RT60.
    """

    reverb_id: str
    room_id: str
    source_position: tuple[float, float, float]
    listener_position: tuple[float, float, float]
    heading_deg: float | None = None
    rt60_s: float | None = None

    @property
    def distance_bin_m(self) -> float:
        """The distance class in metres (0.5 m steps), as SpatialSoundQA answers state it."""
        return float(labels.index_to_distance(self.distance_index))


def _xyz_text(position) -> str:
    return ",".join(repr(float(v)) for v in position)


def _parse_xyz(text, where: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in (text.split(",") if isinstance(text, str) else text))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: cannot parse position {text!r}") from error
    if len(values) != 3:
        raise ValueError(f"{where}: position {text!r} does not have 3 coordinates")
    return values


# ----------------------------------------------------------------------------------------------------------------
# Reading


class RIRBank:
    """A read-only collection of binaural RIRs. Open either layout with :meth:`RIRBank.open`."""

    sample_rate: int = SAMPLE_RATE

    @staticmethod
    def open(path, split: str | None = "train") -> RIRBank:
        """Open our bank directory (has ``bank.json``) or the authors' ``mp3d_reverb`` directory
        (``binaural/`` and ``{split}_reverberation.json``; ``split=None`` reads every split's index).
        ``FileNotFoundError`` names what is missing."""
        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(f"RIR bank directory not found: {root}")
        if (root / SETTINGS_FILE).is_file():
            return SimulatedRIRBank(root)
        if (root / f"{split}_reverberation.json").is_file() or (root / "binaural").is_dir():
            return SoundSpacesRIRBank(root, split=split)
        raise FileNotFoundError(
            f"{root} is neither a simulated bank (no {SETTINGS_FILE}) nor the authors' mp3d_reverb layout "
            f"(no {split}_reverberation.json and no binaural/)"
        )

    def __init__(self, infos: list[RIRInfo]):
        self._infos = {info.reverb_id: info for info in infos}
        self._ids = [info.reverb_id for info in infos]

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[RIRInfo]:
        return (self._infos[reverb_id] for reverb_id in self._ids)

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def fingerprint(self) -> str:
        """A short hash of what decides the RIRs' bytes; datasets record it and refuse another bank on read."""
        raise NotImplementedError

    def info(self, reverb_id: str) -> RIRInfo:
        try:
            return self._infos[reverb_id]
        except KeyError:
            raise KeyError(f"unknown reverb id {reverb_id!r} in {self!r}") from None

    def load(self, reverb_id: str) -> np.ndarray:
        """The RIR (2, L) float32 at 32 kHz, row 0 = left ear."""
        raise NotImplementedError


class SoundSpacesRIRBank(RIRBank):
    """The authors' release: ``binaural/<scene>/<k>.npy`` (2, L) float64 and ``{split}_reverberation.json``.

    Labels come from world-frame offsets ``source - sensor`` (+x right, +y up, -z front); no heading, no RT60.
    """

    def __init__(self, root, split: str | None = "train"):
        self.root = Path(root)
        self.split = split
        if split is None:  # every split's index: ids resolve whichever split a dataset drew them from
            index_files = sorted(self.root.glob("*_reverberation.json"))
            if not index_files:
                raise FileNotFoundError(f"authors' RIR index not found: no *_reverberation.json in {self.root}")
        else:
            index_files = [self.root / f"{split}_reverberation.json"]
            if not index_files[0].is_file():
                raise FileNotFoundError(f"authors' RIR index not found: {index_files[0]}")
        if not (self.root / "binaural").is_dir():
            raise FileNotFoundError(f"authors' RIR folder not found: {self.root / 'binaural'}")
        infos, seen = [], {}
        for index_file in index_files:
            for record in _records_of(read_json(index_file), index_file):
                where = f"{index_file.name}: {record.get('fname')}"
                if seen.setdefault(record["fname"], record) is not record:
                    if seen[record["fname"]] != record:
                        raise ValueError(f"{where} is listed by two index files with different positions")
                    continue
                sensor = _parse_xyz(record["sensor_position"], where)
                source = _parse_xyz(record["source_position"], where)
                label = label_from_offset(listener_offset(source, sensor, None, AUTHORS_FRAME))
                infos.append(
                    RIRInfo(
                        reverb_id=record["fname"],
                        room_id=record["fname"].split("/")[0],
                        source_position=source,
                        listener_position=sensor,
                        azimuth_deg=label.azimuth_deg,
                        elevation_deg=label.elevation_deg,
                        distance_m=label.distance_m,
                    )
                )
        super().__init__(infos)

    def __repr__(self) -> str:
        return f"SoundSpacesRIRBank({str(self.root)!r}, split={self.split!r}, {len(self)} RIRs)"

    def fingerprint(self) -> str:
        """Hash of every split's index file (ids, positions, file names); the same whichever split is open."""
        indexes = sorted(self.root.glob("*_reverberation.json"))
        return short_hash(*(f"{path.name}:{file_digest(path)['sha256']}" for path in indexes))

    def load(self, reverb_id: str) -> np.ndarray:
        self.info(reverb_id)
        path = self.root / "binaural" / reverb_id
        try:
            rir = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            raise RIRFileError(f"cannot read RIR {reverb_id!r} from {path}: {error}") from error
        return _checked_rir(rir, path)


def _records_of(data, path) -> list:
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise CorruptFileError(f"{path} has no 'data' list of RIR records")
    return data["data"]


def _checked_rir(rir, path) -> np.ndarray:
    rir = np.asarray(rir)
    if rir.ndim != 2 or rir.shape[0] != 2 or rir.shape[1] == 0:
        raise RIRFileError(f"RIR at {path} has shape {rir.shape}; expected (2, L) with L > 0")
    if not np.all(np.isfinite(rir)):
        raise RIRFileError(f"RIR at {path} contains NaN or infinite values")
    return np.array(rir, dtype=np.float32, order="C", copy=True)  # writable, detached from any memory map


class SimulatedRIRBank(RIRBank):
    """A bank written by :func:`render_bank` (complete shards only, so a partial bank is readable too)."""

    def __init__(self, root):
        self.root = Path(root)
        settings_file = self.root / SETTINGS_FILE
        if not settings_file.is_file():
            raise FileNotFoundError(f"bank settings not found: {settings_file}")
        self.settings = read_json(settings_file, repair="it is written once when a bank is created; re-render")
        self.sample_rate = int(self.settings["sample_rate"])
        merged = self.root / MERGED_FILE
        # shard file name -> {"bytes", "sha256"} as written (absent for banks written before digests existed)
        self.shard_files: dict[str, dict] = {}
        if merged.is_file():
            data = read_json(merged, repair="delete it and rerun render-rirs with the same settings to rebuild it")
            records = _records_of(data, merged)
            self.shard_files = dict(data.get("shard_files", {}))
        else:
            records = []
            for shard_json in sorted((self.root / SHARD_DIR).glob("shard-*.json")):
                data = read_json(shard_json, repair=REPAIR_HINT.replace("its .json", "its .npy"))
                records.extend(_records_of(data, shard_json))
                if "shard_file" in data:
                    self.shard_files[data["shard_file"]["name"]] = data["shard_file"]
        self._records = {record["fname"]: record for record in records}
        self._shards: dict[str, np.ndarray] = {}
        self.verify(full=False)  # sizes only: a truncated shard is named now, not when one of its RIRs is read
        super().__init__([_info_from_record(record) for record in records])

    def fingerprint(self) -> str:
        """Hash of the settings that decide every RIR's bytes (seed, HRTF content, rooms, placement, renderer)."""
        return bank_fingerprint(self.settings)

    def verify(self, full: bool = True, raise_error: bool = True) -> list[str]:
        """Problems with the shard files: missing, wrong size, and (``full``) wrong SHA-256. Cheap without ``full``.

        Raises :class:`RIRFileError` listing them (each with how to repair it) unless ``raise_error`` is False.
        """
        problems = []
        for name in sorted({record["shard"] for record in self._records.values()}):
            path = self.root / SHARD_DIR / name
            if name in self.shard_files:
                problem = file_problem(path, self.shard_files[name], full=full)
            else:
                problem = None if path.is_file() else f"{path} is missing"
            if problem:
                problems.append(f"{problem}: {REPAIR_HINT}")
        if problems and raise_error:
            raise RIRFileError(f"RIR bank {self.root} is damaged:\n  " + "\n  ".join(problems))
        return problems

    def __repr__(self) -> str:
        return f"SimulatedRIRBank({str(self.root)!r}, {len(self)} RIRs)"

    def record(self, reverb_id: str) -> dict:
        """The full metadata record (room geometry, absorption, shard location...)."""
        self.info(reverb_id)
        return self._records[reverb_id]

    def load(self, reverb_id: str) -> np.ndarray:
        record = self.record(reverb_id)
        path = self.root / SHARD_DIR / record["shard"]
        if record["shard"] not in self._shards:
            try:
                self._shards[record["shard"]] = np.load(path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, EOFError) as error:
                raise RIRFileError(
                    f"cannot read RIR shard {path} (for {reverb_id!r}): {error}; {REPAIR_HINT}"
                ) from error
        shard = self._shards[record["shard"]]
        try:
            rir = shard[int(record["shard_offset"]), :, : int(record["num_samples"])]
        except (IndexError, ValueError) as error:
            raise RIRFileError(f"shard {path} has no RIR {reverb_id!r} at offset {record['shard_offset']}") from error
        return _checked_rir(rir, path)


def _info_from_record(record: dict) -> RIRInfo:
    return RIRInfo(
        reverb_id=record["fname"],
        room_id=record["room_id"],
        azimuth_deg=float(record["azimuth_deg"]),
        elevation_deg=float(record["elevation_deg"]),
        distance_m=float(record["distance_m"]),
        source_position=_parse_xyz(record["source_position"], record["fname"]),
        listener_position=_parse_xyz(record["sensor_position"], record["fname"]),
        heading_deg=float(record["heading_deg"]),
        rt60_s=float(record["rt60_s"]),
    )


# ----------------------------------------------------------------------------------------------------------------
# Writing


@dataclass(frozen=True)
class BankSettings:
    """Everything that decides the bytes of a bank (saved as ``bank.json``; a resume must match it)."""

    seed: int
    num_rirs: int
    shard_size: int = 64
    hrtf: str = "kemar"
    sample_rate: int = SAMPLE_RATE
    rirs_per_room: int = 8
    rt60_range_s: tuple[float, float] = (0.2, 0.8)
    side_range_m: tuple[float, float] = (3.0, 10.0)
    height_range_m: tuple[float, float] = (2.5, 3.5)
    polygon_probability: float = 0.4
    max_order: int = 3
    max_rir_s: float = 2.0
    placement: PlacementConfig = field(default_factory=PlacementConfig)
    # SHA-256 of the HRTF's data (see hrtf_content_hash); filled in by render_bank, checked on every resume
    hrtf_sha256: str | None = None

    def __post_init__(self):
        if self.num_rirs < 1 or self.shard_size < 1 or self.rirs_per_room < 1:
            raise ValueError("num_rirs, shard_size and rirs_per_room must be positive")

    @property
    def num_shards(self) -> int:
        return -(-self.num_rirs // self.shard_size)

    def to_json(self) -> dict:
        data = asdict(self)
        data = json.loads(json.dumps(data))  # tuples -> lists, as they come back from disk
        return {"format": BANK_FORMAT, "version": BANK_VERSION, "world_frame": "simulator (z up)", **data}

    @classmethod
    def from_json(cls, data: dict) -> BankSettings:
        data = {k: v for k, v in data.items() if k not in ("format", "version", "world_frame")}
        placement = dict(data.pop("placement"))
        placement["distance_index_range"] = tuple(placement["distance_index_range"])
        tuples = ("rt60_range_s", "side_range_m", "height_range_m")
        return cls(
            **{k: tuple(v) if k in tuples else v for k, v in data.items()}, placement=PlacementConfig(**placement)
        )


def scene_for_index(settings: BankSettings, index: int, elevation_range_deg=(-90.0, 90.0)) -> Scene:
    """The scene of RIR ``index``: a function of (settings, index) only.

    Rooms are shared by ``rirs_per_room`` consecutive RIRs (like the authors' ~10 per room); each RIR has its
    own listener pose. The room is made long enough for the farthest target of its group.
    """
    config = settings.placement
    group = index // settings.rirs_per_room
    members = range(group * settings.rirs_per_room, (group + 1) * settings.rirs_per_room)
    farthest_m = max(target_for_index(j, settings.seed, config).distance_index for j in members) * 0.5 + 0.25
    room_options = dict(
        rt60_range_s=settings.rt60_range_s,
        side_range_m=settings.side_range_m,
        height_range_m=settings.height_range_m,
        polygon_probability=settings.polygon_probability,
        min_long_side_m=farthest_m + 1.5,
    )
    target = target_for_index(index, settings.seed, config)
    room = sample_room(np.random.default_rng([settings.seed, group, 1]), f"room{group:06d}", **room_options)
    scene = place_source(room, target, np.random.default_rng([settings.seed, index, 2]), elevation_range_deg, config)
    attempt = 0
    while scene is None:
        # the shared room cannot hold this target: give this RIR a room of its own (still deterministic)
        attempt += 1
        if attempt > 50:
            raise RuntimeError(f"could not place RIR {index} ({target}) in 50 rooms; widen side_range_m")
        rng = np.random.default_rng([settings.seed, index, 3, attempt])
        room = sample_room(rng, f"room{group:06d}-{index}", **room_options)
        scene = place_source(room, target, rng, elevation_range_deg, config)
    return scene


def _record(index: int, scene: Scene, shard: str, offset: int, num_samples: int) -> dict:
    listener = scene.listener_position
    room_id = scene.room.room_id
    return {
        "fname": f"{room_id}/{index:06d}",
        "sensor_position": _xyz_text(listener),
        "source_position": _xyz_text(scene.source_position),
        "agent_position": _xyz_text((listener[0], listener[1], 0.0)),
        "heading_deg": scene.heading_deg,
        "room_id": room_id,
        "rt60_s": scene.room.rt60_s,
        "room": scene.room.to_dict(),
        **scene.label.placement_fields(),
        "index": index,
        "shard": shard,
        "shard_offset": offset,
        "num_samples": num_samples,
    }


_WORKER: dict = {}


def _init_worker(settings_json: dict, parent_pid: int | None = None) -> None:
    from .hrtf import hrtf_content_hash, load_hrir_set

    if parent_pid is not None:
        exit_with_parent(parent_pid)

    settings = BankSettings.from_json(settings_json)
    if settings.hrtf_sha256 is not None and hrtf_content_hash(settings.hrtf) != settings.hrtf_sha256:
        raise ValueError(f"the HRTF {settings.hrtf} changed while the bank was rendering; restore it and rerun")
    hrir_set = load_hrir_set(settings.hrtf, settings.sample_rate)
    _WORKER["settings"] = settings
    _WORKER["elevation_range"] = (hrir_set.min_elevation_deg, hrir_set.max_elevation_deg)
    _WORKER["renderer"] = BinauralRenderer(
        hrir_set, settings.sample_rate, max_order=settings.max_order, max_rir_s=settings.max_rir_s
    )


def _render_index(index: int) -> tuple[int, Scene, np.ndarray]:
    settings = _WORKER["settings"]
    scene = scene_for_index(settings, index, _WORKER["elevation_range"])
    return index, scene, _WORKER["renderer"].render(scene, [settings.seed, index])


def bank_fingerprint(settings_json: dict) -> str:
    """Short hash of a bank's settings without those that leave each RIR's bytes unchanged (count, shard size)."""
    kept = {key: value for key, value in settings_json.items() if key not in NOT_FINGERPRINTED}
    return short_hash(json.dumps(kept, sort_keys=True, separators=(",", ":")))


def _write_shard(shard_dir: Path, shard_index: int, results: list) -> None:
    name = f"shard-{shard_index:05d}"
    length = max(rir.shape[1] for _, _, rir in results)
    samples = np.zeros((len(results), 2, length), dtype=np.float32)
    records = []
    for offset, (index, scene, rir) in enumerate(results):
        samples[offset, :, : rir.shape[1]] = rir
        records.append(_record(index, scene, f"{name}.npy", offset, rir.shape[1]))
    atomic_write(shard_dir / f"{name}.npy", lambda handle: np.save(handle, samples, allow_pickle=False))
    shard_file = {"name": f"{name}.npy", **file_digest(shard_dir / f"{name}.npy")}
    atomic_write_json(shard_dir / f"{name}.json", {"data": records, "shard_file": shard_file})


def _finished_shard_problem(shard_dir: Path, shard_index: int) -> str | None:
    """Why a shard whose JSON exists cannot be kept on resume (size check; older banks: the array's shape)."""
    name = f"shard-{shard_index:05d}"
    try:
        data = read_json(shard_dir / f"{name}.json")
        records = _records_of(data, shard_dir / f"{name}.json")
    except CorruptFileError as error:
        return str(error)
    if "shard_file" in data:
        return file_problem(shard_dir / f"{name}.npy", data["shard_file"])
    try:  # written before digests were recorded: the array must at least open with every RIR in it
        shape = np.load(shard_dir / f"{name}.npy", mmap_mode="r", allow_pickle=False).shape
    except (OSError, ValueError, EOFError) as error:
        return f"{shard_dir / name}.npy cannot be read: {error}"
    if len(shape) != 3 or shape[0] != len(records):
        return f"{shard_dir / name}.npy has shape {shape}, its JSON lists {len(records)} RIRs"
    return None


def _settings_to_write(output_dir: Path, settings: BankSettings) -> BankSettings:
    """The settings of the bank at ``output_dir``: new ones, or the existing ones if they match (else ValueError)."""
    from .hrtf import hrtf_content_hash

    if settings.hrtf_sha256 is None:
        settings = replace(settings, hrtf_sha256=hrtf_content_hash(settings.hrtf))
    settings_json = settings.to_json()
    settings_file = output_dir / SETTINGS_FILE
    if not settings_file.is_file():
        if output_dir.exists() and any(output_dir.iterdir()):
            raise ValueError(f"{output_dir} exists, is not empty and is not a RIR bank; choose an empty directory")
        return settings
    existing = read_json(settings_file, repair="it is written once when a bank is created; render a new bank")
    if "hrtf_sha256" not in existing:  # a bank started before HRTF hashes were recorded
        settings_json.pop("hrtf_sha256")
    if existing == settings_json:
        return BankSettings.from_json(existing)
    changed = sorted(k for k in set(existing) | set(settings_json) if existing.get(k) != settings_json.get(k))
    if changed == ["hrtf_sha256"]:
        raise ValueError(
            f"the HRTF {settings.hrtf} has changed since the bank at {output_dir} was started (SHA-256 "
            f"{existing['hrtf_sha256'][:16]}... then, {settings.hrtf_sha256[:16]}... now): resuming would mix two "
            "heads; restore the original file or render into a new directory"
        )
    raise ValueError(f"{output_dir} holds a bank made with other settings ({', '.join(changed)} differ)")


def render_bank(output_dir, settings: BankSettings, num_workers: int = 1, progress: bool = True) -> Path:
    """Render (or finish) a bank; returns the merged metadata path.

    Complete shards of an earlier, interrupted run with the same settings (and the same HRTF bytes) are kept; a
    finished shard whose ``.npy`` no longer has its recorded size is rendered again (with a warning). A directory
    made with other settings raises ``ValueError``. Workers use the spawn start method and each loads the HRIRs
    once; with ``num_workers > 1`` a script must call this under ``if __name__ == "__main__":``.
    """
    from tqdm.auto import tqdm

    from .hrtf import load_hrir_set

    output_dir = Path(output_dir)
    shard_dir = output_dir / SHARD_DIR
    load_hrir_set(settings.hrtf, settings.sample_rate)  # fail early (unreadable or invalid HRTF), before any write
    settings = _settings_to_write(output_dir, settings)
    settings_json = settings.to_json()
    settings_file = output_dir / SETTINGS_FILE
    shard_dir.mkdir(parents=True, exist_ok=True)
    if not settings_file.is_file():
        atomic_write_json(settings_file, settings_json)
    for stale in shard_dir.glob("*.tmp-*"):
        stale.unlink()  # left by a killed run; its shard is re-rendered below
    todo = []
    for s in range(settings.num_shards):
        if not (shard_dir / f"shard-{s:05d}.json").is_file():
            todo.append(s)
            continue
        problem = _finished_shard_problem(shard_dir, s)
        if problem:
            logger.warning("%s; rendering shard %d again", problem, s)
            for suffix in (".json", ".npy"):
                (shard_dir / f"shard-{s:05d}{suffix}").unlink(missing_ok=True)
            todo.append(s)
    indices = [
        i for s in todo for i in range(s * settings.shard_size, min((s + 1) * settings.shard_size, settings.num_rirs))
    ]
    bar = tqdm(total=settings.num_rirs, initial=settings.num_rirs - len(indices), unit="RIR", disable=not progress)
    executor = None
    try:
        if num_workers > 1 and len(indices) > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # a worker that dies (or a script without an ``if __name__ == "__main__":`` guard) raises
            # BrokenProcessPool here instead of hanging
            executor = ProcessPoolExecutor(
                num_workers, multiprocessing.get_context("spawn"), _init_worker, (settings_json, os.getpid())
            )
            results = executor.map(_render_index, indices)
        else:
            _init_worker(settings_json)
            results = map(_render_index, indices)
        pending: list = []
        for result in results:
            pending.append(result)
            bar.update(1)
            shard_index = result[0] // settings.shard_size
            shard_end = min((shard_index + 1) * settings.shard_size, settings.num_rirs)
            if result[0] == shard_end - 1:
                _write_shard(shard_dir, shard_index, pending)
                pending = []
    finally:
        bar.close()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    records, shard_files = [], {}
    for s in range(settings.num_shards):
        data = read_json(shard_dir / f"shard-{s:05d}.json")
        records.extend(data["data"])
        if "shard_file" in data:
            shard_files[data["shard_file"]["name"]] = data["shard_file"]
    merged = output_dir / MERGED_FILE
    atomic_write_json(merged, {"data": records, "shard_files": shard_files})
    return merged
