"""``transformers-bat generate-qa`` end to end on real simulator objects at a tiny size."""

import datasets
import numpy as np
import pytest

from transformers_bat.cli.main import main
from transformers_bat.data import DatasetFolderError, SceneRenderer, derive_answer, load_spatial_sound_qa
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
    assert "still missing" in first and not (out / "checksums.json").exists()
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
    mixture = stage3["test"].filter(lambda r: len(r["sources"]) == 2)[0]
    waveform = renderer.render(mixture)
    assert waveform.shape == (2, 32_000) and np.isfinite(waveform).all() and np.abs(waveform).max() > 0
    np.testing.assert_array_equal(waveform, renderer.render(mixture))


def test_max_sources_three_writes_stage4_answered_parsed_and_scored_end_to_end(bank_dir, tmp_path, capsys):
    from transformers_bat.answer_parsing import parse_answer
    from transformers_bat.evaluation.qa_metrics import score_answers

    out = tmp_path / "ssqa3"
    argv = ["generate-qa", str(out), "--rir-bank", str(bank_dir), "--sources", "procedural", "--clips-per-class", "3",
            "--per-type", "F=12", "--test-per-type", "F=6", "--max-sources", "3", "--seed", "2", "--no-progress",
            "--test-fraction", "0.25"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "sources per scene" in printed and "'stage4'" in printed
    stage4 = datasets.load_dataset(str(out), "stage4", split="test")
    assert {len(r["sources"]) for r in stage4} == {1, 2, 3}
    assert set(stage4["question_type"]) == {"MIXUP_COUNT", "MIXUP_EXTREME_SOURCE", "MIXUP_THREE_RELATION"}
    records = stage4.to_list()
    for record in records:
        assert record["answer"] == derive_answer(record)
        kind, value = parse_answer(record["answer"], record["question_type"])
        assert value is not None, (kind, record["answer"])
    renderer = SceneRenderer(bank_dir, ProceduralCatalogue(clips_per_class=3, seed=2), num_samples=16_000)
    three = next(r for r in records if len(r["sources"]) == 3)
    assert renderer.render(three).shape == (2, 16_000)
    perfect = score_answers(records, [r["answer"] for r in records])["per_type"]
    assert perfect["MIXUP_COUNT"]["accuracy"] == 1.0 and perfect["MIXUP_THREE_RELATION"]["binary_accuracy"] == 1.0
    assert perfect["MIXUP_EXTREME_SOURCE"]["set_f1"] == 1.0
    wrong = score_answers(records, ["7 sounds"] * len(records))
    assert wrong["per_type"]["MIXUP_COUNT"]["accuracy"] == 0.0 and wrong["unparsed"]["MIXUP_THREE_RELATION"] == 2


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


def test_missing_bank_without_num_rirs(tmp_path, capsys):
    assert main(["generate-qa", str(tmp_path / "x"), "--rir-bank", str(tmp_path / "nobank"), "--no-progress"]) == 2
    assert "generate-qa: error: --rir-bank" in capsys.readouterr().err


def _generate(bank_dir, out, *extra):
    argv = ["generate-qa", str(out), "--rir-bank", str(bank_dir), "--clips-per-class", "3", "--seed", "5"]
    return main(argv + ["--per-type", "CLASSIFICATION=8,DOA=8", "--test-fraction", "0.25", "--no-progress", *extra])


def test_evaluation_refuses_another_catalogue_seed_or_bank(bank_dir, tmp_path, capsys):
    """Probe: evaluate-spatial-ast with another --seed, or a bank rendered with another seed, exited 0 with
    meaningless figures (same ids, other audio). Both are refused before any model is loaded."""
    out = tmp_path / "ssqa"
    assert _generate(bank_dir, out) == 0
    capsys.readouterr()
    evaluate = ["evaluate-spatial-ast", str(out), "--model", str(tmp_path / "no-model"), "--clips-per-class", "3"]
    evaluate += ["--output-dir", str(tmp_path / "eval")]
    assert main(evaluate + ["--rir-bank", str(bank_dir), "--seed", "6"]) == 2
    error = capsys.readouterr().err
    assert "evaluate-spatial-ast: error: " in error and "generated from the sound catalogue with fingerprint" in error
    assert "(at generation: --sources procedural --clips-per-class 3 --seed 5)" in error
    other_bank = write_reverb_bank(tmp_path / "other_bank", num_rooms=4, per_room=16, seed=1)
    assert main(evaluate + ["--rir-bank", str(other_bank), "--seed", "5"]) == 2
    error = capsys.readouterr().err
    assert "generated from the RIR bank with fingerprint" in error and f"--rir-bank {bank_dir}" in error
    assert not (tmp_path / "eval").exists()


def test_empty_plans_partial_folders_and_stable_cards(bank_dir, tmp_path, capsys):
    assert _generate(bank_dir, tmp_path / "zero", "--per-type", "0") == 2
    assert "nothing to generate: every question type has a count of 0" in capsys.readouterr().err
    assert _generate(bank_dir, tmp_path / "one") == 0 and _generate(bank_dir, tmp_path / "two") == 0
    cards = [(tmp_path / name / "README.md").read_text() for name in ("one", "two")]
    assert cards[0] == cards[1] and "object at 0x" not in cards[0]
    assert "ProceduralCatalogue(clips_per_class=3, seed=5" in cards[0]
    # a folder whose generation was cut short refuses to load, saying how to finish it
    (tmp_path / "one" / "checksums.json").unlink()
    next((tmp_path / "one" / "data").rglob("*.parquet")).unlink()
    with pytest.raises(DatasetFolderError, match=r"generation is not finished \(1 of \d+ shards missing\)"):
        load_spatial_sound_qa(tmp_path / "one", "stage1")
    assert _generate(bank_dir, tmp_path / "one") == 0
    assert load_spatial_sound_qa(tmp_path / "one", "stage1", split="train").num_rows == 16
