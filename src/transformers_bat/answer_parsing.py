"""SpatialSoundQA answer strings back into structure: octant words + metres, metres, yes/no, direction words, class
names.

The formats are those written by ``transformers_bat.data.answers``: "left, front, below; 2.5m", "2.5m",
"Yes" / "No", "left", "car; music". One home for parsing, used by the evaluation metrics and the QA pipeline (and
copied into saved checkpoints by ``transformers_bat.remote_code``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from .labels import FRONTAL_WORDS, LATERAL_WORDS, VERTICAL_WORDS

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

_DISTANCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:m|meters?|metres?)?\s*\.?\s*$", re.IGNORECASE)
_DOA_FORMAT = "expected e.g. 'left, front, below; 2.5m'"


@dataclass(frozen=True)
class DoaAnswer:
    """A parsed direction + distance answer."""

    lateral: str
    frontal: str
    vertical: str
    distance_m: float

    @property
    def octant(self) -> int:
        """Octant number with the numbering of :func:`transformers_bat.labels.octant_index`."""
        return 4 * (self.lateral == "left") + 2 * (self.frontal == "behind") + (self.vertical == "below")


def parse_distance(text: str) -> float:
    """ "2.5m" -> 2.5 (also "2.5 m", "2.5 meters", "2.5")."""
    match = _DISTANCE.match(text)
    if not match:
        raise ValueError(f"Not a distance answer: {text!r} (expected e.g. '2.5m')")
    return float(match.group(1))


def parse_doa(text: str) -> DoaAnswer:
    """ "left, front, below; 2.5m" -> DoaAnswer("left", "front", "below", 2.5)."""
    if text.count(";") != 1:
        raise ValueError(f"Not a direction answer: {text!r} ({_DOA_FORMAT})")
    words_part, distance_part = text.split(";")
    words = [word.strip().lower() for word in words_part.split(",")]
    allowed = (LATERAL_WORDS, FRONTAL_WORDS, VERTICAL_WORDS)
    if len(words) != 3 or any(word not in options for word, options in zip(words, allowed)):
        raise ValueError(f"Not a direction answer: {text!r} ({_DOA_FORMAT})")
    return DoaAnswer(*words, distance_m=parse_distance(distance_part))


def parse_yes_no(text: str) -> bool:
    """ "Yes" -> True, "No" -> False (case and trailing punctuation ignored)."""
    word = text.strip().strip(".!").lower()
    if word not in ("yes", "no"):
        raise ValueError(f"Not a yes/no answer: {text!r}")
    return word == "yes"


def parse_direction_word(text: str) -> str:
    """One octant word ("left", "behind", ...)."""
    word = text.strip().strip(".").lower()
    if word not in DIRECTION_WORDS:
        raise ValueError(f"Not a direction word: {text!r}; expected one of {sorted(DIRECTION_WORDS)}")
    return word


def parse_classes(text: str) -> list[str]:
    """ "car; music" -> ["car", "music"] (class names may contain commas; the separator is ";")."""
    return [name.strip().lower() for name in text.split(";") if name.strip()]


def _some_classes(text: str) -> list[str]:
    names = parse_classes(text)
    if not names:
        raise ValueError(f"No class names in {text!r}")
    return names


_PARSERS = {
    "direction_distance": lambda text: dataclasses.asdict(parse_doa(text)),
    "distance": parse_distance,
    "yes_no": parse_yes_no,
    "direction": parse_direction_word,
    "classes": _some_classes,
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


__all__ = [
    "ANSWER_KINDS",
    "DIRECTION_WORDS",
    "DoaAnswer",
    "QUESTION_TYPE_KINDS",
    "parse_answer",
    "parse_classes",
    "parse_direction_word",
    "parse_distance",
    "parse_doa",
    "parse_yes_no",
]
