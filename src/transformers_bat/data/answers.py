"""Rule-based SpatialSoundQA answers from scene parameters, and parsers that turn answer strings back into structure.

Answers depend only on the scene (class labels, azimuth/elevation/distance of each source) and on the parameters
of the question (``form``, ``axis``, ``direction``, ``direction2``), never on the question's wording. Each
registered question type's rule (:mod:`.paper_questions`, :mod:`.multi_source_questions`) is built from these
helpers; :func:`derive_answer` applies the rule of a record's type.

Rules where the paper is silent (our decisions, stated once here):
- Class names are lower-cased and sorted alphabetically, joined by "; " (as in the authors' release).
- Direction words come from :mod:`transformers_bat.labels` (octant words with its tie rules).
- Source distances are quantised to the 0.5 m classes (0-10 m), written like "2.5m" / "2m".
- Relative directions ("A is on the left of B") compare listener-frame POSITIONS (metres: right, up, front) of the
  two sources; pairs closer than :data:`RELATIVE_MARGIN_M` on the asked axis are near-ties and get no answer.
- "Closer" compares distances to the listener; differences under :data:`CLOSER_MARGIN_M` are near-ties.
- The distance between two sources (MIXUP_NONBINARY_DISTANCE) is the straight line between their positions,
  rounded to 0.5 m, not clipped to 10 m.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .. import labels as lb
from . import question_types as qt
from .records import scene_of

RELATIVE_MARGIN_M = 0.5
CLOSER_MARGIN_M = 0.5

# axis name -> (component index in (right, up, front) positions, word for positive offsets, word for negative)
AXES: dict[str, tuple[int, str, str]] = {
    "lateral": (0, "right", "left"),
    "vertical": (1, "above", "below"),
    "frontal": (2, "front", "behind"),
}
WORD_AXIS: dict[str, str] = {word: axis for axis, (_, pos, neg) in AXES.items() for word in (pos, neg)}
# Position of each axis in the (lateral, frontal, vertical) triple of labels.direction_words.
_WORD_SLOT = {"lateral": 0, "frontal": 1, "vertical": 2}


class NearTieError(ValueError):
    """The scene is too close to a decision boundary for the question to have a fair answer."""


def _scalars(*values) -> bool:
    """Whether every value is one number (answers of one record take a pure-Python path: numpy on scalars costs
    tens of microseconds per call, most of the time of writing 100,000 records)."""
    return all(isinstance(value, (int, float, np.number)) for value in values)


def quantize_distance_m(distance_m) -> np.ndarray:
    """Source distance as its 0.5 m class value in metres (0-10 m)."""
    if _scalars(distance_m):  # round() rounds half to even, as np.rint in labels.distance_to_index
        index = min(max(round(float(distance_m) / lb.DISTANCE_BIN_M), 0), lb.NUM_DISTANCE_BINS - 1)
        return index * lb.DISTANCE_BIN_M
    return lb.index_to_distance(lb.distance_to_index(distance_m))


def format_metres(value_m: float) -> str:
    """ "2.5m", "2m", "0.5m": the release's distance spelling (value already on the 0.5 m grid)."""
    return f"{float(value_m):g}m"


def distance_answer(distance_m: float) -> str:
    """Distance of one source to the listener, quantised to 0.5 m classes."""
    return format_metres(float(quantize_distance_m(distance_m)))


def separation_m(azimuth1_deg, elevation1_deg, distance1_m, azimuth2_deg, elevation2_deg, distance2_m) -> np.ndarray:
    """Straight-line distance in metres between two sources given in listener-frame spherical coordinates."""
    p1 = position_m(azimuth1_deg, elevation1_deg, distance1_m)
    p2 = position_m(azimuth2_deg, elevation2_deg, distance2_m)
    if p1.ndim == 1 and p2.ndim == 1:
        return math.dist(p1.tolist(), p2.tolist())
    return np.linalg.norm(p1 - p2, axis=-1)


def separation_answer(separation: float) -> str:
    """Distance between two sources rounded to 0.5 m (not clipped)."""
    return format_metres(float(np.rint(separation / lb.DISTANCE_BIN_M) * lb.DISTANCE_BIN_M))


def position_m(azimuth_deg, elevation_deg, distance_m) -> np.ndarray:
    """Listener-frame position(s) (..., 3) in metres as (right, up, front)."""
    if _scalars(azimuth_deg, elevation_deg, distance_m):  # the products of labels.unit_vector, in its order
        azimuth, elevation = math.radians(azimuth_deg), math.radians(elevation_deg)
        unit = (math.cos(elevation) * math.cos(azimuth), math.sin(elevation), math.cos(elevation) * math.sin(azimuth))
        return np.array([float(distance_m) * component for component in unit])
    return np.asarray(distance_m, dtype=np.float64)[..., None] * lb.unit_vector(azimuth_deg, elevation_deg)


def classes_answer(class_names: Sequence[str]) -> str:
    """Class names lower-cased, de-duplicated, alphabetical, joined by "; "."""
    if not class_names:
        raise ValueError("A detection answer needs at least one class name")
    return "; ".join(sorted({name.lower() for name in class_names}))


def doa_answer(azimuth_deg: float, elevation_deg: float, distance_m: float) -> str:
    """ "left, front, below; 2.5m": octant words (lateral, frontal, vertical) then the quantised distance."""
    return ", ".join(lb.direction_words(azimuth_deg, elevation_deg)) + "; " + distance_answer(distance_m)


def axis_word(azimuth_deg: float, elevation_deg: float, axis: str) -> str:
    """The octant word of one source on one axis ("left"/"right", "front"/"behind", "above"/"below")."""
    return lb.direction_words(azimuth_deg, elevation_deg)[_WORD_SLOT[axis]]


def relative_word(source1: Sequence[float], source2: Sequence[float], axis: str, margin_m: float = RELATIVE_MARGIN_M):
    """Word saying where source 1 lies relative to source 2 on ``axis``; None for a near-tie.

    ``source1`` / ``source2`` are (azimuth_deg, elevation_deg, distance_m).
    """
    index, positive, negative = AXES[axis]
    offset = float(position_m(*source1)[index] - position_m(*source2)[index])
    if abs(offset) < margin_m:
        return None
    return positive if offset > 0 else negative


def yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def derive_answer(record: Mapping) -> str:
    """The answer of a record, from its scene and its question parameters alone (the rule of its registered type).

    Raises :class:`NearTieError` where the scene sits on a decision boundary (the generator never emits those).
    """
    entry = qt.get(record["question_type"])
    return entry.answer(scene_of(record), qt.QuestionParams.from_record(record))
