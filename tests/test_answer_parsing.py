"""Answer strings back into structure: the parsers invert the formats of `transformers_bat.data.answers`."""

import numpy as np
import pytest

from transformers_bat.answer_parsing import (
    DoaAnswer,
    parse_answer,
    parse_classes,
    parse_direction_word,
    parse_distance,
    parse_doa,
    parse_yes_no,
)
from transformers_bat.data import answers


def test_parsers_invert_the_formats():
    parsed = parse_doa("left, behind, below; 2.5m")
    assert parsed == DoaAnswer("left", "behind", "below", 2.5)
    assert parsed.octant == 7
    assert parse_classes("heart sounds, heartbeat; music") == ["heart sounds, heartbeat", "music"]
    assert parse_distance("10m") == 10.0
    assert parse_yes_no("Yes") is True and parse_yes_no("no.") is False
    assert parse_direction_word("Behind") == "behind"


@pytest.mark.parametrize(
    "text", ["left, front; 2m", "up, front, below; 2m", "left, front, below", "left front below 2m"]
)
def test_malformed_direction_answers_are_rejected(text):
    with pytest.raises(ValueError, match="Not a direction answer"):
        parse_doa(text)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        (
            "left, front, below; 2.5m",
            "direction_distance",
            {"lateral": "left", "frontal": "front", "vertical": "below", "distance_m": 2.5},
        ),
        (
            "Right, Behind, Above; 10m",
            "direction_distance",
            {"lateral": "right", "frontal": "behind", "vertical": "above", "distance_m": 10.0},
        ),
        ("3.5m", "distance", 3.5),
        ("2 meters", "distance", 2.0),
        ("Yes", "yes_no", True),
        ("no.", "yes_no", False),
        ("behind", "direction", "behind"),
        ("Car; music", "classes", ["car", "music"]),
        ("speech", "classes", ["speech"]),
        ("", None, None),
    ],
)
def test_parse_answer(text, kind, value):
    assert parse_answer(text) == (kind, value)


def test_parse_answer_with_question_type():
    assert parse_answer("left", "MIXUP_NONBINARY_DIRECTION") == ("direction", "left")
    assert parse_answer("Yes", "MIXUP_DIRECTION") == ("yes_no", True)
    assert parse_answer("maybe", "MIXUP_DISTANCE_BOTH") == ("yes_no", None)
    assert parse_answer("1.5m", "MIXUP_NONBINARY_DISTANCE") == ("distance", 1.5)
    with pytest.raises(ValueError, match="Unknown question_type"):
        parse_answer("Yes", "NOT_A_TYPE")


def test_parser_agrees_with_the_answer_generator():
    rng = np.random.default_rng(0)
    for _ in range(200):
        azimuth, elevation, distance = rng.uniform(0, 360), rng.uniform(-80, 80), rng.uniform(0.3, 9.8)
        text = answers.doa_answer(azimuth, elevation, distance)
        kind, parsed = parse_answer(text)
        reference = parse_doa(text)
        assert kind == "direction_distance"
        assert (parsed["lateral"], parsed["frontal"], parsed["vertical"]) == (
            reference.lateral,
            reference.frontal,
            reference.vertical,
        )
        assert parsed["distance_m"] == reference.distance_m
    assert parse_answer(answers.classes_answer(["Music", "Car"])) == ("classes", ["car", "music"])
    assert parse_answer(answers.yes_no(False)) == ("yes_no", False)
    assert parse_answer(answers.separation_answer(3.26)) == ("distance", 3.5)


# ---------------------------------------------------------------- chats, streams, gradio, any-to-any
