import json

import pytest

from transformers_bat.cli.main import main
from transformers_bat.simulation import RIRBank


def test_render_rirs_command(tmp_path, capsys):
    output = tmp_path / "bank"
    arguments = [
        "render-rirs", "--output", str(output), "--num-rirs", "3", "--seed", "2", "--shard-size", "2",
        "--rt60", "0.2,0.3", "--room-side", "3,5", "--room-height", "2.5,3", "--distance-bins", "2,4",
        "--max-order", "1", "--max-rir-seconds", "0.25", "--no-progress",
    ]  # fmt: skip
    assert main(arguments) == 0
    assert "wrote 3 RIRs" in capsys.readouterr().out
    bank = RIRBank.open(output)
    assert len(bank) == 3
    settings = json.loads((output / "bank.json").read_text())
    assert settings["seed"] == 2 and settings["rt60_range_s"] == [0.2, 0.3] and settings["hrtf"] == "kemar"
    assert main(arguments) == 0  # a finished bank: nothing to do, same result


def test_render_rirs_rejects_bad_ranges(tmp_path):
    with pytest.raises(SystemExit):
        main(["render-rirs", "--output", str(tmp_path), "--num-rirs", "1", "--rt60", "0.8,0.2"])
