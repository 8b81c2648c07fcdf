import string

import pytest

from transformers_bat.data import question_templates as qtpl
from transformers_bat.data import question_types as qt

FIELDS = {
    "event": "dog",
    "e1": "dog",
    "e2": "piano",
    "d": "left",
    "d1": "left",
    "d2": "front",
    "d3": "above",
    "distance": "2.5 meters",
    "options": qtpl.AXIS_OPTIONS["lateral"],
    "options_of": qtpl.AXIS_OPTIONS_OF["lateral"],
}


@pytest.mark.parametrize("key", sorted(qtpl.TEMPLATES))
def test_at_least_ten_distinct_paraphrases_that_format(key):
    phrasings = qtpl.TEMPLATES[key]
    assert len(set(phrasings)) == len(phrasings) >= 10
    for template in phrasings:
        text = template.format(**FIELDS)
        assert "{" not in text and text.strip() == text and text[-1] in "?."


def test_every_question_type_has_templates():
    assert {question_type for question_type, _ in qtpl.TEMPLATES} == set(qt.QUESTION_TYPES)


@pytest.mark.parametrize("key", sorted(qtpl.TEMPLATES))
def test_two_source_questions_name_both_sources(key):
    question_type, form = key
    names = {name for template in qtpl.TEMPLATES[key] for _, name, _, _ in string.Formatter().parse(template) if name}
    if question_type in (
        qt.MIXUP_DIRECTION,
        qt.MIXUP_DISTANCE_BOTH,
        qt.MIXUP_NONBINARY_DIRECTION,
        qt.MIXUP_NONBINARY_DISTANCE,
    ):
        for template in qtpl.TEMPLATES[key]:
            assert "{e1}" in template and "{e2}" in template, template
    if question_type == qt.MIXUP_NONBINARY_SOURCE:
        assert all("{e2}" in t and "{e1}" not in t and "{d}" in t for t in qtpl.TEMPLATES[key])
    assert names <= set(FIELDS)


def test_spoken_distance():
    assert qtpl.spoken_distance(1.0) == "1 meter"
    assert qtpl.spoken_distance(2.5) == "2.5 meters"
