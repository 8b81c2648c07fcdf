"""Rooms: a small value object, a random sampler and the pyroomacoustics room it builds.

A room is a floor polygon (counter-clockwise, metres, z = 0) extruded to ``height_m``, with one uniform
absorption coefficient chosen by Sabine's formula to reach a target RT60, and a little scattering. Shoeboxes are
the 4-corner case. Positions use the simulator frame (x, y on the floor, z up).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

SPEED_OF_SOUND_M_S = 343.0
MIN_ROOM_SIDE_M = 1.5
MIN_ROOM_HEIGHT_M = 2.0
MAX_ABSORPTION = 0.95


@dataclass(frozen=True)
class RoomSpec:
    """One room.

    Attributes:
        room_id: name used in bank ids and metadata.
        floor_xy: ((x, y), ...) floor corners in metres, counter-clockwise, no repeated closing corner.
        height_m: ceiling height.
        rt60_s: the target reverberation time the absorption was chosen for.
        absorption: uniform energy absorption coefficient of every surface (single band).
        scattering: uniform scattering coefficient (ray tracing).
        kind: "shoebox" or "polygon".
    """

    room_id: str
    floor_xy: tuple[tuple[float, float], ...]
    height_m: float
    rt60_s: float
    absorption: float
    scattering: float = 0.1
    kind: str = "polygon"

    def __post_init__(self):
        validate_floor(self.floor_xy, self.height_m)
        if not 0.0 < self.absorption <= 1.0:
            raise ValueError(f"room {self.room_id}: absorption must be in (0, 1], got {self.absorption}")
        if not 0.0 <= self.scattering <= 1.0:
            raise ValueError(f"room {self.room_id}: scattering must be in [0, 1], got {self.scattering}")

    @property
    def floor_area_m2(self) -> float:
        return polygon_area(self.floor_xy)

    @property
    def volume_m3(self) -> float:
        return self.floor_area_m2 * self.height_m

    @property
    def surface_m2(self) -> float:
        floor = np.asarray(self.floor_xy)
        perimeter = float(np.sum(np.linalg.norm(floor - np.roll(floor, -1, axis=0), axis=1)))
        return 2.0 * self.floor_area_m2 + perimeter * self.height_m

    def contains(self, position, margin_m: float = 0.0) -> bool:
        """Whether a point (3,) is inside the room and at least ``margin_m`` from every wall, floor and ceiling."""
        x, y, z = (float(v) for v in position)
        if not margin_m <= z <= self.height_m - margin_m:
            return False
        return point_in_polygon((x, y), self.floor_xy) and distance_to_boundary((x, y), self.floor_xy) >= margin_m

    def to_dict(self) -> dict:
        data = asdict(self)
        data["floor_xy"] = [list(corner) for corner in self.floor_xy]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> RoomSpec:
        data = dict(data)
        data["floor_xy"] = tuple(tuple(float(v) for v in corner) for corner in data["floor_xy"])
        return cls(**data)


def polygon_area(floor_xy) -> float:
    """Signed shoelace area; positive for counter-clockwise corners."""
    floor = np.asarray(floor_xy, dtype=np.float64)
    x, y = floor[:, 0], floor[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _segments_cross(p1, p2, q1, q2) -> bool:
    def orientation(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    return (
        orientation(p1, p2, q1) * orientation(p1, p2, q2) < 0 and orientation(q1, q2, p1) * orientation(q1, q2, p2) < 0
    )


def validate_floor(floor_xy, height_m: float) -> None:
    """Raise ``ValueError`` for a degenerate room: < 3 corners, non-finite, too small, clockwise or self-crossing."""
    floor = np.asarray(floor_xy, dtype=np.float64)
    if floor.ndim != 2 or floor.shape[1] != 2 or floor.shape[0] < 3:
        raise ValueError(f"degenerate room: the floor needs at least 3 (x, y) corners, got shape {floor.shape}")
    if not np.all(np.isfinite(floor)) or not math.isfinite(height_m):
        raise ValueError("degenerate room: corners and height must be finite")
    if height_m < MIN_ROOM_HEIGHT_M:
        raise ValueError(f"degenerate room: height {height_m:.2f} m is below {MIN_ROOM_HEIGHT_M} m")
    sides = np.linalg.norm(floor - np.roll(floor, -1, axis=0), axis=1)
    if np.any(sides < 0.1):
        raise ValueError("degenerate room: two consecutive floor corners coincide (a wall shorter than 0.1 m)")
    count = len(floor)
    for i in range(count):
        for j in range(i + 2, count):
            if i == 0 and j == count - 1:
                continue
            if _segments_cross(floor[i], floor[(i + 1) % count], floor[j], floor[(j + 1) % count]):
                raise ValueError("degenerate room: floor polygon edges cross each other")
    area = polygon_area(floor)
    if area <= 0:
        raise ValueError(f"degenerate room: floor area {area:.3f} m^2; corners must be counter-clockwise")
    extent = floor.max(axis=0) - floor.min(axis=0)
    if np.any(extent < MIN_ROOM_SIDE_M):
        raise ValueError(f"degenerate room: floor extent {extent.round(2).tolist()} m is below {MIN_ROOM_SIDE_M} m")


def point_in_polygon(point_xy, floor_xy) -> bool:
    """Even-odd ray casting."""
    x, y = point_xy
    inside = False
    floor = list(floor_xy)
    for (x1, y1), (x2, y2) in zip(floor, floor[1:] + floor[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def distance_to_boundary(point_xy, floor_xy) -> float:
    """Shortest distance from a floor point to any wall, metres."""
    point = np.asarray(point_xy, dtype=np.float64)
    floor = np.asarray(floor_xy, dtype=np.float64)
    start, end = floor, np.roll(floor, -1, axis=0)
    edge = end - start
    t = np.clip(np.sum((point - start) * edge, axis=1) / np.sum(edge * edge, axis=1), 0.0, 1.0)
    return float(np.min(np.linalg.norm(start + t[:, None] * edge - point, axis=1)))


def sabine_absorption(volume_m3: float, surface_m2: float, rt60_s: float) -> float:
    """Uniform absorption coefficient giving ``rt60_s`` by Sabine's formula (RT60 = 24 ln10 V / (c S a))."""
    return 24.0 * math.log(10.0) * volume_m3 / (SPEED_OF_SOUND_M_S * surface_m2 * rt60_s)


