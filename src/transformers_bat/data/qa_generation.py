"""Balanced, reproducible SpatialSoundQA question planning: labels first, then RIRs and clips that match.

A *plan* is a set of numpy columns (RIR and clip indices into a :class:`ScenePool`, template index, question
parameters) for all records of one (split, question type). Planning is vectorised and cheap, so every process
computes the same full plan from ``(seed, split, type)`` and then turns only its own slice into records: output
is identical whatever the number of shards, processes or interruptions.

How balance is reached:
- Source 1 of types A-D gets its (octant, distance bin) cell assigned first, evenly over the 8 octants and, within
  an octant, evenly over the distance bins the bank has there; an RIR is then drawn from that cell.
- Yes/No answers (type E), asked words, axes and forms are assigned evenly first; RIR pairs from one room are
  then proposed (source 1 from a random cell) and kept only when they give the assigned answer. Pairs at
  near-ties (octant planes, equal distances, equal positions on the asked axis) are never kept.
- Two-source records always mix clips with disjoint class labels at RIRs in different octants of one room.
When the bank or catalogue cannot satisfy a request, a ``ValueError`` names what is short.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import answers
from . import question_templates as templates
from . import question_types as qt
from .records import ARROW_SCHEMA
from .scene_pool import AXIS_COMPONENT, AXIS_NAMES, AXIS_NEGATIVE_WORD, AXIS_POSITIVE_WORD, WORDS, ScenePool

DEFAULT_PLANE_MARGIN_DEG = 5.0
MAX_ROUNDS = 200
SPLIT_CODES = {"train": 0, "test": 1, "validation": 2}
FORMS_DIRECTION = ("both", "pair", "relative")
QUESTION_ID_STRIDE = 100_000_000


@dataclass
class QuestionPlan:
    """Columns of one (split, question type): indices into the pool plus question parameters. -1 = unused."""

    question_type: str
    rir1: np.ndarray
    clip1: np.ndarray
    rir2: np.ndarray
    clip2: np.ndarray
    template: np.ndarray
    form: np.ndarray  # 0/1/2 = both/pair/relative (MIXUP_DIRECTION); 1 = named event (DOA)
    axis: np.ndarray  # 0/1/2 = lateral/frontal/vertical
    word1: np.ndarray  # codes into WORDS
    word2: np.ndarray
    event1: np.ndarray  # which of clip 1's labels names it in the question
    event2: np.ndarray
    question_id: np.ndarray

    def __len__(self) -> int:
        return len(self.rir1)

    def slice(self, start: int, stop: int) -> QuestionPlan:
        return QuestionPlan(
            self.question_type, **{k: v[start:stop] for k, v in vars(self).items() if isinstance(v, np.ndarray)}
        )


def plan_rng(seed: int, split: str, question_type: str) -> np.random.Generator:
    """The random stream of one (seed, split, type): independent of every other stream."""
    return np.random.default_rng([int(seed), SPLIT_CODES.get(split, 9), qt.type_code(question_type), 0xBA7])


def _balanced(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """n values in 0..k-1, each appearing n // k or n // k + 1 times, in random order."""
    return rng.permutation(np.arange(n) % k) if k > 0 else np.zeros(0, dtype=np.int64)


