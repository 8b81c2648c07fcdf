"""Scenes (room + listener pose + source) and their binaural RIRs rendered with pyroomacoustics.

Labels are sampled first (octant and distance bin, see :func:`target_for_index`) and the source is then placed to
match them, so a bank stays balanced over octants and distance bins. Every random choice takes an explicit
``numpy.random.Generator``; the global RNG of pyroomacoustics' ray tracer is seeded per render.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import labels
from ..audio_format import SAMPLE_RATE
from .geometry import SIMULATOR_FRAME, octant_ranges, spatial_label, world_position
from .hrtf import HRIRSet, oriented
from .rooms import RoomSpec, build_room

EAR_HEIGHT_RANGE_M = (1.5, 1.7)  # a standing listener's ears


@dataclass(frozen=True)
class LabelTarget:
    """What a source should be: octant 0..7 (``4 * is_left + 2 * is_behind + is_below``) and distance bin."""

    octant: int
    distance_index: int


@dataclass(frozen=True)
class Scene:
    """One source heard by one listener in one room (simulator frame, z up)."""

    room: RoomSpec
    listener_position: tuple[float, float, float]
    heading_deg: float
    source_position: tuple[float, float, float]
    label: labels.Placement = field(init=False, compare=False)

    def __post_init__(self):
        for name in ("listener_position", "source_position"):
            position = getattr(self, name)
            if not self.room.contains(position):
                raise ValueError(f"{name} {tuple(round(v, 3) for v in position)} is outside room {self.room.room_id}")
        label = spatial_label(self.source_position, self.listener_position, self.heading_deg, SIMULATOR_FRAME)
        if label.distance_m < 0.1:
            raise ValueError(f"source and listener are {label.distance_m:.3f} m apart; need at least 0.1 m")
        object.__setattr__(self, "label", label)


@dataclass(frozen=True)
class PlacementConfig:
    """How sources and listeners are placed.

    Attributes:
        distance_index_range: inclusive distance bins to draw from (0.5 m each; (2, 12) = 1-6 m).
        plane_margin_deg: keep directions this far from the median, frontal and horizontal planes so that every
            octant word is unambiguous.
        wall_margin_m: minimum distance of the source from every surface; the listener keeps 0.5 m.
        max_tries: listener poses tried per room before giving up.
    """

    distance_index_range: tuple[int, int] = (2, 12)
    plane_margin_deg: float = 5.0
    wall_margin_m: float = 0.3
    max_tries: int = 300

    @property
    def num_distance_bins(self) -> int:
        return self.distance_index_range[1] - self.distance_index_range[0] + 1


def target_for_index(index: int, seed: int, config: PlacementConfig = PlacementConfig()) -> LabelTarget:
    """Balanced targets: each block of ``8 * num_distance_bins`` consecutive indices holds every
    (octant, distance bin) pair once, in a seeded random order."""
    block_size = 8 * config.num_distance_bins
    block, offset = divmod(int(index), block_size)
    permutation = np.random.default_rng([int(seed), block, 7]).permutation(block_size)
    pair = int(permutation[offset])
    return LabelTarget(octant=pair % 8, distance_index=config.distance_index_range[0] + pair // 8)


def place_source(
    room: RoomSpec,
    target: LabelTarget,
    rng: np.random.Generator,
    elevation_range_deg: tuple[float, float] = (-90.0, 90.0),
    config: PlacementConfig = PlacementConfig(),
) -> Scene | None:
    """A scene in ``room`` whose source has the target octant and distance bin, or ``None`` if none was found.

    The listener stands at ear height with a uniform random heading; the source direction is uniform on the sphere
    inside the octant (and inside the HRIR set's elevation range), its distance uniform inside the bin.
    """
    azimuth_range, octant_elevation = octant_ranges(target.octant, config.plane_margin_deg)
    distance_m = float(rng.uniform(target.distance_index - 0.5, target.distance_index + 0.5) * labels.DISTANCE_BIN_M)
    distance_m = max(distance_m, 0.3)
    floor = np.asarray(room.floor_xy)
    low_xy, high_xy = floor.min(axis=0), floor.max(axis=0)
    margin = config.wall_margin_m
    for _ in range(config.max_tries):
        listener = np.array([*rng.uniform(low_xy, high_xy), rng.uniform(*EAR_HEIGHT_RANGE_M)])
        heading_deg = float(rng.uniform(0.0, 360.0))
        # elevations whose height stays between floor and ceiling (with margin), the octant's and the HRIR set's
        reach_up = (room.height_m - margin - listener[2]) / distance_m
        reach_down = (margin - listener[2]) / distance_m
        low_el = max(octant_elevation[0], elevation_range_deg[0], math.degrees(math.asin(np.clip(reach_down, -1, 1))))
        high_el = min(octant_elevation[1], elevation_range_deg[1], math.degrees(math.asin(np.clip(reach_up, -1, 1))))
        if low_el >= high_el or not room.contains(listener, margin_m=0.5):
            continue
        sin_el = rng.uniform(math.sin(math.radians(low_el)), math.sin(math.radians(high_el)))
        elevation_deg = math.degrees(math.asin(sin_el))
        azimuth_deg = float(rng.uniform(*azimuth_range))
        source = world_position(listener, heading_deg, azimuth_deg, elevation_deg, distance_m)
        if room.contains(source, margin_m=margin):
            return Scene(room, tuple(float(v) for v in listener), heading_deg, tuple(float(v) for v in source))
    return None


class BinauralRenderer:
    """Renders binaural RIRs of scenes with one HRIR set (pyroomacoustics hybrid: image sources + ray tracing).

    The two ear directivities are built once here and re-oriented per listener heading.

    Args:
        hrir_set: the listener's HRIRs (resampled to ``sample_rate``).
        max_order: image-source order; ray tracing covers the late reverberation.
        max_rir_s: RIRs are rendered up to ``min(max_rir_s, 1.1 * rt60 + 0.1)`` seconds and cropped to
            ``max_rir_s``.
        ray_tracing: ``False`` renders image sources only (fast, for tests of the direct path).
        n_rays: rays per render; ``None`` lets pyroomacoustics choose from the room volume.
    """

    def __init__(
        self,
        hrir_set: HRIRSet,
        sample_rate: int = SAMPLE_RATE,
        max_order: int = 3,
        max_rir_s: float = 2.0,
        ray_tracing: bool = True,
        n_rays: int | None = None,
    ):
        if hrir_set.sample_rate != sample_rate:
            raise ValueError(f"HRIR set is at {hrir_set.sample_rate} Hz, renderer at {sample_rate} Hz")
        self.hrir_set = hrir_set
        self.sample_rate = int(sample_rate)
        self.max_order = int(max_order)
        self.max_rir_s = float(max_rir_s)
        self.ray_tracing = bool(ray_tracing)
        self.n_rays = n_rays
        self._directivities = hrir_set.directivities()

    def render(self, scene: Scene, seed, timings: dict | None = None) -> np.ndarray:
        """Binaural RIR (2, L) float32 (row 0 = left ear) of a scene; ``seed`` (int or sequence) fixes the ray
        tracer so the same scene and seed give identical bytes. Never normalised (level is the distance cue).

        ``timings``, if given, accumulates seconds per step ("room", "image_sources", "ray_tracing", "assembly").
        """
        import pyroomacoustics as pra

        clock = [time.perf_counter()]

        def lap(step: str) -> None:
            clock.append(time.perf_counter())
            if timings is not None:
                timings[step] = timings.get(step, 0.0) + clock[-1] - clock[-2]

        duration_s = min(self.max_rir_s, 1.1 * scene.room.rt60_s + 0.1)
        room = build_room(
            scene.room,
            self.sample_rate,
            max_order=self.max_order,
            ray_tracing=self.ray_tracing,
            n_rays=self.n_rays,
            time_thres=duration_s,
        )
        room.add_source(list(scene.source_position))
        for directivity in self._directivities:
            room.add_microphone(list(scene.listener_position), directivity=oriented(directivity, scene.heading_deg))
        seed_sequence = np.random.SeedSequence(seed)
        numpy_seed, libroom_seed = seed_sequence.generate_state(2, dtype=np.uint32)
        pra.random.seed(numpy=int(numpy_seed), libroom=int(libroom_seed))
        lap("room")
        room.image_source_model()
        lap("image_sources")
        if self.ray_tracing:
            room.ray_tracing()
        lap("ray_tracing")
        room.compute_rir()  # combines the two parts, convolving each echo with the HRIR of its direction
        max_samples = int(round(self.max_rir_s * self.sample_rate))
        length = min(max_samples, max(len(room.rir[0][0]), len(room.rir[1][0])))
        rir = np.zeros((2, length), dtype=np.float32)
        for ear in range(2):
            response = np.asarray(room.rir[ear][0][:length], dtype=np.float32)
            rir[ear, : len(response)] = response
        if not np.all(np.isfinite(rir)):
            raise FloatingPointError(f"non-finite RIR for room {scene.room.room_id} (seed {seed})")
        lap("assembly")
        return rir
