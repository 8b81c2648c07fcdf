"""Turn BAT answer strings into structure: octant words + metres, metres, yes/no, direction words, class names.

The formats are those of SpatialSoundQA (``transformers_bat.data.answers`` writes them): "left, front, below; 2.5m",
"2.5m", "Yes" / "No", "left", "car; music". This module is self-contained (no package-relative imports) because it
travels with saved checkpoints for ``trust_remote_code`` loading; the tests cross-check it against
``transformers_bat.data.answers``.
"""

from __future__ import annotations

import re
from typing import Any

LATERAL_WORDS = ("left", "right")
FRONTAL_WORDS = ("front", "behind")
VERTICAL_WORDS = ("above", "below")
DIRECTION_WORDS = LATERAL_WORDS + FRONTAL_WORDS + VERTICAL_WORDS

# official question_type -> answer kind
QUESTION_TYPE_KINDS = {
    "CLASSIFICATION": "classes",
    "DOA": "direction_distance",
    "MIXUP_SINGLE_CLASSIFICATION": "classes",
    "MIXUP_SINGLE_DOA": "direction_distance",
    "MIXUP_DIRECTION": "yes_no",
    "MIXUP_DISTANCE_BOTH": "yes_no",
    "MIXUP_NONBINARY_DIRECTION": "direction",
    "MIXUP_NONBINARY_DISTANCE": "distance",
    "MIXUP_NONBINARY_SOURCE": "classes",
}
ANSWER_KINDS = ("direction_distance", "distance", "yes_no", "direction", "classes")

_DISTANCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:m|meters?|metres?)\s*\.?\s*$", re.IGNORECASE)


def _parse_distance(text: str) -> float:
    match = _DISTANCE.match(text)
    if not match:
        raise ValueError(f"not a distance: {text!r} (expected e.g. '2.5m')")
    return float(match.group(1))


def _parse_direction_distance(text: str) -> dict[str, Any]:
    if text.count(";") != 1:
        raise ValueError(f"not a direction answer: {text!r} (expected e.g. 'left, front, below; 2.5m')")
    words_part, distance_part = text.split(";")
    words = [word.strip().lower() for word in words_part.split(",")]
    allowed = (LATERAL_WORDS, FRONTAL_WORDS, VERTICAL_WORDS)
    if len(words) != 3 or any(word not in options for word, options in zip(words, allowed)):
        raise ValueError(f"not a direction answer: {text!r} (expected e.g. 'left, front, below; 2.5m')")
    return {
        "lateral": words[0],
        "frontal": words[1],
        "vertical": words[2],
        "distance_m": _parse_distance(distance_part),
    }


def _parse_yes_no(text: str) -> bool:
    word = text.strip().strip(".!").lower()
    if word not in ("yes", "no"):
        raise ValueError(f"not a yes/no answer: {text!r}")
    return word == "yes"


def _parse_direction(text: str) -> str:
    word = text.strip().strip(".").lower()
    if word not in DIRECTION_WORDS:
        raise ValueError(f"not a direction word: {text!r}")
    return word


def _parse_classes(text: str) -> list[str]:
    names = [name.strip().lower() for name in text.split(";") if name.strip()]
    if not names:
        raise ValueError(f"no class names in {text!r}")
    return names


_PARSERS = {
    "direction_distance": _parse_direction_distance,
    "distance": _parse_distance,
    "yes_no": _parse_yes_no,
    "direction": _parse_direction,
    "classes": _parse_classes,
}


def parse_answer(text: str, question_type: str | None = None) -> tuple[str | None, Any]:
    """Parse one answer into `(kind, value)`.

    With an official `question_type`, that type's format is required; a mismatch gives `(kind, None)`. Without it,
    the format is recognised from the text itself, most specific first; free text falls back to class names.

    Values: direction_distance -> `{"lateral", "frontal", "vertical", "distance_m"}`, distance -> metres (float),
    yes_no -> bool, direction -> one octant word, classes -> list of lower-case names.
    """
    if question_type is not None:
        if question_type not in QUESTION_TYPE_KINDS:
            raise ValueError(
                f"Unknown question_type {question_type!r}; expected one of {sorted(QUESTION_TYPE_KINDS)}."
            )
        kind = QUESTION_TYPE_KINDS[question_type]
        try:
            return kind, _PARSERS[kind](text)
        except ValueError:
            return kind, None
    for kind in ANSWER_KINDS:
        try:
            return kind, _PARSERS[kind](text)
        except ValueError:
            continue
    return None, None


__all__ = ["ANSWER_KINDS", "QUESTION_TYPE_KINDS", "parse_answer"]
