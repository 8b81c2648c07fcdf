import numpy as np
import pytest

from transformers_bat.simulation.rir_rendering import (
    LabelTarget,
    PlacementConfig,
    Scene,
    place_source,
    target_for_index,
)
from transformers_bat.simulation.rooms import make_room, measure_rt60, sample_room, shoebox_floor

from .physics import direct_path, interaural_cues, off_median_plane_deg, random_scenes

KEMAR_ELEVATIONS = (-40.0, 90.0)


def _lateral_agreement(renderer, scenes, seed, window_samples=64):
    """Fractions of scenes (> 20 degrees off the median plane) whose first-arrival ITD and ILD signs match the
    left/right label, and how many scenes were checked."""
    itd_ok = ild_ok = checked = 0
    for i, scene in enumerate(scenes):
        if off_median_plane_deg(scene.label.azimuth_deg, scene.label.elevation_deg) <= 20:
            continue
        itd, ild = interaural_cues(direct_path(renderer.render(scene, [seed, i]), window_samples))
        is_left = scene.label.direction_words[0] == "left"
        itd_ok += (itd > 0) == is_left
        ild_ok += (ild > 0) == is_left
        checked += 1
    return itd_ok / checked, ild_ok / checked, checked


def test_direct_path_itd_ild_match_left_right_labels(anechoic_renderer):
    """The direct path alone (image-source order 0): the requirement, >= 99% agreement."""
    itd, ild, checked = _lateral_agreement(anechoic_renderer, random_scenes(300, seed=11), seed=0)
    assert checked >= 150
    assert itd >= 0.99 and ild >= 0.99, (itd, ild, checked)


def test_first_arrival_itd_ild_in_reverberant_rooms(renderer):
    """The first 1.5 ms of full RIRs: an early floor or ceiling reflection can overlap the direct sound there,
    so a few percent of ITD estimates may flip (measured: ILD 100%, ITD 99% over 202 scenes)."""
    itd, ild, checked = _lateral_agreement(renderer, random_scenes(40, seed=12), seed=1, window_samples=48)
    assert checked >= 25
    assert itd >= 0.95 and ild >= 0.97, (itd, ild, checked)


@pytest.mark.parametrize("rt60_s", [0.25, 0.45, 0.7])
@pytest.mark.parametrize("shape", ["shoebox", "l_shape"])
def test_measured_t30_within_25_percent_of_target(renderer, rt60_s, shape):
    if shape == "shoebox":
        floor = shoebox_floor(6.0, 4.5)
    else:
        floor = ((0, 0), (7, 0), (7, 3), (4, 3), (4, 6), (0, 6))
    room = make_room(f"{shape}-{rt60_s}", floor, 3.0, rt60_s)
    scene = place_source(room, LabelTarget(octant=3, distance_index=5), np.random.default_rng(3), KEMAR_ELEVATIONS)
    assert scene is not None
    measured = measure_rt60(renderer.render(scene, [7]), 32000)
    assert abs(measured - rt60_s) / rt60_s < 0.25, (measured, rt60_s)


@pytest.mark.parametrize("reverberant", [False, True])
def test_direct_path_level_falls_with_distance(anechoic_renderer, renderer, reverberant):
    room = make_room("hall", shoebox_floor(12.0, 8.0), 3.0, 0.5)
    listener, heading = (2.0, 4.0, 1.6), 0.0
    levels = []
    for distance in (0.75, 1.5, 2.5, 4.0, 6.0, 8.5):
        source = (2.0 + distance * np.cos(np.radians(20)), 4.0 + distance * np.sin(np.radians(20)), 1.6)
        scene = Scene(room, listener, heading, source)
        rir = (renderer if reverberant else anechoic_renderer).render(scene, [0])
        levels.append(10 * np.log10(np.sum(direct_path(rir, 48).astype(np.float64) ** 2)))
    assert all(np.diff(levels) < 0), levels
    # spherical spreading: about -6 dB per doubling of distance (0.75 m -> 6 m is three doublings)
    assert levels[0] - levels[4] == pytest.approx(18.1, abs=2.5)


def test_render_is_deterministic_and_seed_dependent(renderer):
    scene = random_scenes(1, seed=4)[0]
    first, again, other = renderer.render(scene, [1, 2]), renderer.render(scene, [1, 2]), renderer.render(scene, [9])
    assert first.dtype == np.float32 and first.shape[0] == 2
    assert first.tobytes() == again.tobytes()
    assert not np.array_equal(first[:, : other.shape[1]], other[:, : first.shape[1]])


def test_rir_length_is_capped(kemar):
    from transformers_bat.simulation.rir_rendering import BinauralRenderer

    capped = BinauralRenderer(kemar, max_rir_s=0.25)
    scene = random_scenes(1, seed=5, rt60_range_s=(0.7, 0.8))[0]
    assert capped.render(scene, [0]).shape[1] <= 8000


def test_placement_hits_targets_and_stays_inside():
    rng = np.random.default_rng(6)
    config = PlacementConfig()
    for index in range(64):
        target = target_for_index(index, seed=3, config=config)
        room = sample_room(rng, "r", min_long_side_m=target.distance_index * 0.5 + 1.5)
        scene = place_source(room, target, rng, KEMAR_ELEVATIONS, config)
        assert scene is not None
        assert scene.label.octant_index == target.octant
        assert scene.label.distance_index == target.distance_index
        assert KEMAR_ELEVATIONS[0] <= scene.label.elevation_deg <= KEMAR_ELEVATIONS[1]
        assert abs(scene.label.elevation_deg) >= config.plane_margin_deg
        assert room.contains(scene.source_position, config.wall_margin_m)
        assert 1.5 <= scene.listener_position[2] <= 1.7


def test_targets_are_balanced_per_block():
    config = PlacementConfig(distance_index_range=(2, 5))
    targets = [target_for_index(i, seed=0, config=config) for i in range(64)]  # two blocks of 8 x 4
    pairs = [(t.octant, t.distance_index) for t in targets]
    assert sorted(pairs[:32]) == sorted((o, d) for o in range(8) for d in range(2, 6))
    assert sorted(pairs[32:]) == sorted(pairs[:32]) and pairs[32:] != pairs[:32]


def test_sources_outside_the_room_are_rejected():
    room = make_room("box", shoebox_floor(4.0, 3.0), 2.5, 0.4)
    with pytest.raises(ValueError, match=r"source_position \(5\.0, 1\.0, 1\.5\) is outside room box"):
        Scene(room, (1.0, 1.0, 1.6), 0.0, (5.0, 1.0, 1.5))
    with pytest.raises(ValueError, match="listener_position .* is outside room box"):
        Scene(room, (1.0, 1.0, 2.6), 0.0, (2.0, 1.0, 1.5))
    with pytest.raises(ValueError, match="need at least 0.1 m"):
        Scene(room, (1.0, 1.0, 1.6), 0.0, (1.0, 1.0, 1.6))


def test_renderer_rejects_mismatched_sample_rate(kemar):
    from transformers_bat.simulation.rir_rendering import BinauralRenderer

    with pytest.raises(ValueError, match="HRIR set is at 32000 Hz, renderer at 16000 Hz"):
        BinauralRenderer(kemar, sample_rate=16000)