def make_room(room_id: str, floor_xy, height_m: float, rt60_s: float, scattering: float = 0.1, kind="polygon"):
    """A :class:`RoomSpec` whose absorption reaches ``rt60_s``; ``ValueError`` when no absorption can."""
    floor_xy = tuple(tuple(float(v) for v in corner) for corner in floor_xy)
    validate_floor(floor_xy, height_m)
    if not rt60_s > 0:
        raise ValueError(f"rt60_s must be positive, got {rt60_s}")
    volume = polygon_area(floor_xy) * height_m
    floor = np.asarray(floor_xy)
    surface = (
        2 * polygon_area(floor_xy) + float(np.sum(np.linalg.norm(floor - np.roll(floor, -1, 0), axis=1))) * height_m
    )
    absorption = sabine_absorption(volume, surface, rt60_s)
    if absorption > MAX_ABSORPTION:
        raise ValueError(
            f"room {room_id}: RT60 {rt60_s:.2f} s is too short for a {volume:.1f} m^3 room "
            f"(needs absorption {absorption:.2f} > {MAX_ABSORPTION})"
        )
    return RoomSpec(room_id, floor_xy, float(height_m), float(rt60_s), float(absorption), float(scattering), kind)


def shoebox_floor(length_m: float, width_m: float) -> tuple[tuple[float, float], ...]:
    return ((0.0, 0.0), (length_m, 0.0), (length_m, width_m), (0.0, width_m))


