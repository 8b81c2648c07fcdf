"""World frames -> the listener frame of :mod:`transformers_bat.labels`, and back.

Two world frames feed the same labels:

* ``"authors"``: the SoundSpaces/habitat frame of the released RIRs (+x right, +y up, -z front). The listener's
  heading is not stored there, so the world frame *is* the listener frame (heading ``None``).
* ``"simulator"``: our pyroomacoustics frame, z up, floor at z = 0. The listener faces the horizontal direction
  ``(cos h, sin h, 0)`` for a heading (yaw) ``h`` in degrees, counter-clockwise from +x seen from above.

The listener frame is the one ``labels.py`` uses: +x right, +y up, -z front.
"""

from __future__ import annotations

import numpy as np

from .. import labels

AUTHORS_FRAME = "authors"
SIMULATOR_FRAME = "simulator"
FRAMES = (AUTHORS_FRAME, SIMULATOR_FRAME)


def _as_xyz(position, name: str) -> np.ndarray:
    array = np.asarray(position, dtype=np.float64)
    if array.shape[-1:] != (3,):
        raise ValueError(f"{name} must have 3 coordinates (x, y, z) in its last axis, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has non-finite coordinates: {array}")
    return array


def heading_axes(heading_deg) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulator-frame unit vectors (right, up, front) of a listener with this heading; each (..., 3)."""
    heading = np.radians(np.asarray(heading_deg, dtype=np.float64))
    cos, sin, zero = np.cos(heading), np.sin(heading), np.zeros_like(heading)
    front = np.stack([cos, sin, zero], axis=-1)
    right = np.stack([sin, -cos, zero], axis=-1)
    up = np.stack([zero, zero, np.ones_like(heading)], axis=-1)
    return right, up, front


def listener_offset(source_position, listener_position, heading_deg=None, frame: str = SIMULATOR_FRAME) -> np.ndarray:
    """Offset ``source - listener`` expressed in the listener frame (+x right, +y up, -z front), shape (..., 3).

    ``frame="authors"`` takes positions in the release's world frame and needs no heading; ``frame="simulator"``
    takes z-up positions and the listener's heading in degrees.
    """
    offset = _as_xyz(source_position, "source_position") - _as_xyz(listener_position, "listener_position")
    if frame == AUTHORS_FRAME:
        if heading_deg is not None:
            raise ValueError("the authors' world frame stores no heading: pass heading_deg=None")
        return offset
    if frame != SIMULATOR_FRAME:
        raise ValueError(f"unknown frame {frame!r}; expected one of {FRAMES}")
    if heading_deg is None:
        raise ValueError("the simulator frame needs the listener's heading_deg")
    right, up, front = heading_axes(heading_deg)
    return np.stack(
        [np.sum(offset * right, axis=-1), np.sum(offset * up, axis=-1), -np.sum(offset * front, axis=-1)], axis=-1
    )


def world_position(
    listener_position, heading_deg: float, azimuth_deg: float, elevation_deg: float, distance_m: float
) -> np.ndarray:
    """Simulator-frame position (3,) of a source at this listener-relative direction and distance (inverse of
    :func:`listener_offset` for ``frame="simulator"``)."""
    right_up_front = labels.unit_vector(azimuth_deg, elevation_deg) * float(distance_m)
    right, up, front = heading_axes(heading_deg)
    return _as_xyz(listener_position, "listener_position") + (
        right_up_front[0] * right + right_up_front[1] * up + right_up_front[2] * front
    )


def label_from_offset(offset) -> labels.Placement:
    """Placement (direction, distance; class indices and words derived) of one listener-frame offset (3,)."""
    dx, dy, dz = _as_xyz(offset, "offset")
    azimuth_deg, elevation_deg, distance_m = labels.spherical_from_offset(dx, dy, dz)
    return labels.Placement(float(azimuth_deg), float(elevation_deg), float(distance_m))


def spatial_label(
    source_position, listener_position, heading_deg=None, frame: str = SIMULATOR_FRAME
) -> labels.Placement:
    """Label of one source seen by one listener, in either world frame (see the module docstring)."""
    return label_from_offset(listener_offset(source_position, listener_position, heading_deg, frame))


def octant_ranges(octant: int, plane_margin_deg: float = 0.0) -> tuple[tuple[float, float], tuple[float, float]]:
    """Azimuth range and elevation range (degrees) of octant ``4 * is_left + 2 * is_behind + is_below``,
    shrunk by ``plane_margin_deg`` away from the median, frontal and horizontal planes."""
    if not 0 <= int(octant) < 8:
        raise ValueError(f"octant must be in 0..7, got {octant}")
    is_left, is_behind, is_below = (int(octant) >> 2) & 1, (int(octant) >> 1) & 1, int(octant) & 1
    # azimuth quadrants: right-front (0, 90), left-front (90, 180), left-behind (180, 270), right-behind (270, 360)
    start = {(0, 0): 0.0, (1, 0): 90.0, (1, 1): 180.0, (0, 1): 270.0}[(is_left, is_behind)]
    azimuth_range = (start + plane_margin_deg, start + 90.0 - plane_margin_deg)
    elevation_range = (-90.0, -plane_margin_deg) if is_below else (plane_margin_deg, 90.0)
    return azimuth_range, elevation_range
