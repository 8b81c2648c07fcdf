import filecmp
import json

import datasets
import pyarrow.parquet as pq
import pytest

from transformers_bat.data import (
    DatasetFolderError,
    GenerationRequest,
    ProvenanceError,
    ScenePool,
    features,
    load_spatial_sound_qa,
    parse_per_type,
    split_scene_pool,
    write_dataset,
)
from transformers_bat.data import question_types as qt
from transformers_bat.data.dataset_writer import shard_tasks


def read_all(folder):
    """Every shard's rows keyed by relative path."""
    return {p.relative_to(folder).as_posix(): pq.read_table(p).to_pylist() for p in sorted(folder.rglob("*.parquet"))}


def test_parse_per_type():
    assert parse_per_type("7") == dict.fromkeys(qt.QUESTION_TYPES, 7)
    assert parse_per_type("7", max_sources=3) == dict.fromkeys(qt.registered_types(), 7)
    assert parse_per_type("F=6", max_sources=4)["MIXUP_COUNT"] == 2
    with pytest.raises(ValueError, match="letter F is available with --max-sources 2"):
        parse_per_type("F=6")
    counts = parse_per_type("A=10,E=12,MIXUP_DIRECTION=5")
    assert counts["CLASSIFICATION"] == 10 and counts["DOA"] == 0
    assert (
        counts["MIXUP_DIRECTION"] == 5 and counts["MIXUP_DISTANCE_BOTH"] == 3 and counts["MIXUP_NONBINARY_SOURCE"] == 2
    )
    with pytest.raises(ValueError, match="Unknown SpatialSoundQA question_type 'MIXUP_LOUD'"):
        parse_per_type("MIXUP_LOUD=3")
    with pytest.raises(ValueError, match="expected TYPE=COUNT"):
        parse_per_type("A:3")


@pytest.mark.parametrize("stage", qt.PAPER_STAGES)
def test_load_dataset_round_trip_per_config(dataset_dir, stage):
    loaded = datasets.load_dataset(str(dataset_dir), stage)
    assert set(loaded) == {"train", "test"}
    types = set(qt.stage_types(stage))
    assert set(loaded["train"]["question_type"]) == types
    assert loaded["train"].num_rows == 240 * len(types) and loaded["test"].num_rows == 40 * len(types)
    assert loaded["train"].features == features()
    streamed = datasets.load_dataset(str(dataset_dir), stage, split="test", streaming=True)
    assert sum(1 for _ in streamed) == 40 * len(types)


def test_default_config_is_stage3_and_card_lists_counts(dataset_dir):
    assert datasets.load_dataset(str(dataset_dir), split="test").num_rows == 40 * 9
    card = (dataset_dir / "README.md").read_text()
    assert "config_name: stage1" in card and "MIXUP_NONBINARY_SOURCE" in card and "octant of source 1" in card
    from huggingface_hub import DatasetCard

    loaded = DatasetCard.load(dataset_dir / "README.md")
    assert loaded.data.pretty_name == "SpatialSoundQA (generated with transformers-bat)"
    assert loaded.data.license == "other" and loaded.data.size_categories == ["1K<n<10K"]  # 2,520 records
    assert [c["config_name"] for c in loaded.data.configs] == ["stage1", "stage2", "stage3"]
    assert "@inproceedings{zheng2024bat" in loaded.text


def test_train_and_test_are_disjoint(dataset_dir):
    loaded = datasets.load_dataset(str(dataset_dir), "stage3")

    def ids(split, field):
        return {source[field] for sources in loaded[split]["sources"] for source in sources}

    for field in ("audio_id", "reverb_id"):
        assert not ids("train", field) & ids("test", field)
    assert not set(loaded["train"]["room_id"]) & set(loaded["test"]["room_id"])
    assert len(set(loaded["train"]["question_id"])) == loaded["train"].num_rows


def test_stage4_has_scenes_of_three_sources_and_every_type(dataset_dir_three_sources):
    folder = dataset_dir_three_sources
    card = datasets.load_dataset(str(folder), split="test")  # the default config stays the paper's stage3
    assert set(card["question_type"]) == set(qt.QUESTION_TYPES)
    stage4 = datasets.load_dataset(str(folder), "stage4")
    assert set(stage4["train"]["question_type"]) == set(qt.registered_types())
    sizes = {len(row["sources"]) for row in stage4["train"]}
    assert sizes == {1, 2, 3}
    three = [row for row in stage4["train"] if row["question_type"] == "MIXUP_THREE_RELATION"]
    assert len(three) == 60 and all(len(row["sources"]) == 3 for row in three)
    settings = json.loads((folder / "generation.json").read_text())
    assert settings["max_sources"] == 3


