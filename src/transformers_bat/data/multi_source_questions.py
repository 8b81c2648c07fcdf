"""Question types beyond the paper (letter F, stage 4): scenes of three or four sources, in the release's style.

- ``MIXUP_COUNT``: how many distinct sounds a scene has (1 to ``--max-sources``), answered with a number ("3").
- ``MIXUP_EXTREME_SOURCE``: which sound is the closest / farthest / leftmost / rightmost / frontmost / rearmost /
  highest / lowest, answered with its class names; the runner-up is at least 0.5 m less extreme (else a near-tie).
- ``MIXUP_THREE_RELATION`` (yes/no): is a sound on one side of both others, or between them on an axis; every
  pair compared is at least 0.5 m apart on that axis.

Each is one registry entry; the planner and the answer rule are the only code each needs. Positions and margins
follow :mod:`.answers` (listener-frame positions in metres; distances to the listener for closest/farthest).
"""

from __future__ import annotations

import numpy as np

from ..scene import Scene
from . import answers
from . import question_types as qt
from .qa_generation import PlanTargets, balanced
from .scene_pool import AXIS_NAMES

MIXUP_COUNT = "MIXUP_COUNT"
MIXUP_EXTREME_SOURCE = "MIXUP_EXTREME_SOURCE"
MIXUP_THREE_RELATION = "MIXUP_THREE_RELATION"

# form -> (what is compared: "distance" or an axis; +1 = the largest value wins, -1 = the smallest)
EXTREMES: dict[str, tuple[str, int]] = {
    "closest": ("distance", -1),
    "farthest": ("distance", +1),
    "leftmost": ("lateral", -1),
    "rightmost": ("lateral", +1),
    "frontmost": ("frontal", +1),
    "rearmost": ("frontal", -1),
    "highest": ("vertical", +1),
    "lowest": ("vertical", -1),
}
_EXTREME_WORDS = {
    "closest": "closest to you",
    "farthest": "farthest from you",
    "leftmost": "furthest to the left",
    "rightmost": "furthest to the right",
    "frontmost": "furthest in front",
    "rearmost": "furthest behind",
    "highest": "highest up",
    "lowest": "lowest down",
}
_EXTREME_TEMPLATES = (
    "Which sound is {extreme}?",
    "Of all the sounds you hear, which one is {extreme}?",
    "Name the sound that is {extreme}.",
    "Which of these sounds comes from the source {extreme}?",
    "What do you hear {extreme}?",
    "Identify the sound event located {extreme}.",
    "Among the sounds in this recording, which is {extreme}?",
    "Tell me which sound is {extreme}.",
    "Which source is {extreme} in this scene?",
    "Which sound event is {extreme}?",
)

COUNT_TEMPLATES = (
    "How many distinct sounds are there?",
    "How many different sound sources can you hear?",
    "Count the distinct sounds in this recording.",
    "How many separate sound events does this clip contain?",
    "What is the number of distinct sound sources here?",
    "How many different sounds are playing at once?",
    "Tell me how many distinct sounds you hear.",
    "How many sources of sound are in this scene?",
    "How many different things can be heard in the audio?",
    "Count the sound sources you can hear.",
)

RELATION_TEMPLATES = {
    "of_both": (
        "Is the {e1} on the {d} side of both the {e2} and the {e3}?",
        "Is the {e1} to the {d} of both the {e2} and the {e3}?",
        "Compared with both the {e2} and the {e3}, is the {e1} further to the {d}?",
        "Does the {e1} lie on the {d} side of the {e2} and also of the {e3}?",
        "Is the sound of {e1} {d} of both the sound of {e2} and the sound of {e3}?",
        "Relative to the {e2} and the {e3} alike, is the {e1} on the {d}?",
        "Would you place the {e1} on the {d} side of both the {e2} and the {e3}?",
        "Is the {e1} {d} of the {e2} as well as of the {e3}?",
        "Seen from you, is the {e1} on the {d} of both the {e2} and the {e3}?",
        "Is the source of {e1} on the {d} side of the sources of {e2} and {e3}?",
    ),
    "between": (
        "Is the {e1} between the {e2} and the {e3}, {between}?",
        "Going {between}, does the {e1} lie between the {e2} and the {e3}?",
        "{Between}, is the {e1} in between the {e2} and the {e3}?",
        "Does the {e1} sit between the {e2} and the {e3}, {between}?",
        "Is the sound of {e1} located between the sounds of {e2} and {e3}, {between}?",
        "{Between}, would you place the {e1} between the {e2} and the {e3}?",
        "Is the {e1} in the middle of the {e2} and the {e3}, {between}?",
        "Is the source of {e1} between those of {e2} and {e3}, {between}?",
        "Seen from you and going {between}, is the {e1} between the {e2} and the {e3}?",
        "Does the {e1} come from between the {e2} and the {e3}, {between}?",
    ),
}
_BETWEEN_WORDS = {"lateral": "from left to right", "frontal": "from front to back", "vertical": "from top to bottom"}


