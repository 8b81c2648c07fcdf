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

# question_type -> answer kind
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
    # beyond the paper (transformers_bat.data.multi_source_questions; the data registry keeps this table in step)
    "MIXUP_COUNT": "count",
    "MIXUP_EXTREME_SOURCE": "classes",
    "MIXUP_THREE_RELATION": "yes_no",
}
ANSWER_KINDS = ("direction_distance", "distance", "yes_no", "direction", "count", "classes")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

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


def parse_count(text: str) -> int:
    """ "3" -> 3 (also "three", "3 sounds", "There are three.")."""
    words = re.findall(r"[a-z]+|\d+", text.lower())
    counts = [
        int(word) if word.isdigit() else NUMBER_WORDS.index(word)
        for word in words
        if word.isdigit() or word in NUMBER_WORDS
    ]
    if len(counts) != 1:
        raise ValueError(f"Not a count answer: {text!r} (expected one number, e.g. '3')")
    return counts[0]


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
    "count": parse_count,
    "classes": _some_classes,
}


def register_answer_kind(question_type: str, kind: str, parser=None) -> None:
    """Tell :func:`parse_answer` how a (new) question type's answers look: an existing kind, or a new kind with its
    parser (``text -> value``, ValueError when the text is not such an answer)."""
    if parser is not None:
        _PARSERS[kind] = parser
    elif kind not in _PARSERS:
        raise ValueError(
            f"Unknown answer kind {kind!r} for {question_type}; known: {sorted(_PARSERS)} (or pass a parser)"
        )
    QUESTION_TYPE_KINDS[question_type] = kind


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
        if kind == "count":
            continue  # a bare number is read as a distance; a count needs its question type
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
    "parse_count",
    "register_answer_kind",
    "parse_direction_word",
    "parse_distance",
    "parse_doa",
    "parse_yes_no",
]
