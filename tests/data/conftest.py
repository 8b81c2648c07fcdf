"""Shared fixtures of the SpatialSoundQA tests: small metadata-only pools and one generated dataset folder."""

from __future__ import annotations

import pytest

from transformers_bat.data import GenerationRequest, ScenePool, parse_per_type, split_scene_pool, write_dataset


@pytest.fixture(scope="session")
def pools():
    pool = ScenePool.synthetic(num_rooms=12, rirs_per_room=40, num_clips=240, num_classes=16, seed=3)
    return split_scene_pool(pool, test_fraction=0.25, seed=3)


@pytest.fixture(scope="session")
def request_small():
    return GenerationRequest(
        counts={"train": parse_per_type(240), "test": parse_per_type(40)}, seed=11, records_per_shard=100
    )


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory, pools, request_small):
    folder = tmp_path_factory.mktemp("ssqa")
    write_dataset(folder, pools, request_small)
    return folder


@pytest.fixture(scope="session")
def dataset_dir_three_sources(tmp_path_factory, pools):
    """A folder with scenes of up to three sources: the paper's types plus ours (stage4)."""
    folder = tmp_path_factory.mktemp("ssqa3")
    request = GenerationRequest(
        counts={"train": parse_per_type(60, max_sources=3), "test": parse_per_type(20, max_sources=3)},
        seed=5,
        records_per_shard=100,
        max_sources=3,
    )
    write_dataset(folder, pools, request)
    return folder
