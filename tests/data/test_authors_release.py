import json

import datasets
import pytest

from transformers_bat.data import (
    AuthorsRelease,
    MissingAssetError,
    derive_answer,
    features,
    from_authors_records,
    read_qa_json,
    write_qa_json,
)
from transformers_bat.data import question_types as qt
from transformers_bat.data.records import AUTHORS_FIELDS, authors_view

from .fake_release import STAGE3_NONBINARY, write_release


@pytest.fixture()
def release(tmp_path):
    return write_release(tmp_path)


def test_export_then_import_is_lossless_for_the_authors_fields(tmp_path, dataset_dir):
    records = datasets.load_dataset(str(dataset_dir), "stage3", split="test").to_list()
    path = write_qa_json(records, tmp_path / "ours.json")
    back = read_qa_json(path)
    assert back == [authors_view(r) for r in records]
    assert list(back[0]) == list(AUTHORS_FIELDS)
    # and their file -> ours -> their format is byte-for-byte stable
    again = write_qa_json(from_authors_records(back), tmp_path / "again.json")
    assert again.read_text() == path.read_text()


def test_unknown_question_type_in_imported_json(tmp_path):
    bad = dict(STAGE3_NONBINARY[0], question_type="MIXUP_LOUDNESS")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"data": [STAGE3_NONBINARY[0], bad]}))
    with pytest.raises(
        ValueError, match=r"Unknown SpatialSoundQA question_type 'MIXUP_LOUDNESS' \(.*bad.json, record 1\)"
    ):
        read_qa_json(path)


@pytest.mark.parametrize(
    "payload, message",
    [
        ([{"audio_id": "x"}], r"expected one JSON object \{'data'"),
        ({"data": [{"audio_id": "x"}]}, r"record 0: missing field\(s\) \['reverb_id'"),
        ({"data": [dict(STAGE3_NONBINARY[0], reverb_id2=None)]}, "both null or both set"),
        ({"data": [dict(STAGE3_NONBINARY[0], question_type="DOA")]}, r"DOA needs 1 source\(s\)"),
    ],
)
def test_malformed_json_is_rejected_with_reasons(tmp_path, payload, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match=message):
        read_qa_json(path)


def test_reader_gives_our_features_and_scene_ground_truth(release):
    reader = AuthorsRelease(release["closed_end"], release["reverb"], release["audioset"])
    test = reader.load("stage1", "test")
    assert test.features == features()
    assert test["question_type"] == ["CLASSIFICATION", "DOA"]
    rows = test.to_list()
    assert rows[0]["sources"][0]["labels"] == ["Car", "Vehicle"] and rows[0]["room_id"] == "sceneA"
    for row in rows:  # the release's own answers agree with our rules on its scene parameters
        assert derive_answer(row) == row["answer"]
    stage3 = reader.records("stage3", "test")
    assert [r["question_type"] for r in stage3] == [
        "MIXUP_DIRECTION",
        "MIXUP_DISTANCE_BOTH",
        "MIXUP_NONBINARY_DISTANCE",
    ]
    assert derive_answer(stage3[1]) == "Yes"
    mixture = stage3[2]
    second = mixture["sources"][1]
    assert second["labels"] == ["Piano"] and second["distance_m"] == pytest.approx(3.64, abs=0.01)
    assert derive_answer(mixture) == "6m" == mixture["answer"]
    train = reader.load("stage1", "train")
    assert train[0]["answer"] == derive_answer(train[0])


def test_missing_parts_are_named(release, tmp_path):
    with pytest.raises(FileNotFoundError, match="QA folder not found"):
        AuthorsRelease(tmp_path / "nowhere")
    reader = AuthorsRelease(release["closed_end"])
    with pytest.raises(FileNotFoundError, match=r"stage2 test: missing .*eval-stage2-classification.json"):
        reader.qa_files("stage2", "test")
    assert [r["sources"][0]["azimuth_deg"] for r in reader.load("stage1", "test", with_scene=False)] == [None, None]
    with pytest.raises(FileNotFoundError, match="No RIR folder given"):
        reader.load("stage1", "test")
    reader = AuthorsRelease(release["closed_end"], release["reverb"])
    with pytest.raises(FileNotFoundError, match="No AudioSet folder given"):
        reader.load("stage1", "test")
    (release["reverb"] / "eval_reverberation.json").unlink()
    reader = AuthorsRelease(release["closed_end"], release["reverb"], release["audioset"])
    with pytest.raises(FileNotFoundError, match=r"RIR index for split 'test' not found: .*eval_reverberation.json"):
        reader.load("stage1", "test")


