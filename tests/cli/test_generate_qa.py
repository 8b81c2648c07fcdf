"""``transformers-bat generate-qa`` end to end on real simulator objects at a tiny size."""

import datasets
import numpy as np
import pytest

from transformers_bat.cli.main import main
from transformers_bat.data import SceneRenderer, derive_answer
from transformers_bat.simulation import ProceduralCatalogue

from ..data.fake_release import write_reverb_bank


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory):
    return write_reverb_bank(tmp_path_factory.mktemp("mp3d_reverb"), num_rooms=4, per_room=16)


def test_generate_then_resume_then_load_and_render(bank_dir, tmp_path, capsys):
    out = tmp_path / "ssqa"
    argv = [
        "generate-qa",
        str(out),
        "--rir-bank",
        str(bank_dir),
        "--sources",
        "procedural",
        "--clips-per-class",
        "3",
        "--per-type",
        "16",
        "--test-per-type",
        "8",
        "--records-per-shard",
        "8",
        "--seed",
        "5",
        "--no-progress",
        "--test-fraction",
        "0.25",
    ]
    assert main(argv + ["--shard-index", "0", "--num-shards", "2"]) == 0
    first = capsys.readouterr().out
    assert "still missing" in first and not (out / "README.md").exists()
    assert main(argv + ["--shard-index", "1", "--num-shards", "2", "--num-proc", "2"]) == 0
    summary = capsys.readouterr().out
    assert "MIXUP_DIRECTION: Yes 8 / No 8" in summary and "octant of source 1" in summary
    assert main(argv) == 0  # everything present: nothing rewritten
    assert "shards written 0" in capsys.readouterr().out

    stage3 = datasets.load_dataset(str(out), "stage3")
    assert stage3["train"].num_rows == 16 * 9 and stage3["test"].num_rows == 8 * 9
    for record in stage3["test"]:
        assert record["answer"] == derive_answer(record)
    catalogue = ProceduralCatalogue(clips_per_class=3, seed=5)
    renderer = SceneRenderer(bank_dir, catalogue, num_samples=32_000)
    mixture = stage3["test"].filter(lambda r: r["audio_id2"] is not None)[0]
    waveform = renderer.render(mixture)
    assert waveform.shape == (2, 32_000) and np.isfinite(waveform).all() and np.abs(waveform).max() > 0
    np.testing.assert_array_equal(waveform, renderer.render(mixture))


def test_impossible_request_is_a_clear_error(bank_dir, tmp_path, capsys):
    argv = [
        "generate-qa",
        str(tmp_path / "x"),
        "--rir-bank",
        str(bank_dir),
        "--sources",
        "procedural",
        "--clips-per-class",
        "1",
        "--per-type",
        "CLASSIFICATION=5000",
        "--test-per-type",
        "0",
        "--no-progress",
    ]
    assert main(argv) == 2
    assert "Cannot make 5000 distinct (clip, RIR) records of CLASSIFICATION" in capsys.readouterr().err


def test_missing_bank_without_num_rirs(tmp_path):
    with pytest.raises(SystemExit, match="pass --num-rirs to render a new bank there"):
        main(["generate-qa", str(tmp_path / "x"), "--rir-bank", str(tmp_path / "nobank"), "--no-progress"])
