"""Question types as a registry: one :class:`QuestionType` entry holds everything about a type.

An entry says what the type is (its name, its paper letter, how many sources its scenes have), how it is asked
(paraphrases per form, the question's placeholders), how it is planned (balanced targets), how it is answered (a
rule from the scene and the question parameters) and how answers are parsed and scored (an answer kind of
:mod:`transformers_bat.answer_parsing`, or a parser and a scorer of its own). Generation, answering, parsing,
scoring and the dataset's stage configs all read the registry, so adding a type is one :func:`register` call.

The nine types of the paper keep the release's strings (``shared/reference/spatialsoundqa.md``), so files can be
exchanged with it both ways; they are registered in :mod:`.paper_questions`. Types beyond the paper (scenes of
three or four sources, letter "F") are in :mod:`.multi_source_questions`. Stages are cumulative, as in the paper's
curriculum: stage 1 = A+B, stage 2 = A-D, stage 3 = A-E, and ours, stage 4 = A-F.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

CLASSIFICATION = "CLASSIFICATION"
DOA = "DOA"
MIXUP_SINGLE_CLASSIFICATION = "MIXUP_SINGLE_CLASSIFICATION"
MIXUP_SINGLE_DOA = "MIXUP_SINGLE_DOA"
MIXUP_DIRECTION = "MIXUP_DIRECTION"
MIXUP_DISTANCE_BOTH = "MIXUP_DISTANCE_BOTH"
MIXUP_NONBINARY_DIRECTION = "MIXUP_NONBINARY_DIRECTION"
MIXUP_NONBINARY_DISTANCE = "MIXUP_NONBINARY_DISTANCE"
MIXUP_NONBINARY_SOURCE = "MIXUP_NONBINARY_SOURCE"

# The paper's nine types, in the release's order.
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

STAGE_LETTERS: dict[str, frozenset[str]] = {
    "stage1": frozenset("AB"),
    "stage2": frozenset("ABCD"),
    "stage3": frozenset("ABCDE"),
    "stage4": frozenset("ABCDEF"),
}
STAGES: tuple[str, ...] = tuple(STAGE_LETTERS)
PAPER_STAGES: tuple[str, ...] = ("stage1", "stage2", "stage3")
# The paper's data has at most two sources per scene; more is ours (``generate-qa --max-sources``).
PAPER_MAX_SOURCES = 2


@dataclass(frozen=True)
class QuestionParams:
    """What a question asks besides its scene: the variant (``form``), the axis and direction words it names."""

    form: str | None = None
    axis: str | None = None
    direction: str | None = None
    direction2: str | None = None

    @classmethod
    def from_record(cls, record: Mapping) -> QuestionParams:
        return cls(record.get("form"), record.get("axis"), record.get("direction"), record.get("direction2"))


@dataclass(frozen=True)
class QuestionType:
    """Everything about one question type.

    Attributes:
        name: the ``question_type`` string of its records.
        letter: the paper's letter (A-E), or "F" for types beyond the paper (stage 4).
        num_sources: (fewest, most) sources of its scenes; most ``None`` = as many as the request allows
            (``--max-sources``).
        templates: form -> paraphrases; placeholders are filled by ``question_fields``. Form "" for a type with a
            single base question.
        answer: the rule ``(scene, params) -> answer text``; raises
            :class:`~transformers_bat.data.answers.NearTieError` where the scene sits on a decision boundary.
        answer_kind: how answers are parsed (a kind of :mod:`transformers_bat.answer_parsing`) and scored.
        assign: planner hook ``(rng, n, plan, pool) -> PlanTargets``: balanced question parameters, wanted answer
            keys and sources per record (see :mod:`.qa_generation`); None = no constraint.
        outcome: optional vectorised ``(pool, plan, rows, rirs) -> keys`` used instead of ``answer`` while
            planning (speed); None = the rule, record by record, with the answer text as key.
        question_fields: optional ``(scene, params, names) -> dict`` of extra placeholders.
        parser: a parser for a new answer kind (``text -> value``, ValueError when unparsable).
        score: optional ``(truth_text, prediction_text, record) -> {metric: value}`` replacing the kind's scorer.
        description: one line for cards and listings.
    """

    name: str
    letter: str
    num_sources: tuple[int, int | None]
    templates: Mapping[str, tuple[str, ...]]
    answer: Callable[..., str]
    answer_kind: str
    assign: Callable[..., Any] | None = None
    outcome: Callable[..., Any] | None = None
    question_fields: Callable[..., dict] | None = None
    parser: Callable[[str], Any] | None = None
    score: Callable[..., dict] | None = None
    description: str = ""
    forms: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        if not self.templates or any(not paraphrases for paraphrases in self.templates.values()):
            raise ValueError(f"question type {self.name!r} needs at least one template per form")
        object.__setattr__(self, "forms", tuple(self.templates))
        fewest, most = self.num_sources
        if fewest < 1 or (most is not None and most < fewest):
            raise ValueError(f"question type {self.name!r}: bad num_sources {self.num_sources}")

    def source_range(self, max_sources: int) -> tuple[int, int]:
        """(fewest, most) sources of this type's scenes when scenes have at most ``max_sources``."""
        fewest, most = self.num_sources
        return fewest, max_sources if most is None else min(most, max_sources)

    def available(self, max_sources: int) -> bool:
        """Whether the type can be generated when scenes have at most ``max_sources`` sources."""
        return self.num_sources[0] <= max_sources and (self.letter != "F" or max_sources > PAPER_MAX_SOURCES)

    def templates_for(self, form: str = "") -> tuple[str, ...]:
        try:
            return self.templates[form]
        except KeyError:
            raise KeyError(f"No question templates for question_type={self.name!r}, form={form!r}") from None