def test_records_pointing_at_missing_audio_or_rirs(release):
    path = release["closed_end"] / "stage1-clsdoa" / "eval-stage1-doa.json"
    payload = json.loads(path.read_text())
    payload["data"][0]["reverb_id"] = "sceneZ/9.npy"
    payload["data"][0]["audio_id"] = "eval/audio/Ymissing"
    path.write_text(json.dumps(payload))
    reader = AuthorsRelease(release["closed_end"], release["reverb"], release["audioset"])
    with pytest.raises(MissingAssetError, match=r"1 RIR id\(s\) not in .*mp3d_reverb.*sceneZ/9.npy.*Ymissing"):
        reader.load("stage1", "test")


def test_generated_dataset_exported_in_the_release_layout_reads_back(tmp_path, dataset_dir):
    from transformers_bat.data import export_release_layout

    loaded = datasets.load_dataset(str(dataset_dir), "stage3")
    records = {split: loaded[split].to_list() for split in ("train", "test")}
    export_release_layout(records, tmp_path / "closed-end")
    reader = AuthorsRelease(tmp_path / "closed-end")
    for stage in ("stage1", "stage2", "stage3"):
        for split in ("train", "test"):
            got = reader.records(stage, split, with_scene=False)
            types = set(qt.stage_types(stage))
            expected = [authors_view(r) for r in records[split] if r["question_type"] in types]
            if split == "test":  # each stage's eval files hold the types that stage adds
                expected = [r for r in expected if qt.first_stage(r["question_type"]) == stage]
                got = sorted(got, key=lambda r: (r["question_type"], r["question_id"]))
                expected = sorted(expected, key=lambda r: (r["question_type"], r["question_id"]))
            assert [authors_view(r) for r in got] == expected


def test_reader_opens_a_local_snapshot_of_the_hub_repo(tmp_path):
    """huggingface_hub.snapshot_download of the authors' dataset repo: SpatialSoundQA/{closed-end, mp3d_reverb.zip,
    AudioSet/...}. Questions read at once; zipped parts are named with the command that extracts them."""
    import shutil

    parts = write_release(tmp_path / "parts")
    snapshot = tmp_path / "snapshot"
    shutil.copytree(parts["closed_end"], snapshot / "SpatialSoundQA" / "closed-end")
    (snapshot / "SpatialSoundQA" / "mp3d_reverb.zip").write_bytes(b"PK")
    (snapshot / "SpatialSoundQA" / "AudioSet").mkdir()
    (snapshot / "SpatialSoundQA" / "AudioSet" / "eval.zip").write_bytes(b"PK")
    zipped = AuthorsRelease.from_snapshot(snapshot)
    assert len(zipped.records("stage3", "test", with_scene=False)) >= 3
    with pytest.raises(FileNotFoundError, match="still zipped: extract it first: .* unzip mp3d_reverb.zip"):
        zipped.rir_bank("test")
    with pytest.raises(FileNotFoundError, match="AudioSet clips are still zipped: extract eval.zip"):
        zipped.catalogue("test")

    shutil.copytree(parts["reverb"], snapshot / "SpatialSoundQA" / "mp3d_reverb")
    shutil.rmtree(snapshot / "SpatialSoundQA" / "AudioSet")
    shutil.copytree(parts["audioset"], snapshot / "SpatialSoundQA" / "AudioSet")
    for folder in (snapshot, snapshot / "SpatialSoundQA"):  # the repo root or its SpatialSoundQA folder
        release = AuthorsRelease.from_snapshot(folder)
        expected = AuthorsRelease(parts["closed_end"], parts["reverb"], parts["audioset"]).records("stage3", "test")
        assert release.records("stage3", "test") == expected
    with pytest.raises(FileNotFoundError, match="does not look like a snapshot"):
        AuthorsRelease.from_snapshot(tmp_path / "parts" / "AudioSet")
