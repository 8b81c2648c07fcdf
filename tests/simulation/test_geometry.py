import numpy as np
import pytest

from transformers_bat import labels
from transformers_bat.simulation.geometry import (
    label_from_offset,
    listener_offset,
    octant_ranges,
    spatial_label,
    world_position,
)

S = np.sqrt(0.5)

# authors' frame (+x right, +y up, -z front): offset -> (azimuth index, elevation index, distance index, words)
AUTHORS_CASES = [
    ((1.0, 0.0, 0.0), 0, 90, 2, ("right", "behind", "below")),  # on the frontal plane -> "behind"; horizontal -> below
    ((0.0, 0.0, -2.0), 90, 90, 4, ("right", "front", "below")),  # straight ahead: median plane -> "right"
    ((-1.5, 0.0, 0.0), 180, 90, 3, ("left", "behind", "below")),
    ((0.0, 0.0, 3.0), 270, 90, 6, ("right", "behind", "below")),
    ((0.0, 1.0, 0.0), 0, 0, 2, ("right", "behind", "above")),  # straight up wraps to elevation index 0
    ((0.0, -1.0, 0.0), 0, 0, 2, ("right", "behind", "below")),  # straight down: also index 0 (release quirk)
    ((-1.0, 1.0, -1.0), 135, 125, 3, ("left", "front", "above")),  # atan(1/sqrt 2) = 35.26 deg
    ((1.0, -1.0, 1.0), 315, 55, 3, ("right", "behind", "below")),
    ((-S, 0.0, -S), 135, 90, 2, ("left", "front", "below")),
    ((0.2, 0.0, -0.1), 27, 90, 0, ("right", "front", "below")),  # 0.22 m -> bin 0
    ((12.0, 0.0, 0.0), 0, 90, 20, ("right", "behind", "below")),  # beyond 10 m clips to bin 20
]


@pytest.mark.parametrize("offset, azimuth_index, elevation_index, distance_index, words", AUTHORS_CASES)
def test_authors_frame_labels(offset, azimuth_index, elevation_index, distance_index, words):
    listener = np.array([3.0, 1.5, -2.0])
    label = spatial_label(listener + np.array(offset), listener, None, frame="authors")
    assert (label.azimuth_index, label.elevation_index, label.distance_index) == (
        azimuth_index,
        elevation_index,
        distance_index,
    )
    assert label.direction_words == words
    assert label.distance_m == pytest.approx(np.linalg.norm(offset))


# simulator frame (z up), listener heading h: (heading, world offset) -> (azimuth_deg, elevation_deg)
SIMULATOR_CASES = [
    (0.0, (1.0, 0.0, 0.0), 90.0, 0.0),  # heading 0 faces +x: a source on +x is in front
    (0.0, (0.0, 1.0, 0.0), 180.0, 0.0),  # +y is on the left when facing +x
    (0.0, (0.0, -1.0, 0.0), 0.0, 0.0),
    (0.0, (-1.0, 0.0, 0.0), 270.0, 0.0),
    (90.0, (0.0, 1.0, 0.0), 90.0, 0.0),  # facing +y
    (90.0, (1.0, 0.0, 0.0), 0.0, 0.0),  # then +x is on the right
    (180.0, (1.0, 0.0, 0.0), 270.0, 0.0),
    (270.0, (1.0, 0.0, 0.0), 180.0, 0.0),
    (45.0, (1.0, 1.0, 0.0), 90.0, 0.0),
    (-90.0, (0.0, 1.0, 0.0), 270.0, 0.0),  # negative headings work too
    (30.0, (0.0, 0.0, 2.0), 0.0, 90.0),  # straight up
    (0.0, (1.0, 0.0, 1.0), 90.0, 45.0),
    (0.0, (1.0, 0.0, -1.0), 90.0, -45.0),
]


@pytest.mark.parametrize("heading_deg, offset, azimuth_deg, elevation_deg", SIMULATOR_CASES)
def test_simulator_frame_labels(heading_deg, offset, azimuth_deg, elevation_deg):
    listener = np.array([2.0, 3.0, 1.6])
    label = spatial_label(listener + np.array(offset), listener, heading_deg, frame="simulator")
    assert label.elevation_deg == pytest.approx(elevation_deg, abs=1e-9)
    assert label.elevation_index == int(labels.elevation_to_index(elevation_deg))
    if abs(elevation_deg) < 90:
        assert labels.great_circle_deg(label.azimuth_deg, 0, azimuth_deg, 0) == pytest.approx(0.0, abs=1e-7)
        assert label.azimuth_index == int(labels.azimuth_to_index(azimuth_deg))


def test_both_frames_agree_on_a_rotated_scene():
    # the authors' frame is our listener frame with heading "front = -z": map a z-up scene onto it by hand
    rng = np.random.default_rng(0)
    for _ in range(50):
        heading = rng.uniform(0, 360)
        listener, source = rng.uniform(0, 5, 3), rng.uniform(0, 5, 3)
        ours = spatial_label(source, listener, heading, "simulator")
        right_up_back = listener_offset(source, listener, heading, "simulator")
        theirs = spatial_label(listener + right_up_back, listener, None, "authors")
        assert ours.azimuth_deg == pytest.approx(theirs.azimuth_deg)
        assert ours.elevation_deg == pytest.approx(theirs.elevation_deg)
        assert ours.distance_m == pytest.approx(theirs.distance_m)
        assert ours.direction_words == theirs.direction_words


def test_world_position_inverts_labels():
    rng = np.random.default_rng(1)
    for _ in range(50):
        listener, heading = rng.uniform(0, 5, 3), rng.uniform(0, 360)
        azimuth, elevation, distance = rng.uniform(0, 360), rng.uniform(-89, 89), rng.uniform(0.5, 9)
        label = spatial_label(world_position(listener, heading, azimuth, elevation, distance), listener, heading)
        assert labels.great_circle_deg(label.azimuth_deg, label.elevation_deg, azimuth, elevation) < 1e-6
        assert label.distance_m == pytest.approx(distance)


def test_octant_ranges_give_their_octant():
    rng = np.random.default_rng(2)
    for octant in range(8):
        (az_low, az_high), (el_low, el_high) = octant_ranges(octant, plane_margin_deg=5)
        for _ in range(20):
            label = label_from_offset(
                labels.unit_vector(rng.uniform(az_low, az_high), rng.uniform(el_low, el_high)) * np.array([1, 1, -1])
            )
            # unit_vector gives (right, up, front); the listener frame's z is back
            assert label.octant_index == octant


def test_frame_errors():
    with pytest.raises(ValueError, match="needs the listener's heading_deg"):
        listener_offset((1, 0, 0), (0, 0, 0), None, "simulator")
    with pytest.raises(ValueError, match="stores no heading"):
        listener_offset((1, 0, 0), (0, 0, 0), 10.0, "authors")
    with pytest.raises(ValueError, match="unknown frame"):
        listener_offset((1, 0, 0), (0, 0, 0), 0.0, "habitat")
    with pytest.raises(ValueError, match="3 coordinates"):
        listener_offset((1, 0), (0, 0, 0), 0.0)
    with pytest.raises(ValueError, match="non-finite"):
        listener_offset((np.nan, 0, 0), (0, 0, 0), 0.0)
    with pytest.raises(ValueError, match="octant must be in 0..7"):
        octant_ranges(8)
