import numpy as np
import pytest

from transformers_bat.data import ScenePool, split_scene_pool


def test_split_has_disjoint_rooms_and_clips(pools):
    train, test = pools["train"], pools["test"]
    assert train.num_rirs and test.num_rirs and train.num_clips and test.num_clips
    assert not set(train.room_ids) & set(test.room_ids)
    assert not set(train.clip_ids) & set(test.clip_ids)
    assert train.num_rirs + test.num_rirs == 12 * 40 and train.num_clips + test.num_clips == 240


def test_split_is_seeded_and_explicit_lists_win():
    pool = ScenePool.synthetic(num_rooms=6, rirs_per_room=4, num_clips=20)
    a, b = split_scene_pool(pool, seed=1), split_scene_pool(pool, seed=1)
    assert a["test"].fingerprint() == b["test"].fingerprint()
    explicit = split_scene_pool(pool, test_rooms=["room0000"], test_clips=["synthetic/clip000000"])
    assert set(explicit["test"].room_ids) == {"room0000"}
    assert list(explicit["test"].clip_ids) == ["synthetic/clip000000"]


def test_octant_words_follow_the_shared_labels():
    pool = ScenePool(
        reverb_ids=["a", "b"],
        room_ids=["r", "r"],
        azimuth_deg=[100.0, 300.0],
        elevation_deg=[10.0, -10.0],
        distance_m=[1.0, 2.0],
        clip_ids=["c"],
        clip_labels=[("Dog",)],
    )
    assert pool.octant.tolist() == [4, 3]  # left-front-above, right-behind-below
    np.testing.assert_allclose(
        pool.position_m[0],
        [
            np.cos(np.radians(10)) * np.cos(np.radians(100)),
            np.sin(np.radians(10)),
            np.cos(np.radians(10)) * np.sin(np.radians(100)),
        ],
    )
    assert pool.away_from_planes(5.0).tolist() == [True, True]
    assert pool.away_from_planes(15.0).tolist() == [False, False]


def test_bad_pools_are_rejected_with_reasons():
    with pytest.raises(ValueError, match="have no class label"):
        ScenePool(
            reverb_ids=["a"],
            room_ids=["r"],
            azimuth_deg=[1.0],
            elevation_deg=[1.0],
            distance_m=[1.0],
            clip_ids=["c"],
            clip_labels=[()],
        )
    with pytest.raises(ValueError, match="must be unique"):
        ScenePool(
            reverb_ids=["a", "a"],
            room_ids=["r", "r"],
            azimuth_deg=[1.0, 2.0],
            elevation_deg=[1.0, 2.0],
            distance_m=[1.0, 2.0],
            clip_ids=["c"],
            clip_labels=[("Dog",)],
        )
    with pytest.raises(ValueError, match="at least 2 rooms"):
        split_scene_pool(ScenePool.synthetic(num_rooms=1, rirs_per_room=4, num_clips=4))


class _Empty:
    ids: list = []

    def __repr__(self):
        return "EmptyThing('/data/nothing')"


def test_empty_bank_or_catalogue_is_named():
    with pytest.raises(ValueError, match=r"The sound catalogue EmptyThing\('/data/nothing'\) holds no clips"):
        ScenePool.from_sources(_FakeBank(), _Empty())
    with pytest.raises(ValueError, match=r"The RIR bank EmptyThing\('/data/nothing'\) holds no RIRs"):
        ScenePool.from_sources(_Empty(), _Empty())


class _FakeBank:
    ids = ["r/0"]
