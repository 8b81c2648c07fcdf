"""The official SpatialSoundQA ``question_type`` strings, their paper letters and the training stages.

The strings are exactly those of the authors' release (``shared/reference/spatialsoundqa.md``), so files can be
exchanged with it both ways. Stages are cumulative, as in the paper's curriculum: stage 1 = A+B, stage 2 = A-D,
stage 3 = A-E.
"""

from __future__ import annotations

CLASSIFICATION = "CLASSIFICATION"
DOA = "DOA"
MIXUP_SINGLE_CLASSIFICATION = "MIXUP_SINGLE_CLASSIFICATION"
MIXUP_SINGLE_DOA = "MIXUP_SINGLE_DOA"
MIXUP_DIRECTION = "MIXUP_DIRECTION"
MIXUP_DISTANCE_BOTH = "MIXUP_DISTANCE_BOTH"
MIXUP_NONBINARY_DIRECTION = "MIXUP_NONBINARY_DIRECTION"
MIXUP_NONBINARY_DISTANCE = "MIXUP_NONBINARY_DISTANCE"
MIXUP_NONBINARY_SOURCE = "MIXUP_NONBINARY_SOURCE"

# Order matters: it fixes the numeric code of each type (used in question ids and random streams).
QUESTION_TYPES: tuple[str, ...] = (
    CLASSIFICATION,
    DOA,
    MIXUP_SINGLE_CLASSIFICATION,
    MIXUP_SINGLE_DOA,
    MIXUP_DIRECTION,
    MIXUP_DISTANCE_BOTH,
    MIXUP_NONBINARY_DIRECTION,
    MIXUP_NONBINARY_DISTANCE,
    MIXUP_NONBINARY_SOURCE,
)

PAPER_LETTER: dict[str, str] = {
    CLASSIFICATION: "A",
    DOA: "B",
    MIXUP_SINGLE_CLASSIFICATION: "C",
    MIXUP_SINGLE_DOA: "D",
    MIXUP_DIRECTION: "E",
    MIXUP_DISTANCE_BOTH: "E",
    MIXUP_NONBINARY_DIRECTION: "E",
    MIXUP_NONBINARY_DISTANCE: "E",
    MIXUP_NONBINARY_SOURCE: "E",
}

SINGLE_SOURCE_TYPES = frozenset({CLASSIFICATION, DOA})
BINARY_TYPES = frozenset({MIXUP_DIRECTION, MIXUP_DISTANCE_BOTH})

STAGE_LETTERS: dict[str, frozenset[str]] = {
    "stage1": frozenset("AB"),
    "stage2": frozenset("ABCD"),
    "stage3": frozenset("ABCDE"),
}
STAGES: tuple[str, ...] = tuple(STAGE_LETTERS)


def validate_question_type(question_type: str, where: str = "") -> str:
    """Return ``question_type`` unchanged, or raise a ValueError that lists the official strings."""
    if question_type not in PAPER_LETTER:
        location = f" ({where})" if where else ""
        raise ValueError(
            f"Unknown SpatialSoundQA question_type {question_type!r}{location}; expected one of: "
            + ", ".join(QUESTION_TYPES)
        )
    return question_type


def type_code(question_type: str) -> int:
    """Stable small integer of a question type (its position in :data:`QUESTION_TYPES`)."""
    return QUESTION_TYPES.index(validate_question_type(question_type))


def num_sources(question_type: str) -> int:
    """1 for types A and B, 2 for every mixture type."""
    return 1 if validate_question_type(question_type) in SINGLE_SOURCE_TYPES else 2


def stage_types(stage: str) -> tuple[str, ...]:
    """The question types of a (cumulative) stage, in canonical order."""
    if stage not in STAGE_LETTERS:
        raise ValueError(f"Unknown stage {stage!r}; expected one of: {', '.join(STAGES)}")
    return tuple(t for t in QUESTION_TYPES if PAPER_LETTER[t] in STAGE_LETTERS[stage])


def first_stage(question_type: str) -> str:
    """The earliest stage whose data contains this question type."""
    letter = PAPER_LETTER[validate_question_type(question_type)]
    return next(stage for stage in STAGES if letter in STAGE_LETTERS[stage])
