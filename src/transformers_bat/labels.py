"""Spatial label conventions shared by the encoder heads, the simulator, the QA data and the metrics.

Everything here follows the authors' release (see ``shared/reference/spatial-ast.md``) so that our labels, our
decoded predictions and the authors' checkpoints all speak the same language.

Listener frame (the release's world frame, with the listener facing -z):
    +x = right, +y = up, -z = front. An offset ``(dx, dy, dz)`` is ``source - listener`` in metres.
Azimuth (degrees, [0, 360)): measured from the right ear towards the front, seen from above:
    0 = right, 90 = front, 180 = left, 270 = behind.
Elevation (degrees, [-90, 90]): 0 = horizontal, +90 = straight up.
Distance: 0.5 m bins, ``round(2 * metres)`` clipped to 0..20 (0-10 m).

Octant words (the SpatialSoundQA answers) use the degrees with these tie rules, so every direction gets exactly
one word per axis: on the median plane (azimuth 90 or 270) "right"; on the frontal plane (azimuth 0 or 180)
"behind"; on the horizontal plane "below". The QA generator keeps sources away from these planes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_AZIMUTH_BINS = 360
NUM_ELEVATION_BINS = 180
NUM_DISTANCE_BINS = 21
DISTANCE_BIN_M = 0.5
MAX_DISTANCE_M = DISTANCE_BIN_M * (NUM_DISTANCE_BINS - 1)

LATERAL_WORDS = ("left", "right")
FRONTAL_WORDS = ("front", "behind")
VERTICAL_WORDS = ("above", "below")


def spherical_from_offset(dx, dy, dz) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuous (azimuth_deg in [0, 360), elevation_deg in [-90, 90], distance_m) of listener-frame offsets.

    Accepts scalars or arrays (broadcast together); returns float64 arrays.
    """
    dx, dy, dz = (np.asarray(v, dtype=np.float64) for v in (dx, dy, dz))
    horizontal = np.hypot(dx, dz)
    azimuth_deg = np.mod(np.degrees(np.arctan2(-dz, dx)), 360.0)
    elevation_deg = np.degrees(np.arctan2(dy, horizontal))
    distance_m = np.sqrt(horizontal**2 + dy**2)
    return azimuth_deg, elevation_deg, distance_m


def azimuth_to_index(azimuth_deg) -> np.ndarray:
    """Azimuth class index as in the release: ``(round(deg) + 360) % 360`` (round half to even)."""
    return (np.rint(np.asarray(azimuth_deg, dtype=np.float64)).astype(np.int64) + 360) % NUM_AZIMUTH_BINS


def elevation_to_index(elevation_deg) -> np.ndarray:
    """Elevation class index as in the release: ``(round(deg) + 90) % 180``; index 90 is horizontal.

    Faithful quirk: exactly +90 degrees (straight up) wraps to index 0, the same class as -90.
    """
    return (np.rint(np.asarray(elevation_deg, dtype=np.float64)).astype(np.int64) + 90) % NUM_ELEVATION_BINS


def distance_to_index(distance_m) -> np.ndarray:
    """Distance class index ``round(2 * metres)``, clipped to the 21 classes (0-10 m in 0.5 m steps)."""
    index = np.rint(np.asarray(distance_m, dtype=np.float64) / DISTANCE_BIN_M).astype(np.int64)
    return np.clip(index, 0, NUM_DISTANCE_BINS - 1)


def index_to_azimuth(index) -> np.ndarray:
    """Degrees of an azimuth class index (the inverse of :func:`azimuth_to_index` on whole degrees)."""
    return np.asarray(index, dtype=np.float64) % NUM_AZIMUTH_BINS


def index_to_elevation(index) -> np.ndarray:
    """Degrees of an elevation class index: ``index - 90``."""
    return np.asarray(index, dtype=np.float64) - 90.0


def index_to_distance(index) -> np.ndarray:
    """Metres of a distance class index: ``0.5 * index``."""
    return np.asarray(index, dtype=np.float64) * DISTANCE_BIN_M


def lateral_word(azimuth_deg: float) -> str:
    """The lateral word: "left" for azimuth strictly between 90 and 270 degrees, else "right"."""
    azimuth_deg = float(azimuth_deg) % 360.0
    return "left" if 90.0 < azimuth_deg < 270.0 else "right"


def frontal_word(azimuth_deg: float) -> str:
    """The frontal word: "front" for azimuth strictly between 0 and 180 degrees, else "behind"."""
    azimuth_deg = float(azimuth_deg) % 360.0
    return "front" if 0.0 < azimuth_deg < 180.0 else "behind"


def vertical_word(elevation_deg: float) -> str:
    """The vertical word: "above" for positive elevation, else "below"."""
    return "above" if float(elevation_deg) > 0.0 else "below"


