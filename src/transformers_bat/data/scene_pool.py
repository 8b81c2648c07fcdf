"""The metadata a split may draw scenes from: RIRs (room, direction, distance) and clips (class labels).

Built once from an RIR bank and a sound catalogue (or from plain arrays, for metadata-only generation), then held
as numpy columns so that sampling 100,000 records is a handful of vectorised operations. Splitting a pool gives
train/test pools with disjoint rooms and disjoint clips.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import labels as lb
from . import answers

# Direction words by code: axis = code // 2 in (lateral, frontal, vertical) order.
WORDS: tuple[str, ...] = ("left", "right", "front", "behind", "above", "below")
AXIS_NAMES: tuple[str, ...] = ("lateral", "frontal", "vertical")
# Position component (right, up, front) of each axis, and the word code of a positive offset on it.
AXIS_COMPONENT = np.array([0, 2, 1])
AXIS_POSITIVE_WORD = np.array([1, 2, 4])  # right, front, above
AXIS_NEGATIVE_WORD = np.array([0, 3, 5])  # left, behind, below


@dataclass
class ScenePool:
    """RIR and clip metadata, one numpy entry per RIR / clip.

    Attributes
    ----------
    reverb_ids, room_ids : (R,) str arrays
    azimuth_deg, elevation_deg, distance_m : (R,) float64 listener-frame source directions and distances
    clip_ids : (C,) str array
    clip_labels : list of C tuples of class display names
    sources : fingerprints of the RIR bank and sound catalogue the ids point into (``{"rir_bank": ...,
        "catalogue": ...}``; set by :meth:`from_sources`, ``None`` for metadata-only pools). A dataset records them
        and refuses, on read, a bank or catalogue with other fingerprints.
    """

    reverb_ids: np.ndarray
    room_ids: np.ndarray
    azimuth_deg: np.ndarray
    elevation_deg: np.ndarray
    distance_m: np.ndarray
    clip_ids: np.ndarray
    clip_labels: list[tuple[str, ...]]
    sources: dict[str, str] | None = None
    # derived
    octant: np.ndarray = field(init=False, repr=False)
    distance_bin: np.ndarray = field(init=False, repr=False)
    position_m: np.ndarray = field(init=False, repr=False)
    axis_words: np.ndarray = field(init=False, repr=False)
    room_code: np.ndarray = field(init=False, repr=False)
    class_names: tuple[str, ...] = field(init=False, repr=False)
    clip_label_bits: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.reverb_ids = np.asarray(self.reverb_ids, dtype=object)
        self.room_ids = np.asarray(self.room_ids, dtype=object)
        self.azimuth_deg = np.asarray(self.azimuth_deg, dtype=np.float64) % 360.0
        self.elevation_deg = np.asarray(self.elevation_deg, dtype=np.float64)
        self.distance_m = np.asarray(self.distance_m, dtype=np.float64)
        self.clip_ids = np.asarray(self.clip_ids, dtype=object)
        self.clip_labels = [tuple(names) for names in self.clip_labels]
        num_rirs = len(self.reverb_ids)
        for name in ("room_ids", "azimuth_deg", "elevation_deg", "distance_m"):
            if len(getattr(self, name)) != num_rirs:
                raise ValueError(f"ScenePool: {name} has {len(getattr(self, name))} entries, reverb_ids {num_rirs}")
        if len(self.clip_labels) != len(self.clip_ids):
            raise ValueError(f"ScenePool: {len(self.clip_ids)} clip ids but {len(self.clip_labels)} label lists")
        if len(set(self.reverb_ids.tolist())) != num_rirs or len(set(self.clip_ids.tolist())) != len(self.clip_ids):
            raise ValueError("ScenePool: reverb ids and clip ids must be unique")
        empty = [cid for cid, names in zip(self.clip_ids, self.clip_labels) if not names]
        if empty:
            raise ValueError(f"ScenePool: {len(empty)} clips have no class label, e.g. {empty[:3]}")
        self.octant = np.array(
            [lb.octant_index(a, e) for a, e in zip(self.azimuth_deg, self.elevation_deg)], dtype=np.int64
        ).reshape(num_rirs)
        self.distance_bin = lb.distance_to_index(self.distance_m).reshape(num_rirs)
        self.position_m = answers.position_m(self.azimuth_deg, self.elevation_deg, self.distance_m).reshape(-1, 3)
        # word code of each RIR on each axis (columns: lateral, frontal, vertical)
        self.axis_words = np.stack(
            [(self.octant >> 2) & 1 ^ 1, 2 + ((self.octant >> 1) & 1), 4 + (self.octant & 1)], axis=1
        ).reshape(num_rirs, 3)
        _, self.room_code = np.unique(self.room_ids.astype(str), return_inverse=True)
        self.room_code = self.room_code.reshape(num_rirs)
        self.class_names = tuple(sorted({name for names in self.clip_labels for name in names}))
        index = {name: k for k, name in enumerate(self.class_names)}
        matrix = np.zeros((len(self.clip_ids), max(1, len(self.class_names))), dtype=bool)
        for row, names in enumerate(self.clip_labels):
            matrix[row, [index[name] for name in names]] = True
        self.clip_label_bits = np.packbits(matrix, axis=1)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_sources(cls, bank, catalogue, reverb_ids: Sequence[str] | None = None, clip_ids=None) -> ScenePool:
        """Read the metadata of an RIR bank (``ids``/``info``) and a sound catalogue (``ids``/``labels``)."""
        reverb_ids = list(bank.ids if reverb_ids is None else reverb_ids)
        clip_ids = list(catalogue.ids if clip_ids is None else clip_ids)
        if not reverb_ids:
            raise ValueError(f"The RIR bank {bank!r} holds no RIRs")
        if not clip_ids:
            raise ValueError(f"The sound catalogue {catalogue!r} holds no clips")
        infos = [bank.info(rid) for rid in reverb_ids]
        return cls(
            reverb_ids=np.array(reverb_ids, dtype=object),
            room_ids=np.array([str(i.room_id) for i in infos], dtype=object),
            azimuth_deg=np.array([i.azimuth_deg for i in infos]),
            elevation_deg=np.array([i.elevation_deg for i in infos]),
            distance_m=np.array([i.distance_m for i in infos]),
            clip_ids=np.array(clip_ids, dtype=object),
            clip_labels=[tuple(catalogue.labels(cid)) for cid in clip_ids],
            sources={"rir_bank": bank.fingerprint(), "catalogue": catalogue.fingerprint()},
        )

    @classmethod
    def synthetic(
        cls, num_rooms: int = 20, rirs_per_room: int = 50, num_clips: int = 500, num_classes: int = 24, seed: int = 0
    ) -> ScenePool:
        """A metadata-only pool of random directions/distances and random 1-3 label clips (tests, benchmarks)."""
        rng = np.random.default_rng([seed, 0x9001])
        num_rirs = num_rooms * rirs_per_room
        classes = [f"class {k:03d}" for k in range(num_classes)]
        label_counts = rng.integers(1, 4, num_clips)
        return cls(
            reverb_ids=np.array([f"room{r:04d}/{k}.npy" for r in range(num_rooms) for k in range(rirs_per_room)]),
            room_ids=np.array([f"room{r:04d}" for r in range(num_rooms) for _ in range(rirs_per_room)]),
            azimuth_deg=rng.uniform(0.0, 360.0, num_rirs),
            elevation_deg=np.degrees(np.arcsin(rng.uniform(-0.8, 0.8, num_rirs))),
            distance_m=rng.uniform(0.5, 9.5, num_rirs),
            clip_ids=np.array([f"synthetic/clip{c:06d}" for c in range(num_clips)]),
            clip_labels=[tuple(rng.choice(classes, size=k, replace=False)) for k in label_counts],
        )

    def subset(self, rir_mask: np.ndarray, clip_mask: np.ndarray) -> ScenePool:
        """A pool with only the selected RIRs and clips."""
        return ScenePool(
            reverb_ids=self.reverb_ids[rir_mask],
            room_ids=self.room_ids[rir_mask],
            azimuth_deg=self.azimuth_deg[rir_mask],
            elevation_deg=self.elevation_deg[rir_mask],
            distance_m=self.distance_m[rir_mask],
            clip_ids=self.clip_ids[clip_mask],
            clip_labels=[names for names, keep in zip(self.clip_labels, clip_mask) if keep],
            sources=self.sources,
        )

    # ------------------------------------------------------------------ properties
    @property
    def num_rirs(self) -> int:
        return len(self.reverb_ids)

    @property
    def num_clips(self) -> int:
        return len(self.clip_ids)

    def fingerprint(self) -> str:
        """A short hash of everything that influences generation (for resume safety)."""
        digest = hashlib.sha256()
        for array in (self.reverb_ids, self.room_ids, self.clip_ids):
            digest.update("\x1f".join(map(str, array)).encode())
        for array in (self.azimuth_deg, self.elevation_deg, self.distance_m):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update("\x1e".join("\x1f".join(names) for names in self.clip_labels).encode())
        return digest.hexdigest()[:16]

    def away_from_planes(self, margin_deg: float) -> np.ndarray:
        """(R,) bool: RIRs at least ``margin_deg`` from every octant boundary plane (unambiguous octant words)."""
        to_plane = np.abs(((self.azimuth_deg + 45.0) % 90.0) - 45.0)
        return (to_plane >= margin_deg) & (np.abs(self.elevation_deg) >= margin_deg)


def split_scene_pool(
    pool: ScenePool,
    test_fraction: float = 0.2,
    seed: int = 0,
    test_rooms: Sequence[str] | None = None,
    test_clips: Sequence[str] | None = None,
) -> dict[str, ScenePool]:
    """Train/test pools with disjoint rooms and disjoint clips.

    Rooms and clips go to test at random (``test_fraction`` of each, at least one) unless listed explicitly.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng([seed, 0x5B117])
    rooms = np.unique(pool.room_ids.astype(str))
    if test_rooms is None:
        if len(rooms) < 2:
            raise ValueError(f"Need at least 2 rooms to split train/test by room, the RIR bank has {len(rooms)}")
        count = min(len(rooms) - 1, max(1, round(test_fraction * len(rooms))))
        test_rooms = rng.permutation(rooms)[:count]
    if test_clips is None:
        if pool.num_clips < 2:
            raise ValueError(f"Need at least 2 clips to split train/test, the catalogue has {pool.num_clips}")
        count = min(pool.num_clips - 1, max(1, round(test_fraction * pool.num_clips)))
        test_clips = pool.clip_ids[rng.permutation(pool.num_clips)[:count]]
    rir_test = np.isin(pool.room_ids.astype(str), np.asarray(list(test_rooms), dtype=str))
    clip_test = np.isin(pool.clip_ids.astype(str), np.asarray(list(test_clips), dtype=str))
    return {
        "train": pool.subset(~rir_test, ~clip_test),
        "test": pool.subset(rir_test, clip_test),
    }