_REGISTRY: dict[str, QuestionType] = {}
_BUILTINS_LOADED = False


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        from . import paper_questions  # noqa: F401, I001  (registers the paper's types first: codes 0-8)
        from . import multi_source_questions  # noqa: F401


def register(entry: QuestionType, *, replace: bool = False) -> QuestionType:
    """Add a question type; from then on it is generated, answered, parsed, scored and staged like the others."""
    from .. import answer_parsing

    _load_builtins()
    if entry.name in _REGISTRY and not replace:
        raise ValueError(f"question type {entry.name!r} is already registered (pass replace=True to redefine it)")
    if entry.letter not in {letter for letters in STAGE_LETTERS.values() for letter in letters}:
        raise ValueError(f"question type {entry.name!r}: letter {entry.letter!r} is in no stage ({STAGES})")
    answer_parsing.register_answer_kind(entry.name, entry.answer_kind, entry.parser)
    _REGISTRY[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a registered type (tests that register their own types clean up with it)."""
    from .. import answer_parsing

    if name in QUESTION_TYPES:
        raise ValueError(f"{name!r} is one of the paper's types and cannot be removed")
    _REGISTRY.pop(name, None)
    answer_parsing.QUESTION_TYPE_KINDS.pop(name, None)


def get(question_type: str, where: str = "") -> QuestionType:
    """The entry of a question type, or a ValueError that lists the registered names."""
    _load_builtins()
    try:
        return _REGISTRY[question_type]
    except (KeyError, TypeError):
        location = f" ({where})" if where else ""
        raise ValueError(
            f"Unknown SpatialSoundQA question_type {question_type!r}{location}; expected one of: "
            + ", ".join(registered_types())
        ) from None


def registered_types() -> tuple[str, ...]:
    """Every registered type: the paper's nine in the release's order, then the others in registration order."""
    _load_builtins()
    return tuple(_REGISTRY)


def validate_question_type(question_type: str, where: str = "") -> str:
    """Return ``question_type`` unchanged, or raise a ValueError that lists the registered strings."""
    return get(question_type, where).name


def type_code(question_type: str) -> int:
    """Stable small integer of a question type (its registration position; the paper's types are 0-8)."""
    return registered_types().index(validate_question_type(question_type))


def letter_of(question_type: str) -> str:
    return get(question_type).letter


def num_sources(question_type: str) -> tuple[int, int | None]:
    """(fewest, most) sources of a type's scenes (most None: up to the request's ``max_sources``)."""
    return get(question_type).num_sources


def answer_kind(question_type: str) -> str:
    return get(question_type).answer_kind


def stage_types(stage: str) -> tuple[str, ...]:
    """The question types of a (cumulative) stage, in registry order."""
    if stage not in STAGE_LETTERS:
        raise ValueError(f"Unknown stage {stage!r}; expected one of: {', '.join(STAGES)}")
    return tuple(t for t in registered_types() if _REGISTRY[t].letter in STAGE_LETTERS[stage])


def first_stage(question_type: str) -> str:
    """The earliest stage whose data contains this question type."""
    letter = letter_of(question_type)
    return next(stage for stage in STAGES if letter in STAGE_LETTERS[stage])


def in_stage(question_type: str, stage: str) -> bool:
    if stage not in STAGE_LETTERS:
        raise ValueError(f"Unknown stage {stage!r}; expected one of: {', '.join(STAGES)}")
    return letter_of(question_type) in STAGE_LETTERS[stage]