def direction_words(azimuth_deg: float, elevation_deg: float) -> tuple[str, str, str]:
    """The octant as SpatialSoundQA words: (lateral, frontal, vertical), e.g. ("left", "front", "below")."""
    return lateral_word(azimuth_deg), frontal_word(azimuth_deg), vertical_word(elevation_deg)


def octant_index(azimuth_deg: float, elevation_deg: float) -> int:
    """Octant number 0..7 = 4 * is_left + 2 * is_behind + is_below (a compact key for balancing and metrics)."""
    lateral, frontal, vertical = direction_words(azimuth_deg, elevation_deg)
    return 4 * (lateral == "left") + 2 * (frontal == "behind") + (vertical == "below")


def unit_vector(azimuth_deg, elevation_deg) -> np.ndarray:
    """Listener-frame unit vectors (..., 3) as (right, up, front) components of directions in degrees."""
    azimuth = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    elevation = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    return np.stack(
        [np.cos(elevation) * np.cos(azimuth), np.sin(elevation), np.cos(elevation) * np.sin(azimuth)], axis=-1
    )


def direction_from_vector(vectors) -> tuple[np.ndarray, np.ndarray]:
    """(azimuth_deg in [0, 360), elevation_deg) of listener-frame (right, up, front) vectors (..., 3), the inverse
    of :func:`unit_vector` (the length is ignored)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    right, up, front = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    azimuth_deg = np.mod(np.degrees(np.arctan2(front, right)), 360.0)
    elevation_deg = np.degrees(np.arctan2(up, np.hypot(right, front)))
    return azimuth_deg, elevation_deg


def great_circle_deg(azimuth1_deg, elevation1_deg, azimuth2_deg, elevation2_deg) -> np.ndarray:
    """Angle in degrees between two directions (the release's direction error); wrap-around safe."""
    u = unit_vector(azimuth1_deg, elevation1_deg)
    v = unit_vector(azimuth2_deg, elevation2_deg)
    # atan2 of |u x v| and u . v is accurate for tiny and near-180-degree angles alike.
    cross = np.linalg.norm(np.cross(u, v), axis=-1)
    dot = np.sum(u * v, axis=-1)
    return np.degrees(np.arctan2(cross, dot))


@dataclass(frozen=True)
class Placement:
    """Where a source is relative to the listener: the one declaration of the spatial ground truth.

    RIR bank entries, simulated placements, scene sources (records, encoder examples) and the metrics all carry
    these three fields; the release's class indices and the SpatialSoundQA words are derived from them.
    """

    azimuth_deg: float
    elevation_deg: float
    distance_m: float

    @property
    def spherical(self) -> tuple[float, float, float]:
        """(azimuth_deg, elevation_deg, distance_m), the argument order of the answer rules."""
        return (self.azimuth_deg, self.elevation_deg, self.distance_m)

    @property
    def azimuth_index(self) -> int:
        return int(azimuth_to_index(self.azimuth_deg))

    @property
    def elevation_index(self) -> int:
        return int(elevation_to_index(self.elevation_deg))

    @property
    def distance_index(self) -> int:
        return int(distance_to_index(self.distance_m))

    @property
    def direction_words(self) -> tuple[str, str, str]:
        """(lateral, frontal, vertical) SpatialSoundQA words, e.g. ("left", "front", "below")."""
        return direction_words(self.azimuth_deg, self.elevation_deg)

    @property
    def octant_index(self) -> int:
        return octant_index(self.azimuth_deg, self.elevation_deg)

    @property
    def position_m(self) -> np.ndarray:
        """Listener-frame position (3,) in metres as (right, up, front)."""
        return float(self.distance_m) * unit_vector(self.azimuth_deg, self.elevation_deg)

    def placement_fields(self) -> dict:
        """The three fields and the release's class indices (as RIR indexes store them)."""
        return {
            "azimuth_deg": float(self.azimuth_deg),
            "elevation_deg": float(self.elevation_deg),
            "distance_m": float(self.distance_m),
            "azimuth_index": self.azimuth_index,
            "elevation_index": self.elevation_index,
            "distance_index": self.distance_index,
        }


__all__ = [
    "DISTANCE_BIN_M",
    "FRONTAL_WORDS",
    "LATERAL_WORDS",
    "MAX_DISTANCE_M",
    "NUM_AZIMUTH_BINS",
    "NUM_DISTANCE_BINS",
    "NUM_ELEVATION_BINS",
    "Placement",
    "VERTICAL_WORDS",
    "azimuth_to_index",
    "direction_from_vector",
    "direction_words",
    "distance_to_index",
    "elevation_to_index",
    "frontal_word",
    "great_circle_deg",
    "index_to_azimuth",
    "index_to_distance",
    "index_to_elevation",
    "lateral_word",
    "octant_index",
    "spherical_from_offset",
    "unit_vector",
    "vertical_word",
]
