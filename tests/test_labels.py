"""Label conventions of the release: listener-frame offsets -> angles, class indices and octant words."""

import numpy as np
import pytest

from transformers_bat import labels

# (dx right, dy up, dz toward the back) -> azimuth deg, elevation deg, azimuth idx, elevation idx, words
CASES = [
    ((1, 0, 0), 0, 0, 0, 90, ("right", "behind", "below")),  # on the frontal and horizontal planes: tie rules
    ((0, 0, -1), 90, 0, 90, 90, ("right", "front", "below")),  # straight ahead: median plane -> "right"
    ((-1, 0, 0), 180, 0, 180, 90, ("left", "behind", "below")),  # straight left, on the frontal plane
    ((0, 0, 1), 270, 0, 270, 90, ("right", "behind", "below")),
    ((-1, 1, -1), 135, 35.264, 135, 125, ("left", "front", "above")),
    ((1, -1, 1), 315, -35.264, 315, 55, ("right", "behind", "below")),
    ((-1, -0.2, 1), 225, -8.05, 225, 82, ("left", "behind", "below")),
    ((0, 1, 0), 0, 90, 0, 0, ("right", "behind", "above")),  # straight up wraps to index 0 (release quirk)
    ((0, -1, 0), 0, -90, 0, 0, ("right", "behind", "below")),
    ((1, 0, -1e-9), 0, 0, 0, 90, ("right", "front", "below")),  # 359.99.. or 0.00..: rounds to index 0
]


@pytest.mark.parametrize("offset, azimuth, elevation, azimuth_index, elevation_index, words", CASES)
def test_offsets_to_labels(offset, azimuth, elevation, azimuth_index, elevation_index, words):
    az, el, distance = labels.spherical_from_offset(*offset)
    assert az == pytest.approx(azimuth % 360, abs=1e-3) or (azimuth == 0 and az == pytest.approx(360, abs=1e-6))
    assert el == pytest.approx(elevation, abs=1e-3)
    assert distance == pytest.approx(np.linalg.norm(offset))
    assert labels.azimuth_to_index(az) == azimuth_index
    assert labels.elevation_to_index(el) == elevation_index
    assert labels.direction_words(az, el) == words


@pytest.mark.parametrize(
    "metres, index", [(0.0, 0), (0.24, 0), (0.26, 1), (0.75, 2), (1.25, 2), (2.5, 5), (10.0, 20), (13.0, 20)]
)
def test_distance_bins(metres, index):
    assert labels.distance_to_index(metres) == index  # round half to even, clipped to 0..20
    assert labels.index_to_distance(index) == index * 0.5


def test_index_round_trips_and_octants():
    assert labels.index_to_azimuth(labels.azimuth_to_index(-30.2)) == 330
    assert labels.index_to_elevation(labels.elevation_to_index(-30.2)) == -30
    assert labels.octant_index(135, 20) == 4  # left, front, above
    assert labels.octant_index(315, -20) == 3  # right, behind, below
    assert len({labels.octant_index(a, e) for a in (45, 135, 225, 315) for e in (-10, 10)}) == 8


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ((0, 0), (359, 0), 1),
        ((10, 89), (190, 89), 2),
        ((0, 90), (180, 90), 0),
        ((90, 0), (270, 0), 180),
        ((0, -90), (0, 90), 180),
        ((45, 0), (45, 30), 30),
    ],
)
def test_great_circle_handles_wrap_and_poles(a, b, expected):
    assert labels.great_circle_deg(*a, *b) == pytest.approx(expected, abs=1e-6)