def test_paper_folders_have_no_stage4(dataset_dir):
    with pytest.raises(ValueError, match="stage4"):
        datasets.load_dataset(str(dataset_dir), "stage4")


def test_same_seed_gives_identical_files(tmp_path, pools, request_small, dataset_dir):
    write_dataset(tmp_path, pools, request_small)
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.parquet"))
    assert files == sorted(p.relative_to(dataset_dir) for p in dataset_dir.rglob("*.parquet"))
    for relative in files:
        assert filecmp.cmp(tmp_path / relative, dataset_dir / relative, shallow=False), relative


def test_other_seed_differs(tmp_path, pools, request_small, dataset_dir):
    other = GenerationRequest(counts=request_small.counts, seed=12, records_per_shard=request_small.records_per_shard)
    write_dataset(tmp_path, pools, other)
    assert read_all(tmp_path) != read_all(dataset_dir)


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, pools, request_small, dataset_dir):
    first = write_dataset(tmp_path, pools, request_small, max_shards=5)
    assert first.written == 5 and not first.complete and not (tmp_path / "checksums.json").exists()
    # a killed run's folder used to load the shards that existed, silently; now it is refused, saying why
    with pytest.raises(FileNotFoundError, match="GENERATION-INCOMPLETE--rerun-the-same-generate-qa-command-to-finish"):
        datasets.load_dataset(str(tmp_path), "stage1")
    with pytest.raises(DatasetFolderError, match=r"generation is not finished \(31 of 36 shards missing\); rerun"):
        load_spatial_sound_qa(tmp_path, "stage1")
    # a crash in the middle of a write leaves a temporary file behind
    fingerprint = next(tmp_path.rglob("*.parquet")).stem.rsplit("-", 1)[1]
    shard = tmp_path / shard_tasks(request_small, fingerprint)[7].relative_path
    shard.parent.mkdir(parents=True, exist_ok=True)
    shard.with_name(shard.name + ".tmp-99999").write_bytes(b"half a parquet file")
    second = write_dataset(tmp_path, pools, request_small)
    assert second.skipped == 5 and second.complete
    assert not list(tmp_path.rglob("*.tmp-*"))
    assert read_all(tmp_path) == read_all(dataset_dir)
    assert (tmp_path / "README.md").read_text() == (dataset_dir / "README.md").read_text()


def test_machines_sharing_the_work_and_processes_give_the_same_files(tmp_path, pools, request_small, dataset_dir):
    for index in range(3):
        write_dataset(tmp_path, pools, request_small, shard_index=index, num_shards=3, num_proc=2 if index else 1)
    assert read_all(tmp_path) == read_all(dataset_dir)


def test_resume_with_other_settings_is_refused(tmp_path, pools, request_small):
    write_dataset(tmp_path, pools, request_small, max_shards=1)
    other = GenerationRequest(counts=request_small.counts, seed=99, records_per_shard=request_small.records_per_shard)
    with pytest.raises(ValueError, match=r"different settings \(seed\)"):
        write_dataset(tmp_path, pools, other)
    settings = json.loads((tmp_path / "generation.json").read_text())
    assert settings["seed"] == 11 and set(settings["pool_fingerprints"]) == {"train", "test"}


def test_bad_sharding_arguments(tmp_path, pools, request_small):
    with pytest.raises(ValueError, match="shard_index must be in"):
        write_dataset(tmp_path, pools, request_small, shard_index=2, num_shards=2)


def test_a_regenerated_folder_of_the_same_name_is_not_served_from_the_datasets_cache(tmp_path, pools):
    # datasets caches local folders by folder name + YAML; the fingerprint in the patterns keeps them apart
    loaded = []
    for seed in (1, 2):
        folder = tmp_path / f"run{seed}" / "same_name"
        request = GenerationRequest(counts={"test": parse_per_type("CLASSIFICATION=30")}, seed=seed)
        write_dataset(folder, pools, request)
        loaded.append(datasets.load_dataset(str(folder), "stage1", split="test")["question"])
    assert loaded[0] != loaded[1]


def test_every_count_zero_is_an_error(tmp_path, pools):
    request = GenerationRequest(counts={"train": parse_per_type("0"), "test": parse_per_type("0")})
    with pytest.raises(ValueError, match=r"nothing to generate: every question type has a count of 0"):
        write_dataset(tmp_path / "empty", pools, request)
    assert not (tmp_path / "empty").exists()


