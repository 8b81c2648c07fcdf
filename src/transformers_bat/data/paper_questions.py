"""The paper's nine SpatialSoundQA question types (A-E) as registry entries: templates, planning, answer rule.

Each entry's rule reads the scene (source 1 first) and the question parameters; its ``assign`` hook balances what
the paper balances (octants and distance bins of source 1 for A-D, yes/no, asked axes, forms and words for E); the
vectorised ``outcome`` hooks let the planner test many candidate pairs at once (the rule decides the text).
"""

from __future__ import annotations

import numpy as np

from ..scene import Scene, Source
from . import answers
from . import question_types as qt
from .qa_generation import PlanTargets, balanced
from .question_templates import TEMPLATES, spoken_distance
from .scene_pool import AXIS_COMPONENT, AXIS_NEGATIVE_WORD, AXIS_POSITIVE_WORD, WORDS, ScenePool

DIRECTION_FORMS = ("both", "pair", "relative")


def _templates(question_type: str) -> dict[str, tuple[str, ...]]:
    return {form: paraphrases for (name, form), paraphrases in TEMPLATES.items() if name == question_type}


def _relative_or_tie(first: Source, second: Source, axis: str) -> str:
    word = answers.relative_word(first.spherical, second.spherical, axis)
    if word is None:
        raise answers.NearTieError(
            f"Sources are within {answers.RELATIVE_MARGIN_M} m of each other on the {axis} axis"
        )
    return word


# ------------------------------------------------------------------------------------------------ answer rules


def _classes_of_source_1(scene: Scene, params: qt.QuestionParams) -> str:
    return answers.classes_answer(scene[0].labels)


def _doa_of_source_1(scene: Scene, params: qt.QuestionParams) -> str:
    return answers.doa_answer(*scene[0].spherical)


def _direction_yes_no(scene: Scene, params: qt.QuestionParams) -> str:
    first, second = scene[0], scene[1]
    axis = answers.WORD_AXIS[params.direction]
    on_side = {source: answers.axis_word(source.azimuth_deg, source.elevation_deg, axis) for source in (first, second)}
    if params.form == "both":
        return answers.yes_no(on_side[first] == params.direction and on_side[second] == params.direction)
    if params.form == "pair":
        second_word = answers.axis_word(second.azimuth_deg, second.elevation_deg, answers.WORD_AXIS[params.direction2])
        return answers.yes_no(on_side[first] == params.direction and second_word == params.direction2)
    if params.form == "relative":
        return answers.yes_no(_relative_or_tie(first, second, axis) == params.direction)
    raise ValueError(f"Unknown MIXUP_DIRECTION form {params.form!r}; expected one of {DIRECTION_FORMS}")


def _closer_yes_no(scene: Scene, params: qt.QuestionParams) -> str:
    first, second = float(scene[0].distance_m), float(scene[1].distance_m)
    if abs(first - second) < answers.CLOSER_MARGIN_M:
        raise answers.NearTieError(f"Source distances differ by less than {answers.CLOSER_MARGIN_M} m")
    return answers.yes_no(first < second)


def _relative_direction(scene: Scene, params: qt.QuestionParams) -> str:
    return _relative_or_tie(scene[0], scene[1], params.axis)


def _separation(scene: Scene, params: qt.QuestionParams) -> str:
    return answers.separation_answer(float(answers.separation_m(*scene[0].spherical, *scene[1].spherical)))


def _source_on_side(scene: Scene, params: qt.QuestionParams) -> str:
    """The source on the asked side of source 2 is source 1."""
    if _relative_or_tie(scene[0], scene[1], answers.WORD_AXIS[params.direction]) != params.direction:
        raise ValueError(f"Source 1 is not on the {params.direction} side of source 2: the question has no answer")
    return answers.classes_answer(scene[0].labels)


def _located_source_fields(scene: Scene, params: qt.QuestionParams, names: list[str]) -> dict:
    """Type C names source 1's octant words and distance instead of its class."""
    lateral, frontal, vertical = scene[0].direction_words
    metres = float(answers.quantize_distance_m(scene[0].distance_m))
    return {"d1": lateral, "d2": frontal, "d3": vertical, "distance": spoken_distance(metres)}


# ------------------------------------------------------------------------------------------------ planning hooks


def _accept_all(pool: ScenePool, plan, rows, rirs) -> np.ndarray:
    return np.zeros(len(rows), dtype=object)