def sample_room(
    rng: np.random.Generator,
    room_id: str,
    rt60_range_s: tuple[float, float] = (0.2, 0.8),
    side_range_m: tuple[float, float] = (3.0, 10.0),
    height_range_m: tuple[float, float] = (2.5, 3.5),
    min_long_side_m: float = 0.0,
    polygon_probability: float = 0.4,
    scattering_range: tuple[float, float] = (0.05, 0.2),
    max_tries: int = 100,
) -> RoomSpec:
    """A random shoebox, L-shaped or irregular convex room with a target RT60 drawn uniformly from the range.

    ``min_long_side_m`` makes the longer floor side at least that long (to fit a far source).
    """
    for _ in range(max_tries):
        low, high = side_range_m
        length = float(rng.uniform(max(low, min(min_long_side_m, high)), max(high, min_long_side_m)))
        width = float(rng.uniform(low, high))
        height = float(rng.uniform(*height_range_m))
        rt60 = float(rng.uniform(*rt60_range_s))
        scattering = float(rng.uniform(*scattering_range))
        shape = rng.uniform()
        if shape >= polygon_probability:
            floor, kind = shoebox_floor(length, width), "shoebox"
        elif shape < polygon_probability / 2:
            # L shape: cut one corner rectangle out of the box
            cut_x, cut_y = rng.uniform(0.3, 0.5) * length, rng.uniform(0.3, 0.5) * width
            floor = (
                (0.0, 0.0),
                (length, 0.0),
                (length, width - cut_y),
                (length - cut_x, width - cut_y),
                (length - cut_x, width),
                (0.0, width),
            )
            kind = "polygon"
        else:
            # convex polygon: corners on an ellipse at jittered angles, stretched to fill length x width
            count = int(rng.integers(5, 9))
            angles = np.sort(rng.uniform(0, 2 * np.pi / count, size=count) + np.arange(count) * 2 * np.pi / count)
            corners = np.stack([np.cos(angles), np.sin(angles)], axis=1)
            corners = (corners - corners.min(axis=0)) / (corners.max(axis=0) - corners.min(axis=0))
            floor = tuple((float(length * x), float(width * y)) for x, y in corners)
            kind = "polygon"
        try:
            return make_room(room_id, floor, height, rt60, scattering, kind)
        except ValueError:
            continue  # e.g. a small room cannot be made that dead, or a jittered polygon came out degenerate
    raise ValueError(
        f"could not sample a valid room in {max_tries} tries with rt60 {rt60_range_s}, sides {side_range_m}"
    )


def build_room(spec: RoomSpec, sample_rate: int, max_order: int = 3, ray_tracing: bool = True, **ray_options):
    """The pyroomacoustics room of a spec (no sources or microphones yet)."""
    import pyroomacoustics as pra

    material = pra.Material(energy_absorption=spec.absorption, scattering=spec.scattering)
    corners = np.asarray(spec.floor_xy, dtype=np.float64).T
    room = pra.Room.from_corners(
        corners, fs=int(sample_rate), max_order=max_order, materials=material, ray_tracing=False, air_absorption=False
    )
    room.extrude(spec.height_m, materials=material)
    if ray_tracing:
        room.set_ray_tracing(**ray_options)
    return room


def schroeder_decay_db(rir: np.ndarray) -> np.ndarray:
    """Backward-integrated energy decay curve in dB (0 at the start) of a 1-D or (channels, L) RIR (summed)."""
    energy = np.asarray(rir, dtype=np.float64) ** 2
    if energy.ndim == 2:
        energy = energy.sum(axis=0)
    curve = np.cumsum(energy[::-1])[::-1]
    return 10.0 * np.log10(np.maximum(curve / curve[0], 1e-30))


def measure_rt60(rir: np.ndarray, sample_rate: int, decay_range_db: tuple[float, float] = (-5.0, -35.0)) -> float:
    """T30 by default: a least-squares line through the Schroeder curve between -5 and -35 dB, extrapolated to
    -60 dB. Raises ``ValueError`` when the RIR does not decay far enough."""
    decay = schroeder_decay_db(rir)
    upper, lower = decay_range_db
    region = np.nonzero((decay <= upper) & (decay >= lower))[0]
    if decay.min() > lower or len(region) < 10:
        raise ValueError(f"the RIR decays only to {decay.min():.1f} dB; cannot fit down to {lower} dB")
    times = region / float(sample_rate)
    slope, _ = np.polyfit(times, decay[region], 1)
    return float(-60.0 / slope)
