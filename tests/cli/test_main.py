"""Every user error a command can meet ends in one line ``transformers-bat CMD: error: ...`` and exit code 2."""

import json

import pytest

from transformers_bat.cli.main import main
from transformers_bat.simulation.rir_bank import BankSettings

from .errors import cli_error


def _bank_of_another_seed(tmp_path):
    folder = tmp_path / "bank"
    folder.mkdir()
    (folder / "bank.json").write_text(json.dumps(BankSettings(seed=1, num_rirs=8).to_json()))
    return folder


def _busy_folder(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    return tmp_path / "busy"


CASES = [
    (
        lambda tmp: ["render-rirs", "--output", str(_bank_of_another_seed(tmp)), "--num-rirs", "8", "--no-progress"],
        r"holds a bank made with other settings \(.*seed.*\)",
    ),
    (
        lambda tmp: ["render-rirs", "--output", str(_busy_folder(tmp)), "--num-rirs", "8", "--no-progress"],
        "exists, is not empty and is not a RIR bank",
    ),
    (
        lambda tmp: ["render-rirs", "--output", str(tmp / "b"), "--num-rirs", "8", "--hrtf", str(tmp / "head.sofa")],
        "SOFA file not found",
    ),
    (
        lambda tmp: ["generate-qa", str(tmp / "ds"), "--rir-bank", str(tmp / "nobank"), "--no-progress"],
        "--rir-bank .* does not exist; pass --num-rirs",
    ),
    (
        lambda tmp: ["generate-qa", str(tmp / "ds"), "--rir-bank", str(tmp), "--sources", "youtube", "--no-progress"],
        "neither a simulated bank|--sources: expected",
    ),
    (
        lambda tmp: ["evaluate-bat", str(tmp / "nodata"), "--output-dir", str(tmp / "o"), "--predictions", "p.jsonl"],
        "dataset folder not found",
    ),
    (
        lambda tmp: ["evaluate-bat", str(tmp / "nodata"), "--output-dir", str(tmp / "o")],
        "generating answers needs --model and --rir-bank",
    ),
    (
        lambda tmp: (
            ["evaluate-spatial-ast", str(tmp), "--model", "m", "--rir-bank", str(tmp / "nobank")]
            + ["--output-dir", str(tmp / "o")]
        ),
        "RIR bank directory not found",
    ),
    (
        lambda tmp: ["convert-spatial-ast", str(tmp / "finetuned.pth"), str(tmp / "out")],
        "Checkpoint not found",
    ),
    (lambda tmp: ["verify", str(tmp)], "is neither an RIR bank"),
]


CASE_IDS = [
    "bank-settings-differ",
    "folder-not-a-bank",
    "missing-sofa",
    "missing-bank",
    "unknown-sources",
    "missing-dataset",
    "missing-model-argument",
    "missing-bank-for-evaluation",
    "missing-checkpoint",
    "verify-wrong-path",
]


@pytest.mark.parametrize("argv, message", CASES, ids=CASE_IDS)
def test_user_errors_exit_2_with_one_line(argv, message, tmp_path, capsys):
    import re

    arguments = argv(tmp_path)
    assert main(arguments) == 2
    assert re.search(message, cli_error(capsys.readouterr().err, arguments[0]))


def test_a_bug_still_shows_its_traceback(monkeypatch, capsys):
    """Only user errors are shortened; anything else propagates (and TRANSFORMERS_BAT_TRACEBACK shows all)."""
    import transformers_bat.cli.verify as verify

    def broken(args):
        raise KeyError("internal")

    monkeypatch.setattr(verify, "run", broken)
    with pytest.raises(KeyError, match="internal"):
        main(["verify", "x"])
    monkeypatch.setattr(verify, "run", lambda args: (_ for _ in ()).throw(ValueError("bad value")))
    monkeypatch.setenv("TRANSFORMERS_BAT_TRACEBACK", "1")
    with pytest.raises(ValueError, match="bad value"):
        main(["verify", "x"])
