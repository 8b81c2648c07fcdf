import numpy as np
import pytest

from transformers_bat.simulation.rooms import (
    RoomSpec,
    make_room,
    measure_rt60,
    sabine_absorption,
    sample_room,
    shoebox_floor,
)

DEGENERATE = [
    (((0, 0), (4, 0)), 3.0, "at least 3"),
    (((0, 0), (4, 0), (4, 3), (0, 3)), 1.0, "height 1.00 m is below"),
    (((0, 0), (0, 3), (4, 3), (4, 0)), 3.0, "counter-clockwise"),
    (((0, 0), (4, 0), (8, 0)), 3.0, "floor area 0.000"),
    (((0, 0), (4, 0), (0, 3), (4, 3)), 3.0, "edges cross"),
    (((0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5)), 3.0, "extent"),
    (((0, 0), (4, 0), (4, 0), (4, 3), (0, 3)), 3.0, "coincide"),
    (((0, 0), (4, 0), (4, float("nan")), (0, 3)), 3.0, "finite"),
]


@pytest.mark.parametrize("floor, height, message", DEGENERATE)
def test_degenerate_rooms_raise(floor, height, message):
    with pytest.raises(ValueError, match=message):
        make_room("bad", floor, height, 0.5)


def test_unreachable_rt60_and_bad_coefficients():
    with pytest.raises(ValueError, match="too short"):
        make_room("tiny", shoebox_floor(2.0, 2.0), 2.2, 0.05)
    with pytest.raises(ValueError, match="absorption must be in"):
        RoomSpec("x", tuple(shoebox_floor(4, 4)), 3.0, 0.5, absorption=1.5)


def test_sabine_absorption_matches_the_formula():
    room = make_room("box", shoebox_floor(5.0, 4.0), 3.0, 0.5)
    assert room.volume_m3 == pytest.approx(60.0)
    assert room.surface_m2 == pytest.approx(2 * 20 + 18 * 3)
    assert 0.161 * room.volume_m3 / (room.surface_m2 * room.absorption) == pytest.approx(0.5, rel=1e-3)
    assert sabine_absorption(60.0, 94.0, 0.5) == pytest.approx(room.absorption)


def test_sampled_rooms_are_valid_and_varied():
    rng = np.random.default_rng(0)
    rooms = [sample_room(rng, f"r{i}", min_long_side_m=5.0) for i in range(60)]
    kinds = {room.kind for room in rooms}
    assert kinds == {"shoebox", "polygon"}
    assert any(len(room.floor_xy) == 6 for room in rooms) and any(len(room.floor_xy) >= 5 for room in rooms)
    for room in rooms:
        assert 0.2 <= room.rt60_s <= 0.8 and 0 < room.absorption <= 0.95
        floor = np.asarray(room.floor_xy)
        assert (floor.max(axis=0) - floor.min(axis=0)).max() >= 5.0 * 0.99


def test_sampling_is_deterministic():
    first = sample_room(np.random.default_rng(5), "r")
    assert first == sample_room(np.random.default_rng(5), "r")
    assert RoomSpec.from_dict(first.to_dict()) == first


def test_contains_respects_margins():
    room = make_room("l", ((0, 0), (6, 0), (6, 3), (3, 3), (3, 6), (0, 6)), 3.0, 0.5)
    assert room.contains((1.0, 1.0, 1.5), margin_m=0.5)
    assert not room.contains((5.0, 5.0, 1.5))  # the cut-out corner of the L
    assert not room.contains((0.2, 1.0, 1.5), margin_m=0.3)
    assert not room.contains((1.0, 1.0, 2.9), margin_m=0.3)


def test_measure_rt60_of_an_exponential_decay():
    rng = np.random.default_rng(0)
    sample_rate, rt60 = 16000, 0.6
    t = np.arange(int(1.0 * sample_rate)) / sample_rate
    rir = rng.standard_normal(len(t)) * 10 ** (-3 * t / rt60)
    assert measure_rt60(rir, sample_rate) == pytest.approx(rt60, rel=0.05)
    with pytest.raises(ValueError, match="cannot fit"):
        measure_rt60(np.ones(100), sample_rate)
