"""``transformers-bat verify`` on a bank and a dataset: OK, then the damaged file named, exit code 1."""

import shutil

import pytest

from transformers_bat.cli.main import main
from transformers_bat.data import GenerationRequest, parse_per_type, write_dataset

from ..simulation.test_rir_bank import reference_bank  # noqa: F401  (fixture)


def test_verify_a_bank(reference_bank, tmp_path, capsys):  # noqa: F811
    assert main(["verify", str(reference_bank)]) == 0
    assert "OK (sizes and SHA-256 checked)" in capsys.readouterr().out
    copy = tmp_path / "bank"
    shutil.copytree(reference_bank, copy)
    shard = copy / "shards" / "shard-00000.npy"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 1
    shard.write_bytes(bytes(data))
    assert main(["verify", str(copy), "--quick"]) == 0  # same size: only the hash can tell
    assert main(["verify", str(copy)]) == 1
    captured = capsys.readouterr()
    assert "shard-00000.npy has the recorded size but not the recorded SHA-256" in captured.err
    assert "1 problem(s)" in captured.out
    shard.write_bytes(bytes(data[:100]))
    assert main(["verify", str(copy), "--quick"]) == 1
    assert "shard-00000.npy has 100 bytes" in capsys.readouterr().err


def test_verify_a_dataset_and_a_wrong_path(pools, tmp_path, capsys):
    write_dataset(tmp_path / "ds", pools, GenerationRequest(counts={"test": parse_per_type("CLASSIFICATION=30")}))
    assert main(["verify", str(tmp_path / "ds")]) == 0
    assert "dataset" in capsys.readouterr().out
    next((tmp_path / "ds" / "data").rglob("*.parquet")).unlink()
    assert main(["verify", str(tmp_path / "ds")]) == 1
    assert "is missing: rerun the same generate-qa command" in capsys.readouterr().err
    assert main(["verify", str(tmp_path)]) == 2
    assert "is neither an RIR bank" in capsys.readouterr().err


@pytest.fixture
def pools():
    from transformers_bat.data import ScenePool, split_scene_pool

    return split_scene_pool(ScenePool.synthetic(num_rooms=4, rirs_per_room=20, num_clips=40), 0.5, seed=0)