def _relative(pool: ScenePool, rir1: np.ndarray, rir2: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Word code saying where source 1 lies relative to source 2 on ``axis``; -1 for a near-tie."""
    component = AXIS_COMPONENT[axis]
    offset = pool.position_m[rir1, component] - pool.position_m[rir2, component]
    word = np.where(offset > 0, AXIS_POSITIVE_WORD[axis], AXIS_NEGATIVE_WORD[axis])
    return np.where(np.abs(offset) >= answers.RELATIVE_MARGIN_M, word, -1)


def _keys(codes: np.ndarray, names) -> np.ndarray:
    """Answer codes as planner keys: the answer words they stand for (None where negative: a near-tie)."""
    keys = np.empty(len(codes), dtype=object)
    keys[:] = [names[int(c)] if c >= 0 else None for c in codes]
    return keys


YES_NO = ("No", "Yes")


def _closer_outcome(pool: ScenePool, plan, rows, rirs) -> np.ndarray:
    d1, d2 = pool.distance_m[rirs[:, 0]], pool.distance_m[rirs[:, 1]]
    return _keys(np.where(np.abs(d1 - d2) >= answers.CLOSER_MARGIN_M, (d1 < d2).astype(np.int64), -1), YES_NO)


def _relative_outcome(pool: ScenePool, plan, rows, rirs) -> np.ndarray:
    return _keys(_relative(pool, rirs[:, 0], rirs[:, 1], plan.axis[rows]), WORDS)


def _direction_outcome(pool: ScenePool, plan, rows, rirs) -> np.ndarray:
    rir1, rir2 = rirs[:, 0], rirs[:, 1]
    form, axis, word1, word2 = plan.form[rows], plan.axis[rows], plan.word1[rows], plan.word2[rows]
    source1_word = pool.axis_words[rir1, axis]
    source2_word = pool.axis_words[rir2, axis]
    both = (source1_word == word1) & (source2_word == word1)
    pair = (source1_word == word1) & (source2_word == word2)
    relative = _relative(pool, rir1, rir2, axis)
    answer = np.where(form == 0, both, np.where(form == 1, pair, relative == word1)).astype(np.int64)
    return _keys(np.where((form == 2) & (relative < 0), -1, answer), YES_NO)


def _assign_doa(rng, n, plan, pool) -> PlanTargets:
    plan.form[:] = balanced(rng, n, 2)  # 0 = plain question, 1 = names the event
    return PlanTargets()


def _assign_direction(rng, n, plan, pool) -> PlanTargets:
    combination = balanced(rng, n, 3 * 3 * 2)  # form x axis x answer, jointly even
    plan.form[:], plan.axis[:], want = combination // 6, (combination // 2) % 3, combination % 2
    plan.word1[:] = 2 * plan.axis + rng.integers(0, 2, n)
    plan.word2[:] = np.where(plan.form == 1, 2 * plan.axis + rng.integers(0, 2, n), -1)
    return PlanTargets(want=_keys(want, YES_NO), balance_cell=False)


def _assign_closer(rng, n, plan, pool) -> PlanTargets:
    return PlanTargets(want=_keys(balanced(rng, n, 2), YES_NO), balance_cell=False)


def _assign_relative_direction(rng, n, plan, pool) -> PlanTargets:
    want = balanced(rng, n, 6)  # answer word codes, axis = word // 2
    plan.axis[:] = want // 2
    return PlanTargets(want=_keys(want, WORDS), balance_cell=False)


def _assign_separation(rng, n, plan, pool) -> PlanTargets:
    return PlanTargets(balance_cell=False)


def _assign_source_on_side(rng, n, plan, pool) -> PlanTargets:
    plan.word1[:] = balanced(rng, n, 6)
    plan.axis[:] = plan.word1 // 2
    # the key is the side source 1 is on (the answer is its classes)
    return PlanTargets(want=_keys(plan.word1, WORDS), balance_cell=False)


# ------------------------------------------------------------------------------------------------ the entries

ENTRIES = (
    qt.QuestionType(
        qt.CLASSIFICATION,
        "A",
        (1, 1),
        _templates(qt.CLASSIFICATION),
        _classes_of_source_1,
        "classes",
        description="which sound events are in a one-source clip",
    ),
    qt.QuestionType(
        qt.DOA,
        "B",
        (1, 1),
        _templates(qt.DOA),
        _doa_of_source_1,
        "direction_distance",
        assign=_assign_doa,
        description="octant and distance of a one-source clip (optionally naming its event)",
    ),
    qt.QuestionType(
        qt.MIXUP_SINGLE_CLASSIFICATION,
        "C",
        (2, 2),
        _templates(qt.MIXUP_SINGLE_CLASSIFICATION),
        _classes_of_source_1,
        "classes",
        outcome=_accept_all,
        question_fields=_located_source_fields,
        description="which sound comes from a stated direction and distance in a two-source mixture",
    ),
    qt.QuestionType(
        qt.MIXUP_SINGLE_DOA,
        "D",
        (2, 2),
        _templates(qt.MIXUP_SINGLE_DOA),
        _doa_of_source_1,
        "direction_distance",
        outcome=_accept_all,
        description="octant and distance of a named sound in a two-source mixture",
    ),
    qt.QuestionType(
        qt.MIXUP_DIRECTION,
        "E",
        (2, 2),
        _templates(qt.MIXUP_DIRECTION),
        _direction_yes_no,
        "yes_no",
        assign=_assign_direction,
        outcome=_direction_outcome,
        description="yes/no: both on a side / one on each named side / one on a side of the other",
    ),
    qt.QuestionType(
        qt.MIXUP_DISTANCE_BOTH,
        "E",
        (2, 2),
        _templates(qt.MIXUP_DISTANCE_BOTH),
        _closer_yes_no,
        "yes_no",
        assign=_assign_closer,
        outcome=_closer_outcome,
        description="yes/no: is one sound closer than the other",
    ),
    qt.QuestionType(
        qt.MIXUP_NONBINARY_DIRECTION,
        "E",
        (2, 2),
        _templates(qt.MIXUP_NONBINARY_DIRECTION),
        _relative_direction,
        "direction",
        assign=_assign_relative_direction,
        outcome=_relative_outcome,
        description="on which side of the other sound one sound is",
    ),
    qt.QuestionType(
        qt.MIXUP_NONBINARY_DISTANCE,
        "E",
        (2, 2),
        _templates(qt.MIXUP_NONBINARY_DISTANCE),
        _separation,
        "distance",
        assign=_assign_separation,
        outcome=_accept_all,
        description="how far apart the two sounds are",
    ),
    qt.QuestionType(
        qt.MIXUP_NONBINARY_SOURCE,
        "E",
        (2, 2),
        _templates(qt.MIXUP_NONBINARY_SOURCE),
        _source_on_side,
        "classes",
        assign=_assign_source_on_side,
        outcome=_relative_outcome,
        description="which sound is on a named side of the other",
    ),
)
assert tuple(entry.name for entry in ENTRIES) == qt.QUESTION_TYPES

for _entry in ENTRIES:
    qt.register(_entry)
