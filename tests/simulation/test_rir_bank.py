import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from transformers_bat import labels
from transformers_bat.simulation import rir_bank
from transformers_bat.simulation.hrtf import hrtf_content_hash
from transformers_bat.simulation.rir_bank import BankSettings, RIRBank, RIRFileError, render_bank
from transformers_bat.simulation.rir_rendering import PlacementConfig


def tiny_settings(**overrides) -> BankSettings:
    """Small, fast rooms (short RIRs) so a bank renders in a few seconds."""
    options = dict(
        seed=5,
        num_rirs=10,
        shard_size=4,
        hrtf="kemar",
        rirs_per_room=3,
        rt60_range_s=(0.2, 0.3),
        side_range_m=(3.0, 5.0),
        height_range_m=(2.5, 3.0),
        max_order=1,
        max_rir_s=0.25,
        placement=PlacementConfig(distance_index_range=(2, 5)),
    )
    options.update(overrides)
    return BankSettings(**options)


def digest(directory) -> str:
    hasher = hashlib.sha256()
    for path in sorted(Path(directory).rglob("*")):
        if path.is_file():
            hasher.update(str(path.relative_to(directory)).encode())
            hasher.update(path.read_bytes())
    return hasher.hexdigest()


@pytest.fixture(scope="module")
def reference_bank(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bank") / "reference"
    render_bank(directory, tiny_settings(), progress=False)
    return directory


def test_bank_layout_and_reader(reference_bank):
    assert sorted(p.name for p in (reference_bank / "shards").iterdir()) == [
        f"shard-0000{s}.{ext}" for s in range(3) for ext in ("json", "npy")
    ]
    bank = RIRBank.open(reference_bank)
    assert len(bank) == 10 and bank.ids[0] == "room000000/000000" and bank.ids[3].startswith("room000001/")
    merged = json.loads((reference_bank / "reverberation.json").read_text())["data"]
    assert [record["fname"] for record in merged] == bank.ids
    for reverb_id in bank.ids:
        info, record = bank.info(reverb_id), bank.record(reverb_id)
        assert {"sensor_position", "source_position", "agent_position", "heading_deg", "room", "rt60_s"} <= set(record)
        assert 0.2 <= info.rt60_s <= 0.3 and info.heading_deg is not None
        rir = bank.load(reverb_id)
        assert rir.dtype == np.float32 and rir.shape == (2, record["num_samples"]) and rir.shape[1] <= 8000
        assert np.abs(rir).max() > 0
        assert info.direction_words == labels.direction_words(info.azimuth_deg, info.elevation_deg)
        assert 2 <= info.distance_index <= 5
    octants = [bank.info(i).octant_index for i in bank.ids]
    assert len(set(octants)) >= 6  # balanced targets: 10 RIRs spread over the 8 octants


def test_same_seed_gives_identical_bytes(reference_bank, tmp_path):
    render_bank(tmp_path / "again", tiny_settings(), progress=False)
    assert digest(tmp_path / "again") == digest(reference_bank)
    render_bank(tmp_path / "other", tiny_settings(seed=6), progress=False)
    assert digest(tmp_path / "other") != digest(reference_bank)


def test_resume_after_a_crash_is_identical(reference_bank, tmp_path, monkeypatch):
    real = rir_bank._render_index

    def crash_at_six(index):
        if index == 6:
            raise RuntimeError("simulated crash")
        return real(index)

    monkeypatch.setattr(rir_bank, "_render_index", crash_at_six)
    with pytest.raises(RuntimeError, match="simulated crash"):
        render_bank(tmp_path / "bank", tiny_settings(), progress=False)
    shards = sorted(p.name for p in (tmp_path / "bank" / "shards").iterdir())
    assert shards == ["shard-00000.json", "shard-00000.npy"]  # shard 1 (RIRs 4-7) was not half-written
    assert not (tmp_path / "bank" / "reverberation.json").exists()
    assert len(RIRBank.open(tmp_path / "bank")) == 4  # a partial bank is readable
    monkeypatch.setattr(rir_bank, "_render_index", real)
    render_bank(tmp_path / "bank", tiny_settings(), progress=False)
    assert digest(tmp_path / "bank") == digest(reference_bank)


@pytest.mark.slow
def test_killed_run_resumes_identically(reference_bank, tmp_path):
    """A real SIGKILL part-way through the command, then the same command again."""
    output = tmp_path / "bank"
    command = [
        sys.executable,
        "-c",
        "import sys; from transformers_bat.simulation import rir_bank as b; from tests.simulation.test_rir_bank "
        "import tiny_settings; b.render_bank(sys.argv[1], tiny_settings(num_rirs=10), progress=False)",
        str(output),
    ]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(command, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    deadline = time.time() + 120
    while not (output / "shards" / "shard-00000.json").exists() and time.time() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (output / "reverberation.json").exists()
    render_bank(output, tiny_settings(), progress=False)
    assert digest(output) == digest(reference_bank)


@pytest.mark.slow
def test_two_workers_give_the_same_bank(reference_bank, tmp_path):
    render_bank(tmp_path / "parallel", tiny_settings(), num_workers=2, progress=False)
    assert digest(tmp_path / "parallel") == digest(reference_bank)


def test_bank_errors(reference_bank, tmp_path):
    with pytest.raises(ValueError, match=r"holds a bank made with other settings \(seed differ\)"):
        render_bank(reference_bank, tiny_settings(seed=99), progress=False)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="is not empty and is not a RIR bank"):
        render_bank(tmp_path / "busy", tiny_settings(), progress=False)
    (tmp_path / "wrong.sofa").write_text("not a sofa file")
    with pytest.raises(ValueError, match="not a readable SOFA"):
        render_bank(tmp_path / "new", tiny_settings(hrtf=str(tmp_path / "wrong.sofa")), progress=False)
    assert not (tmp_path / "new").exists()  # nothing written
    with pytest.raises(FileNotFoundError, match="RIR bank directory not found: .*missing"):
        RIRBank.open(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="neither a simulated bank"):
        RIRBank.open(tmp_path / "busy")


def test_truncated_shard_is_named_when_the_bank_opens(reference_bank, tmp_path):
    """A truncated shard used to open fine and fail only when one of its RIRs was read (or never, in generate-qa)."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(reference_bank, copy)
    (copy / "shards" / "shard-00001.npy").write_bytes(b"garbage")
    with pytest.raises(
        RIRFileError,
        match=r"(?s)is damaged:.*shard-00001.npy has 7 bytes, \d+ were written \(truncated or replaced\): delete it "
        r"\(and its .json\) and rerun render-rirs",
    ):
        RIRBank.open(copy)


def test_resume_renders_a_truncated_shard_again(reference_bank, tmp_path, caplog):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(reference_bank, copy)
    shard = copy / "shards" / "shard-00001.npy"
    shard.write_bytes(shard.read_bytes()[:1000])
    with caplog.at_level("WARNING"):
        render_bank(copy, tiny_settings(), progress=False)
    assert "shard-00001.npy has 1000 bytes" in caplog.text and "rendering shard 1 again" in caplog.text
    assert digest(copy) == digest(reference_bank)


def test_verify_finds_damage_of_the_same_size(reference_bank, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(reference_bank, copy)
    shard = copy / "shards" / "shard-00002.npy"
    data = bytearray(shard.read_bytes())
    data[-5] ^= 0xFF
    shard.write_bytes(bytes(data))
    bank = RIRBank.open(copy)  # the cheap size check passes
    assert RIRBank.open(reference_bank).verify() == []
    with pytest.raises(RIRFileError, match="shard-00002.npy has the recorded size but not the recorded SHA-256"):
        bank.verify()


def test_truncated_json_names_the_file(reference_bank, tmp_path):
    import shutil

    from transformers_bat.files import CorruptFileError

    copy = tmp_path / "copy"
    shutil.copytree(reference_bank, copy)
    merged = copy / "reverberation.json"
    merged.write_text(merged.read_text()[:500])
    with pytest.raises(CorruptFileError, match=r"reverberation.json is not valid JSON \(truncated or damaged\?\)"):
        RIRBank.open(copy)
    merged.unlink()  # a bank read from its shards (as when interrupted)
    shard_json = copy / "shards" / "shard-00000.json"
    shard_json.write_text(shard_json.read_text()[:300])
    with pytest.raises(CorruptFileError, match="shard-00000.json is not valid JSON.*delete it \\(and its .npy\\)"):
        RIRBank.open(copy)


def test_fingerprint_follows_what_decides_the_bytes(reference_bank, tmp_path):
    bank = RIRBank.open(reference_bank)
    same_rirs = BankSettings.from_json(bank.settings)
    assert rir_bank.bank_fingerprint(same_rirs.to_json() | {"num_rirs": 99, "shard_size": 7}) == bank.fingerprint()
    other_seed = json.loads(json.dumps(bank.settings)) | {"seed": 6}
    assert rir_bank.bank_fingerprint(other_seed) != bank.fingerprint()
    assert bank.settings["hrtf_sha256"] == hrtf_content_hash("kemar")


def test_a_replaced_hrtf_file_blocks_the_resume(tmp_path, monkeypatch):
    """A SOFA file swapped between a kill and the resume would give a bank that mixes two heads."""
    from tests.simulation.test_hrtf import _write_sofa

    sofa = _write_sofa(tmp_path / "head.sofa")

    def killed(*args):
        raise RuntimeError("killed")

    monkeypatch.setattr(rir_bank, "_init_worker", killed)
    with pytest.raises(RuntimeError, match="killed"):
        render_bank(tmp_path / "bank", tiny_settings(hrtf=str(sofa)), progress=False)
    assert json.loads((tmp_path / "bank" / "bank.json").read_text())["hrtf_sha256"] == hrtf_content_hash(str(sofa))
    _write_sofa(sofa, sample_rate=44100)
    with pytest.raises(ValueError, match=r"the HRTF .*head.sofa has changed since the bank .* was started"):
        render_bank(tmp_path / "bank", tiny_settings(hrtf=str(sofa)), progress=False)


def _authors_layout(root: Path) -> Path:
    (root / "binaural" / "q9vSo1VnCiC").mkdir(parents=True)
    rir = np.random.default_rng(0).standard_normal((2, 3000))
    np.save(root / "binaural" / "q9vSo1VnCiC" / "0.npy", rir)  # float64, as released
    (root / "binaural" / "q9vSo1VnCiC" / "1.npy").write_bytes(b"\x93NUMPY truncated")
    records = [
        # source 2 m to the left and 1 m up of the sensor (world +x right, +y up, -z front)
        {
            "fname": "q9vSo1VnCiC/0.npy",
            "sensor_position": "1.0,1.5,-2.0",
            "source_position": "-1.0,2.5,-2.0",
            "agent_position": "1.0,0.0,-2.0",
        },
        {
            "fname": "q9vSo1VnCiC/1.npy",
            "sensor_position": "0,1.5,0",
            "source_position": "1,1.5,-1",
            "agent_position": "0,0,0",
        },
    ]
    (root / "train_reverberation.json").write_text(json.dumps({"data": records}))
    return root


def test_authors_layout(tmp_path):
    bank = RIRBank.open(_authors_layout(tmp_path), split="train")
    assert type(bank).__name__ == "SoundSpacesRIRBank"
    assert bank.ids == ["q9vSo1VnCiC/0.npy", "q9vSo1VnCiC/1.npy"]
    info = bank.info("q9vSo1VnCiC/0.npy")
    assert (info.room_id, info.heading_deg, info.rt60_s) == ("q9vSo1VnCiC", None, None)
    assert (info.azimuth_index, info.elevation_index, info.distance_index) == (180, 117, 4)  # atan(1/2) = 26.6 deg
    assert info.direction_words == ("left", "behind", "above")  # azimuth exactly 180: frontal-plane tie -> behind
    assert info.source_position == (-1.0, 2.5, -2.0) and info.listener_position == (1.0, 1.5, -2.0)
    second = bank.info("q9vSo1VnCiC/1.npy")
    assert (second.azimuth_index, second.elevation_index, second.distance_index) == (45, 90, 3)
    assert second.direction_words == ("right", "front", "below")
    rir = bank.load("q9vSo1VnCiC/0.npy")
    assert rir.dtype == np.float32 and rir.shape == (2, 3000)
    with pytest.raises(RIRFileError, match=r"cannot read RIR 'q9vSo1VnCiC/1.npy' from .*binaural/q9vSo1VnCiC/1.npy"):
        bank.load("q9vSo1VnCiC/1.npy")
    with pytest.raises(KeyError, match="unknown reverb id"):
        bank.load("q9vSo1VnCiC/7.npy")
    with pytest.raises(FileNotFoundError, match="authors' RIR index not found: .*eval_reverberation.json"):
        RIRBank.open(tmp_path, split="eval")
    (tmp_path / "binaural").rename(tmp_path / "elsewhere")
    with pytest.raises(FileNotFoundError, match="authors' RIR folder not found: .*binaural"):
        RIRBank.open(tmp_path, split="train")


def test_bank_rirs_spatialise_procedural_sources_to_the_labelled_side(reference_bank):
    from transformers_bat.simulation import ProceduralCatalogue, render_scene

    from .physics import off_median_plane_deg

    bank = RIRBank.open(reference_bank)
    catalogue = ProceduralCatalogue(clips_per_class=1, seed=0, duration_s=1.0)
    checked = 0
    for reverb_id, clip_id in zip(bank.ids, catalogue.ids):
        info = bank.info(reverb_id)
        if off_median_plane_deg(info.azimuth_deg, info.elevation_deg) < 30:
            continue
        audio = render_scene([catalogue.load(clip_id)], [bank.load(reverb_id)], num_samples=32000)
        left_db, right_db = 10 * np.log10(np.sum(audio.astype(np.float64) ** 2, axis=1))
        assert (left_db > right_db) == (info.direction_words[0] == "left"), (reverb_id, clip_id, left_db, right_db)
        checked += 1
    assert checked >= 3