def _cycled_permutations(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """n indices in 0..k-1 that use every index once per cycle of k (even reuse)."""
    cycles = -(-n // k)
    return np.argsort(rng.random((cycles, k)), axis=1).ravel()[:n]


class _Cells:
    """Eligible RIRs grouped by (octant, distance bin) cell and by room."""

    def __init__(self, pool: ScenePool, eligible: np.ndarray):
        self.index = np.flatnonzero(eligible)
        cell = pool.octant[self.index] * 64 + pool.distance_bin[self.index]
        order = np.argsort(cell, kind="stable")
        self.index = self.index[order]
        self.keys, self.start, self.count = np.unique(cell[order], return_index=True, return_counts=True)
        room = pool.room_code[self.index]
        room_order = np.argsort(room, kind="stable")
        self.by_room = self.index[room_order]
        rooms, room_start, room_count = np.unique(room[room_order], return_index=True, return_counts=True)
        self.room_start = np.zeros(pool.room_code.max(initial=0) + 1, dtype=np.int64)
        self.room_count = np.zeros_like(self.room_start)
        self.room_start[rooms] = room_start
        self.room_count[rooms] = room_count

    def octants(self) -> np.ndarray:
        return np.unique(self.keys // 64)

    def draw_in_cell(self, rng: np.random.Generator, cell_pos: np.ndarray) -> np.ndarray:
        """One RIR index per entry of ``cell_pos`` (positions into ``keys``), uniform within the cell."""
        offset = (rng.random(len(cell_pos)) * self.count[cell_pos]).astype(np.int64)
        return self.index[self.start[cell_pos] + offset]

    def draw_in_room(self, rng: np.random.Generator, rooms: np.ndarray) -> np.ndarray:
        offset = (rng.random(len(rooms)) * self.room_count[rooms]).astype(np.int64)
        return self.by_room[self.room_start[rooms] + offset]


def _assign_cells(rng: np.random.Generator, cells: _Cells, n: int, question_type: str) -> np.ndarray:
    """Cell position per record: octants balanced, distance bins balanced within each octant."""
    octants = cells.octants()
    if len(octants) < 8:
        missing = sorted(set(range(8)) - set(octants.tolist()))
        names = [", ".join(_octant_words(o)) for o in missing]
        raise ValueError(
            f"Cannot balance {question_type} over the 8 octants: the RIR bank has no usable RIR in "
            f"{len(missing)} octant(s): {names}. Add RIRs there or lower the plane margin."
        )
    octant_of_record = _balanced(rng, n, 8)
    cell_pos = np.empty(n, dtype=np.int64)
    for octant in range(8):
        members = np.flatnonzero(octant_of_record == octant)
        in_octant = np.flatnonzero(cells.keys // 64 == octant)
        cell_pos[members] = in_octant[_balanced(rng, len(members), len(in_octant))]
    return cell_pos


def _octant_words(octant: int) -> tuple[str, str, str]:
    return (
        "left" if octant & 4 else "right",
        "behind" if octant & 2 else "front",
        "below" if octant & 1 else "above",
    )


def _draw_disjoint_clips(rng: np.random.Generator, pool: ScenePool, clip1: np.ndarray, question_type: str):
    """A second clip per record whose class labels share nothing with clip 1."""
    clip2 = np.full(len(clip1), -1, dtype=np.int64)
    todo = np.arange(len(clip1))
    for _ in range(MAX_ROUNDS):
        if len(todo) == 0:
            return clip2
        candidate = rng.integers(0, pool.num_clips, len(todo))
        overlap = np.any(pool.clip_label_bits[clip1[todo]] & pool.clip_label_bits[candidate], axis=1)
        ok = ~overlap
        clip2[todo[ok]] = candidate[ok]
        todo = todo[~ok]
    raise ValueError(
        f"Cannot pair clips for {question_type}: found no clip with entirely different classes for "
        f"{len(todo)} records (e.g. clip {pool.clip_ids[clip1[todo[0]]]!r}); the catalogue needs clips of at least "
        "two disjoint class sets."
    )


def _relative(pool: ScenePool, rir1: np.ndarray, rir2: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Word code saying where source 1 lies relative to source 2 on ``axis``; -1 for a near-tie."""
    component = AXIS_COMPONENT[axis]
    offset = pool.position_m[rir1, component] - pool.position_m[rir2, component]
    word = np.where(offset > 0, AXIS_POSITIVE_WORD[axis], AXIS_NEGATIVE_WORD[axis])
    return np.where(np.abs(offset) >= answers.RELATIVE_MARGIN_M, word, -1)


def plan_question_type(
    pool: ScenePool,
    question_type: str,
    num_records: int,
    rng: np.random.Generator,
    plane_margin_deg: float = DEFAULT_PLANE_MARGIN_DEG,
    question_id_offset: int = 0,
) -> QuestionPlan:
    """Plan ``num_records`` balanced records of one question type from ``pool``."""
    qt.validate_question_type(question_type)
    n = int(num_records)
    if n < 0:
        raise ValueError(f"num_records must be >= 0, got {n}")
    if pool.num_clips == 0:
        raise ValueError(f"Cannot generate {question_type}: the sound catalogue of this split is empty")
    if pool.num_rirs == 0:
        raise ValueError(f"Cannot generate {question_type}: the RIR bank of this split is empty")
    eligible = pool.away_from_planes(plane_margin_deg)
    if not eligible.any():
        raise ValueError(
            f"Cannot generate {question_type}: all {pool.num_rirs} RIRs lie within {plane_margin_deg} degrees of an "
            "octant boundary plane"
        )
    minus = np.full(n, -1, dtype=np.int64)
    plan = QuestionPlan(
        question_type,
        rir1=minus.copy(),
        clip1=_cycled_permutations(rng, n, pool.num_clips),
        rir2=minus.copy(),
        clip2=minus.copy(),
        template=np.zeros(n, dtype=np.int64),
        form=minus.copy(),
        axis=minus.copy(),
        word1=minus.copy(),
        word2=minus.copy(),
        event1=minus.copy(),
        event2=minus.copy(),
        question_id=question_id_offset + np.arange(n, dtype=np.int64),
    )
    if n == 0:
        return plan
    single = question_type in qt.SINGLE_SOURCE_TYPES
    if not single:
        # source pairs need a second usable RIR in the same room
        cells = _Cells(pool, eligible)
        per_room = cells.room_count[pool.room_code]
        eligible &= per_room >= 2
        if not eligible.any():
            raise ValueError(
                f"Cannot generate {question_type}: no room has two RIRs away from the octant planes (two-source "
                "records need two RIRs of one room)"
            )
    cells = _Cells(pool, eligible)
    num_labels = np.array([len(names) for names in pool.clip_labels], dtype=np.int64)
    plan.event1 = (rng.random(n) * num_labels[plan.clip1]).astype(np.int64)

    if single:
        plan.rir1 = cells.draw_in_cell(rng, _assign_cells(rng, cells, n, question_type))
        if question_type == qt.DOA:
            plan.form = _balanced(rng, n, 2)  # 0 = plain question, 1 = names the event
        _dedupe_single(rng, pool, cells, plan)
    else:
        plan.clip2 = _draw_disjoint_clips(rng, pool, plan.clip1, question_type)
        plan.event2 = (rng.random(n) * num_labels[plan.clip2]).astype(np.int64)
        _plan_pairs(rng, pool, cells, plan)
    forms = _form_names(question_type, plan.form)
    counts = {form: len(templates.templates_for(question_type, form)) for form in set(forms)}
    plan.template = (rng.random(n) * np.array([counts[f] for f in forms])).astype(np.int64)
    return plan


def _form_names(question_type: str, form: np.ndarray) -> list[str]:
    if question_type == qt.MIXUP_DIRECTION:
        return [FORMS_DIRECTION[f] for f in form]
    if question_type == qt.DOA:
        return ["event" if f == 1 else "" for f in form]
    return [""] * len(form)


def _dedupe_single(rng, pool: ScenePool, cells: _Cells, plan: QuestionPlan) -> None:
    """Redraw the RIR (same cell), then the clip, of records repeating an earlier (clip, RIR) pair."""
    position_in_cells = np.empty(pool.num_rirs, dtype=np.int64)
    for pos, (start, count) in enumerate(zip(cells.start, cells.count)):
        position_in_cells[cells.index[start : start + count]] = pos
    for round_index in range(MAX_ROUNDS):
        key = plan.clip1 * pool.num_rirs + plan.rir1
        _, first = np.unique(key, return_index=True)
        duplicate = np.ones(len(key), dtype=bool)
        duplicate[first] = False
        todo = np.flatnonzero(duplicate)
        if len(todo) == 0:
            return
        plan.rir1[todo] = cells.draw_in_cell(rng, position_in_cells[plan.rir1[todo]])
        if round_index >= 8:  # the cell is exhausted for this clip: move the record to another clip
            plan.clip1[todo] = rng.integers(0, pool.num_clips, len(todo))
            plan.event1[todo] = (rng.random(len(todo)) * [len(pool.clip_labels[c]) for c in plan.clip1[todo]]).astype(
                np.int64
            )
    raise ValueError(
        f"Cannot make {len(plan)} distinct (clip, RIR) records of {plan.question_type}: the split has only "
        f"{pool.num_clips} clips and {len(cells.index)} usable RIRs; lower the request or add data."
    )


def _plan_pairs(rng, pool: ScenePool, cells: _Cells, plan: QuestionPlan) -> None:
    """Assign balanced targets first, then keep proposed RIR pairs that realise them."""
    n = len(plan)
    question_type = plan.question_type
    target_cell = None
    want = np.full(n, -1, dtype=np.int64)  # wanted answer code (1/0 yes/no, or a word code), -1 = anything
    if question_type in (qt.MIXUP_SINGLE_CLASSIFICATION, qt.MIXUP_SINGLE_DOA):
        target_cell = _assign_cells(rng, cells, n, question_type)
    elif question_type == qt.MIXUP_DIRECTION:
        combination = _balanced(rng, n, 3 * 3 * 2)  # form x axis x answer, jointly even
        plan.form, plan.axis, want = combination // 6, (combination // 2) % 3, combination % 2
        plan.word1 = 2 * plan.axis + rng.integers(0, 2, n)
        plan.word2 = np.where(plan.form == 1, 2 * plan.axis + rng.integers(0, 2, n), -1)
    elif question_type == qt.MIXUP_DISTANCE_BOTH:
        want = _balanced(rng, n, 2)
    elif question_type == qt.MIXUP_NONBINARY_DIRECTION:
        want = _balanced(rng, n, 6)  # answer word codes, axis = word // 2
        plan.axis = want // 2
    elif question_type == qt.MIXUP_NONBINARY_SOURCE:
        plan.word1 = _balanced(rng, n, 6)
        plan.axis = plan.word1 // 2
        want = plan.word1

    todo = np.arange(n)
    for _ in range(MAX_ROUNDS):
        if len(todo) == 0:
            break
        if target_cell is not None:
            rir1 = cells.draw_in_cell(rng, target_cell[todo])
        else:
            rir1 = cells.draw_in_cell(rng, rng.integers(0, len(cells.keys), len(todo)))
        rir2 = cells.draw_in_room(rng, pool.room_code[rir1])
        ok = (rir1 != rir2) & (pool.octant[rir1] != pool.octant[rir2])
        got = answer_codes(pool, plan, todo, rir1, rir2)
        ok &= (got >= 0) & ((want[todo] == -1) | (got == want[todo]))
        plan.rir1[todo[ok]] = rir1[ok]
        plan.rir2[todo[ok]] = rir2[ok]
        todo = todo[~ok]
        if len(todo) == 0:
            todo = _pair_duplicates(pool, plan)
            if len(todo):
                plan.clip2[todo] = _draw_disjoint_clips(rng, pool, plan.clip1[todo], question_type)
                plan.event2[todo] = (
                    rng.random(len(todo)) * [len(pool.clip_labels[c]) for c in plan.clip2[todo]]
                ).astype(np.int64)
    if len(todo):
        raise ValueError(_shortage_message(plan, todo, want))


def answer_codes(pool: ScenePool, plan: QuestionPlan, todo: np.ndarray, rir1: np.ndarray, rir2: np.ndarray):
    """Answer of candidate pairs as a code comparable with the wanted one; -2 = near-tie (reject)."""
    question_type = plan.question_type
    if question_type in (qt.MIXUP_SINGLE_CLASSIFICATION, qt.MIXUP_SINGLE_DOA, qt.MIXUP_NONBINARY_DISTANCE):
        return np.zeros(len(todo), dtype=np.int64)
    if question_type == qt.MIXUP_DISTANCE_BOTH:
        d1, d2 = pool.distance_m[rir1], pool.distance_m[rir2]
        return np.where(np.abs(d1 - d2) >= answers.CLOSER_MARGIN_M, (d1 < d2).astype(np.int64), -2)
    if question_type in (qt.MIXUP_NONBINARY_DIRECTION, qt.MIXUP_NONBINARY_SOURCE):
        word = _relative(pool, rir1, rir2, plan.axis[todo])
        return np.where(word >= 0, word, -2)
    # MIXUP_DIRECTION
    form, axis, word1, word2 = plan.form[todo], plan.axis[todo], plan.word1[todo], plan.word2[todo]
    source1_word = pool.axis_words[rir1, axis]
    source2_word = pool.axis_words[rir2, axis]
    both = (source1_word == word1) & (source2_word == word1)
    pair = (source1_word == word1) & (source2_word == word2)
    relative = _relative(pool, rir1, rir2, axis)
    answer = np.where(form == 0, both, np.where(form == 1, pair, relative == word1)).astype(np.int64)
    return np.where((form == 2) & (relative < 0), -2, answer)


def _pair_duplicates(pool: ScenePool, plan: QuestionPlan) -> np.ndarray:
    """Records repeating an earlier (clips, RIRs, question parameters) combination."""
    key = np.stack(
        [plan.clip1, plan.rir1, plan.clip2, plan.rir2, plan.form, plan.axis, plan.word1, plan.word2], axis=1
    )
    _, first = np.unique(key, axis=0, return_index=True)
    duplicate = np.ones(len(key), dtype=bool)
    duplicate[first] = False
    todo = np.flatnonzero(duplicate)
    plan.rir1[todo] = -1
    plan.rir2[todo] = -1
    return todo


def _shortage_message(plan: QuestionPlan, todo: np.ndarray, want: np.ndarray) -> str:
    question_type = plan.question_type
    wanted = want[todo]
    if question_type in qt.BINARY_TYPES:
        what = {code: answers.yes_no(bool(code)) for code in range(2)}
    else:
        what = dict(enumerate(WORDS))
    short = np.unique(wanted, return_counts=True)
    parts = [
        f"{count} with answer {what.get(int(code), 'any')!r}" if code >= 0 else f"{count} unconstrained"
        for code, count in zip(*short)
    ]
    return (
        f"Cannot balance {question_type}: found no suitable same-room RIR pair (different octants, no near-tie) "
        f"for {len(todo)} of {len(plan)} records ({', '.join(parts)}). The RIR bank is too small or too uneven "
        "for this request: add RIRs/rooms or ask for fewer records."
    )


# ---------------------------------------------------------------------------------- records from a plan


def plan_to_table(pool: ScenePool, plan: QuestionPlan) -> pa.Table:
    """Turn (a slice of) a plan into records: question and answer text plus the scene ground truth."""
    question_type = plan.question_type
    n = len(plan)
    two = plan.rir2 >= 0
    forms = _form_names(question_type, plan.form)
    rows_template = [templates.templates_for(question_type, f)[t] for f, t in zip(forms, plan.template)]
    clip_labels = pool.clip_labels
    names1 = [clip_labels[c][e].lower() for c, e in zip(plan.clip1, plan.event1)]
    names2 = [clip_labels[c][e].lower() if c >= 0 else None for c, e in zip(plan.clip2, plan.event2)]
    az, el, dist = pool.azimuth_deg, pool.elevation_deg, pool.distance_m

    single = question_type in qt.SINGLE_SOURCE_TYPES
    codes = None if single else answer_codes(pool, plan, np.arange(n), plan.rir1, plan.rir2)
    questions = []
    answers_text = []
    for i in range(n):
        r1 = plan.rir1[i]
        fields = {"event": names1[i], "e1": names1[i], "e2": names2[i]}
        if question_type == qt.MIXUP_SINGLE_CLASSIFICATION:
            d1, d2, d3 = (WORDS[w] for w in pool.axis_words[r1])
            fields.update(
                d1=d1, d2=d2, d3=d3, distance=templates.spoken_distance(answers.quantize_distance_m(dist[r1]))
            )
        elif plan.word1[i] >= 0:
            fields.update(d=WORDS[plan.word1[i]], d1=WORDS[plan.word1[i]])
            if plan.word2[i] >= 0:
                fields["d2"] = WORDS[plan.word2[i]]
        if plan.axis[i] >= 0:
            axis_name = AXIS_NAMES[plan.axis[i]]
            fields.update(options=templates.AXIS_OPTIONS[axis_name], options_of=templates.AXIS_OPTIONS_OF[axis_name])
        questions.append(rows_template[i].format(**fields))
        answers_text.append(_answer_text(pool, plan, i, codes))

    def gather(values, index, mask):
        return [values[j] if m else None for j, m in zip(index, mask)]

    columns = {
        "audio_id": pool.clip_ids[plan.clip1].tolist(),
        "reverb_id": pool.reverb_ids[plan.rir1].tolist(),
        "audio_id2": gather(pool.clip_ids, plan.clip2, two),
        "reverb_id2": gather(pool.reverb_ids, plan.rir2, two),
        "question_id": plan.question_id,
        "question_type": [question_type] * n,
        "question": questions,
        "answer": answers_text,
        "room_id": pool.room_ids[plan.rir1].tolist(),
        "labels": [list(clip_labels[c]) for c in plan.clip1],
        "azimuth_deg": az[plan.rir1],
        "elevation_deg": el[plan.rir1],
        "distance_m": dist[plan.rir1],
        "labels2": [list(clip_labels[c]) if m else None for c, m in zip(plan.clip2, two)],
        "azimuth_deg2": pa.array(az[plan.rir2], mask=~two),
        "elevation_deg2": pa.array(el[plan.rir2], mask=~two),
        "distance_m2": pa.array(dist[plan.rir2], mask=~two),
        "template_id": plan.template.astype(np.int32),
        "form": [f if question_type in (qt.DOA, qt.MIXUP_DIRECTION) else None for f in forms],
        "axis": [AXIS_NAMES[a] if a >= 0 else None for a in plan.axis],
        "direction": [WORDS[w] if w >= 0 else None for w in plan.word1],
        "direction2": [WORDS[w] if w >= 0 else None for w in plan.word2],
    }
    return pa.table(columns, schema=ARROW_SCHEMA)


def _answer_text(pool: ScenePool, plan: QuestionPlan, i: int, codes: np.ndarray | None) -> str:
    question_type = plan.question_type
    r1, r2 = plan.rir1[i], plan.rir2[i]
    if question_type in (qt.CLASSIFICATION, qt.MIXUP_SINGLE_CLASSIFICATION, qt.MIXUP_NONBINARY_SOURCE):
        return answers.classes_answer(pool.clip_labels[plan.clip1[i]])
    if question_type in (qt.DOA, qt.MIXUP_SINGLE_DOA):
        return answers.doa_answer(pool.azimuth_deg[r1], pool.elevation_deg[r1], pool.distance_m[r1])
    if question_type == qt.MIXUP_NONBINARY_DISTANCE:
        return answers.separation_answer(float(np.linalg.norm(pool.position_m[r1] - pool.position_m[r2])))
    code = int(codes[i])
    if question_type == qt.MIXUP_NONBINARY_DIRECTION:
        return WORDS[code]
    return answers.yes_no(bool(code))