def _value(scene_source, what: str) -> float:
    """Distance to the listener, or the listener-frame position on an axis (metres)."""
    if what == "distance":
        return float(scene_source.distance_m)
    component, _, _ = answers.AXES[what]
    return float(scene_source.position_m[component])


# ------------------------------------------------------------------------------------------------ MIXUP_COUNT


def _count(scene: Scene, params: qt.QuestionParams) -> str:
    return str(len(scene))


# ------------------------------------------------------------------------------------------- MIXUP_EXTREME_SOURCE


def _extreme(scene: Scene, params: qt.QuestionParams) -> str:
    what, sign = EXTREMES[params.form]
    values = np.array([sign * _value(source, what) for source in scene])
    order = np.argsort(-values)
    if values[order[0]] - values[order[1]] < answers.RELATIVE_MARGIN_M:
        raise answers.NearTieError(f"The two most {params.form} sources are within {answers.RELATIVE_MARGIN_M} m")
    return answers.classes_answer(scene[int(order[0])].labels)


def _assign_extreme(rng, n, plan, pool) -> PlanTargets:
    plan.form[:] = balanced(rng, n, len(EXTREMES))
    what = [EXTREMES[form][0] for form in EXTREMES]
    plan.axis[:] = [AXIS_NAMES.index(what[f]) if what[f] != "distance" else -1 for f in plan.form]
    # source 1 is the sound the question is about: the answer must be its classes
    want = np.empty(n, dtype=object)
    want[:] = [answers.classes_answer(pool.clip_labels[clip]) for clip in plan.clips[:, 0]]
    return PlanTargets(want=want, balance_cell=False)


def _extreme_fields(scene: Scene, params: qt.QuestionParams, names: list[str]) -> dict:
    return {"extreme": _EXTREME_WORDS[params.form]}


# ------------------------------------------------------------------------------------------- MIXUP_THREE_RELATION


def _three_relation(scene: Scene, params: qt.QuestionParams) -> str:
    first, second, third = scene[0], scene[1], scene[2]
    if params.form == "of_both":
        axis = answers.WORD_AXIS[params.direction]
        sides = [answers.relative_word(first.spherical, other.spherical, axis) for other in (second, third)]
        if None in sides:
            raise answers.NearTieError(f"Sources are within {answers.RELATIVE_MARGIN_M} m on the {axis} axis")
        return answers.yes_no(all(side == params.direction for side in sides))
    if params.form == "between":
        x1, x2, x3 = (_value(source, params.axis) for source in (first, second, third))
        if min(abs(x1 - x2), abs(x1 - x3)) < answers.RELATIVE_MARGIN_M:
            raise answers.NearTieError(f"Sources are within {answers.RELATIVE_MARGIN_M} m on the {params.axis} axis")
        return answers.yes_no(min(x2, x3) < x1 < max(x2, x3))
    raise ValueError(
        f"Unknown {MIXUP_THREE_RELATION} form {params.form!r}; expected one of {tuple(RELATION_TEMPLATES)}"
    )


def _assign_three_relation(rng, n, plan, pool) -> PlanTargets:
    combination = balanced(rng, n, 2 * 3 * 2)  # form x axis x answer, jointly even
    plan.form[:], plan.axis[:], answer = combination // 6, (combination // 2) % 3, combination % 2
    plan.word1[:] = np.where(plan.form == 0, 2 * plan.axis + rng.integers(0, 2, n), -1)
    want = np.empty(n, dtype=object)
    want[:] = [answers.yes_no(bool(a)) for a in answer]
    return PlanTargets(want=want, balance_cell=False)


def _relation_fields(scene: Scene, params: qt.QuestionParams, names: list[str]) -> dict:
    if params.form != "between":
        return {}
    words = _BETWEEN_WORDS[params.axis]
    return {"between": words, "Between": words[0].upper() + words[1:]}


# ------------------------------------------------------------------------------------------------ the entries

ENTRIES = (
    qt.QuestionType(
        MIXUP_COUNT,
        "F",
        (1, None),
        {"": COUNT_TEMPLATES},
        _count,
        "count",
        description="how many distinct sounds the scene has",
    ),
    qt.QuestionType(
        MIXUP_EXTREME_SOURCE,
        "F",
        (3, None),
        {form: _EXTREME_TEMPLATES for form in EXTREMES},
        _extreme,
        "classes",
        assign=_assign_extreme,
        question_fields=_extreme_fields,
        description="which of three or more sounds is the closest / farthest / leftmost / ... one",
    ),
    qt.QuestionType(
        MIXUP_THREE_RELATION,
        "F",
        (3, 3),
        RELATION_TEMPLATES,
        _three_relation,
        "yes_no",
        assign=_assign_three_relation,
        question_fields=_relation_fields,
        description="yes/no: is a sound on one side of both others, or between them on an axis",
    ),
)

for _entry in ENTRIES:
    qt.register(_entry)
