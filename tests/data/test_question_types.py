"""The question-type registry: the paper's types, stages, and a type a test registers that then works end to end."""

import datasets
import numpy as np
import pytest

from transformers_bat import labels as lb
from transformers_bat.answer_parsing import parse_answer
from transformers_bat.data import GenerationRequest, derive_answer, parse_per_type, write_dataset
from transformers_bat.data import question_types as qt
from transformers_bat.data.answers import NearTieError
from transformers_bat.data.qa_generation import PlanTargets, balanced
from transformers_bat.evaluation.qa_metrics import score_answers


def test_official_strings_and_letters():
    assert len(qt.QUESTION_TYPES) == 9
    assert [qt.letter_of(t) for t in qt.QUESTION_TYPES] == list("ABCD") + ["E"] * 5
    assert qt.registered_types()[:9] == qt.QUESTION_TYPES  # their codes (ids, random streams) stay 0-8
    assert [qt.letter_of(t) for t in qt.registered_types()[9:]] == ["F"] * 3


def test_stages_are_cumulative():
    assert qt.stage_types("stage1") == ("CLASSIFICATION", "DOA")
    assert set(qt.stage_types("stage1")) < set(qt.stage_types("stage2")) < set(qt.stage_types("stage3"))
    assert qt.stage_types("stage3") == qt.QUESTION_TYPES
    assert set(qt.stage_types("stage3")) < set(qt.stage_types("stage4"))
    assert qt.first_stage("MIXUP_SINGLE_DOA") == "stage2" and qt.first_stage("MIXUP_COUNT") == "stage4"


def test_unknown_type_message_lists_registered_strings():
    with pytest.raises(
        ValueError, match=r"Unknown SpatialSoundQA question_type 'MIXUP_LOUDNESS' \(file x\).*MIXUP_DIRECTION"
    ):
        qt.validate_question_type("MIXUP_LOUDNESS", where="file x")
    with pytest.raises(ValueError, match="Unknown stage 'stage5'"):
        qt.stage_types("stage5")


def test_answer_parsing_knows_every_registered_type():
    from transformers_bat.answer_parsing import QUESTION_TYPE_KINDS

    assert {t: qt.answer_kind(t) for t in qt.registered_types()} == QUESTION_TYPE_KINDS


def test_bad_entries_are_refused():
    with pytest.raises(ValueError, match="already registered"):
        qt.register(qt.get("DOA"))
    with pytest.raises(ValueError, match="letter 'Z' is in no stage"):
        qt.register(qt.QuestionType("MIXUP_Z", "Z", (2, 2), {"": ("?",)}, lambda scene, params: "", "yes_no"))
    with pytest.raises(ValueError, match="at least one template"):
        qt.QuestionType("MIXUP_Z", "F", (2, 2), {"": ()}, lambda scene, params: "", "yes_no")
    with pytest.raises(ValueError, match="Unknown answer kind 'angle'"):
        qt.register(qt.QuestionType("MIXUP_Z", "F", (2, 2), {"": ("?",)}, lambda scene, params: "", "angle"))
    with pytest.raises(ValueError, match="cannot be removed"):
        qt.unregister("DOA")


# ---------------------------------------------------------------------------------- a type the package lacks


def _angle(scene, params) -> str:
    """The angle between the two sources seen from the listener, to 10 degrees."""
    first, second = scene[0], scene[1]
    angle = float(
        lb.great_circle_deg(first.azimuth_deg, first.elevation_deg, second.azimuth_deg, second.elevation_deg)
    )
    if abs(angle / 10.0 - round(angle / 10.0)) > 0.4:
        raise NearTieError("on a rounding boundary")
    return f"{10 * round(angle / 10.0)} degrees"


def _parse_degrees(text: str) -> float:
    words = text.replace("degrees", " ").split()
    if len(words) != 1:
        raise ValueError(f"not an angle: {text!r}")
    return float(words[0])


def _score_angle(truth: str, prediction: str, record) -> dict:
    return {"within_20_deg": float(abs(_parse_degrees(truth) - _parse_degrees(prediction)) <= 20.0)}


def _assign_wide_or_narrow(rng, n, plan, pool) -> PlanTargets:
    plan.form[:] = balanced(rng, n, 2)  # two phrasings, evenly
    return PlanTargets(balance_cell=False)


ANGLE = qt.QuestionType(
    "MIXUP_ANGLE_BETWEEN",
    "F",
    (2, 2),
    {
        "plain": ("What angle separates the {e1} and the {e2}?", "How many degrees apart are the {e1} and the {e2}?"),
        "from_you": ("Seen from you, what is the angle between the {e1} and the {e2}?",),
    },
    _angle,
    "angle",
    assign=_assign_wide_or_narrow,
    parser=_parse_degrees,
    score=_score_angle,
    description="the angle between two sounds",
)


@pytest.fixture()
def angle_type():
    qt.register(ANGLE)
    yield ANGLE
    qt.unregister(ANGLE.name)


def test_a_registered_type_is_generated_answered_parsed_and_scored(angle_type, pools, tmp_path):
    counts = parse_per_type("MIXUP_ANGLE_BETWEEN=40,A=8", max_sources=3)
    assert counts["MIXUP_ANGLE_BETWEEN"] == 40
    request = GenerationRequest(
        counts={"train": counts, "test": parse_per_type("MIXUP_ANGLE_BETWEEN=10", max_sources=3)},
        seed=1,
        max_sources=3,
    )
    write_dataset(tmp_path, pools, request)
    stage4 = datasets.load_dataset(str(tmp_path), "stage4", split="train")
    records = [r for r in stage4 if r["question_type"] == "MIXUP_ANGLE_BETWEEN"]
    assert len(records) == 40 and {r["form"] for r in records} == {"plain", "from_you"}
    for record in records:
        assert record["answer"] == derive_answer(record)
        assert record["answer"].endswith(" degrees") and len(record["sources"]) == 2
        assert parse_answer(record["answer"], record["question_type"]) == ("angle", _parse_degrees(record["answer"]))
    predictions = [f"{_parse_degrees(r['answer']) + 10 * (k % 4)} degrees" for k, r in enumerate(records)]
    summary = score_answers(records, predictions)
    assert summary["per_type"]["MIXUP_ANGLE_BETWEEN"]["within_20_deg"] == pytest.approx(0.75)
    unparsable = score_answers(records[:4], ["far"] * 4)
    assert unparsable["unparsed"] == {"MIXUP_ANGLE_BETWEEN": 4}
    assert unparsable["per_type"]["MIXUP_ANGLE_BETWEEN"]["within_20_deg"] == 0.0
    assert np.all(
        [
            r["question_type"] != "MIXUP_ANGLE_BETWEEN"
            for r in datasets.load_dataset(str(tmp_path), "stage3", split="train")
        ]
    )


def test_unregistered_type_leaves_no_trace(angle_type):
    qt.unregister(angle_type.name)
    with pytest.raises(ValueError, match="Unknown SpatialSoundQA question_type"):
        qt.get("MIXUP_ANGLE_BETWEEN")
    qt.register(angle_type)  # for the fixture's clean-up
