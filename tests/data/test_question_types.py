import pytest

from transformers_bat.data import question_types as qt


def test_official_strings_and_letters():
    assert len(qt.QUESTION_TYPES) == 9
    assert [qt.PAPER_LETTER[t] for t in qt.QUESTION_TYPES] == list("ABCD") + ["E"] * 5


def test_stages_are_cumulative():
    assert qt.stage_types("stage1") == ("CLASSIFICATION", "DOA")
    assert set(qt.stage_types("stage1")) < set(qt.stage_types("stage2")) < set(qt.stage_types("stage3"))
    assert qt.stage_types("stage3") == qt.QUESTION_TYPES
    assert qt.first_stage("MIXUP_SINGLE_DOA") == "stage2"


def test_unknown_type_message_lists_official_strings():
    with pytest.raises(
        ValueError, match=r"Unknown SpatialSoundQA question_type 'MIXUP_LOUDNESS' \(file x\).*MIXUP_DIRECTION"
    ):
        qt.validate_question_type("MIXUP_LOUDNESS", where="file x")
    with pytest.raises(ValueError, match="Unknown stage 'stage4'"):
        qt.stage_types("stage4")