def test_damaged_shards_are_named_on_read_and_rewritten_on_resume(tmp_path, pools, request_small, dataset_dir, caplog):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(dataset_dir, copy)
    assert load_spatial_sound_qa(copy, "stage1", split="test").num_rows == 80
    shard = sorted((copy / "data" / "train" / "DOA").glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:-100])
    with pytest.raises(DatasetFolderError, match=r"DOA/.*parquet has \d+ bytes, \d+ were written \(truncated"):
        load_spatial_sound_qa(copy, "stage3")
    with caplog.at_level("WARNING"):
        write_dataset(copy, pools, request_small)
    assert "writing it again" in caplog.text
    assert read_all(copy) == read_all(dataset_dir)
    assert load_spatial_sound_qa(copy, "stage3", verify="full")["train"].num_rows == 240 * 9
    data = bytearray(shard.read_bytes())  # same size, other bytes: only the hash can tell
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    load_spatial_sound_qa(copy, "stage1", split="test")
    with pytest.raises(DatasetFolderError, match="has the recorded size but not the recorded SHA-256"):
        load_spatial_sound_qa(copy, "stage1", split="test", verify="full")


class _Source:
    """A bank or catalogue stand-in: only its fingerprint matters here."""

    def __init__(self, fingerprint: str):
        self._fingerprint = fingerprint

    def fingerprint(self) -> str:
        return self._fingerprint

    def __repr__(self) -> str:
        return f"Source({self._fingerprint})"


def test_a_bank_or_catalogue_other_than_the_generating_one_is_refused(tmp_path):
    pool = ScenePool.synthetic(num_rooms=4, rirs_per_room=20, num_clips=40)
    pool.sources = {"rir_bank": "b" * 16, "catalogue": "c" * 16}
    pools = split_scene_pool(pool, test_fraction=0.5, seed=0)
    request = GenerationRequest(counts={"test": parse_per_type("CLASSIFICATION=20")})
    provenance = {"rir_bank": "out/bank", "sources": "procedural", "clips_per_class": 20, "catalogue_seed": 0}
    write_dataset(tmp_path, pools, request, provenance=provenance)
    settings = json.loads((tmp_path / "generation.json").read_text())
    assert settings["sources"] == pool.sources and settings["provenance"]["rir_bank"] == "out/bank"
    same = {"rir_bank": _Source("b" * 16), "catalogue": _Source("c" * 16)}
    assert load_spatial_sound_qa(tmp_path, "stage1", split="test", **same).num_rows == 20
    with pytest.raises(
        ProvenanceError,
        match=r"generated from the RIR bank with fingerprint b{16}, but Source\(x+\) has fingerprint x+: .* Pass "
        r"the RIR bank the dataset was generated from \(at generation: --rir-bank out/bank\)",
    ):
        load_spatial_sound_qa(tmp_path, "stage1", split="test", rir_bank=_Source("x" * 16))
    with pytest.raises(ProvenanceError, match=r"--sources procedural --clips-per-class 20 --seed 0\)"):
        load_spatial_sound_qa(tmp_path, "stage1", split="test", catalogue=_Source("y" * 16))
    # resuming with another bank is refused too (the ids would point into other audio)
    pool.sources = {"rir_bank": "z" * 16, "catalogue": "c" * 16}
    with pytest.raises(ValueError, match=r"different settings \(.*sources.*\).*RIR bank or sound catalogue differs"):
        write_dataset(tmp_path, split_scene_pool(pool, test_fraction=0.5, seed=0), request)


def test_a_folder_of_the_old_flat_schema_is_converted_on_read(tmp_path, dataset_dir, caplog):
    """Format 1 (audio_id ... distance_m2 columns) loads with a warning as the current schema, answers intact."""
    import pyarrow as pa

    from transformers_bat.data import derive_answer
    from transformers_bat.data.records import LEGACY_SOURCE_COLUMNS
    from transformers_bat.scene import Scene

    current = datasets.load_dataset(str(dataset_dir), "stage3", split="test").to_list()
    legacy = []
    for record in current:
        row = {k: v for k, v in record.items() if k != "sources"}
        for field, (first, second) in LEGACY_SOURCE_COLUMNS.items():
            row[first] = record["sources"][0][field]
            row[second] = record["sources"][1][field] if len(record["sources"]) > 1 else None
        legacy.append(row)
    (tmp_path / "data").mkdir()
    pq.write_table(pa.Table.from_pylist(legacy), tmp_path / "data" / "test.parquet")
    with pytest.raises(ValueError, match="old two-source columns.*upgrade_record"):
        Scene.from_record(legacy[0])
    with caplog.at_level("WARNING"):
        upgraded = load_spatial_sound_qa(tmp_path, "default", split="test", verify="none")
    assert "converting its records on read" in caplog.text
    assert upgraded.features == features()
    assert upgraded.to_list() == current
    assert all(derive_answer(record) == record["answer"] for record in upgraded)
