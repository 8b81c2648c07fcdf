"""Balanced, reproducible SpatialSoundQA question planning: labels first, then RIRs and clips that match.

A *plan* is a set of numpy columns (RIR and clip indices into a :class:`ScenePool`, one column per source, the
template index and the question parameters) for all records of one (split, question type). Planning is vectorised
and cheap, so every process computes the same full plan from ``(seed, split, type)`` and then turns only its own
slice into records: output is identical whatever the number of shards, processes or interruptions.

What a type asks for comes from its registry entry (:mod:`.question_types`): its ``assign`` hook fixes balanced
question parameters, wanted answers and the number of sources of each record; the planner then finds scenes that
realise them:
- Source 1 of types A-D gets its (octant, distance bin) cell assigned first, evenly over the 8 octants and, within
  an octant, evenly over the distance bins the bank has there; an RIR is then drawn from that cell.
- Types with wanted answers (yes/no, a direction word, a count...) propose scenes (source 1 from a cell, the
  other sources from its room) and keep only those whose answer is the wanted one. Near-ties (octant planes, equal
  distances, equal positions on the asked axis) are never kept.
- Scenes of several sources always mix clips with disjoint class labels at RIRs in different octants of one room.
When the bank or catalogue cannot satisfy a request, a ``ValueError`` names what is short.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..scene import Scene, Source
from . import question_templates as templates
from . import question_types as qt
from .answers import NearTieError
from .records import ARROW_SCHEMA
from .scene_pool import AXIS_NAMES, WORDS, ScenePool

DEFAULT_PLANE_MARGIN_DEG = 5.0
MAX_ROUNDS = 200
SPLIT_CODES = {"train": 0, "test": 1, "validation": 2}
QUESTION_ID_STRIDE = 100_000_000


@dataclass
class QuestionPlan:
    """Columns of one (split, question type): indices into the pool plus question parameters. -1 = unused.

    ``rirs``, ``clips`` and ``events`` have one column per source (source 1 first); ``events`` says which of a
    clip's labels names it in the question. ``form`` indexes the type's forms, ``axis`` :data:`AXIS_NAMES`,
    ``word1`` / ``word2`` :data:`WORDS`.
    """

    question_type: str
    rirs: np.ndarray  # (n, S)
    clips: np.ndarray  # (n, S)
    events: np.ndarray  # (n, S)
    template: np.ndarray
    form: np.ndarray
    axis: np.ndarray
    word1: np.ndarray
    word2: np.ndarray
    question_id: np.ndarray

    def __len__(self) -> int:
        return len(self.rirs)

    @property
    def rir1(self) -> np.ndarray:
        """The RIR of source 1 of every record."""
        return self.rirs[:, 0]

    @property
    def sizes(self) -> np.ndarray:
        """Number of sources of every record."""
        return (self.clips >= 0).sum(axis=1)

    def slice(self, start: int, stop: int) -> QuestionPlan:
        return QuestionPlan(
            self.question_type, **{k: v[start:stop] for k, v in vars(self).items() if isinstance(v, np.ndarray)}
        )

    def params(self, i: int) -> qt.QuestionParams:
        """The question parameters of record ``i`` as the answer rules read them."""
        entry = qt.get(self.question_type)
        form = entry.forms[self.form[i]] if self.form[i] >= 0 else None
        return qt.QuestionParams(
            form=form if len(entry.forms) > 1 else None,
            axis=AXIS_NAMES[self.axis[i]] if self.axis[i] >= 0 else None,
            direction=WORDS[self.word1[i]] if self.word1[i] >= 0 else None,
            direction2=WORDS[self.word2[i]] if self.word2[i] >= 0 else None,
        )


@dataclass
class PlanTargets:
    """What a type's ``assign`` hook asks of the planner.

    Attributes:
        want: (n,) object array of wanted answer keys (None = any answer); keys are what the type's ``outcome``
            returns, or the answer text when it has none.
        sizes: (n,) sources per record; None = the type's fewest (or, for a range, balanced over the range).
        balance_cell: whether source 1's (octant, distance bin) cell is balanced exactly (else proposed at random
            and kept by answer).
    """

    want: np.ndarray | None = None
    sizes: np.ndarray | None = None
    balance_cell: bool = True


def plan_rng(seed: int, split: str, question_type: str) -> np.random.Generator:
    """The random stream of one (seed, split, type): independent of every other stream."""
    return np.random.default_rng([int(seed), SPLIT_CODES.get(split, 9), qt.type_code(question_type), 0xBA7])


def balanced(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
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
        # distinct octants each room has (a scene of k sources needs k of them)
        pairs = np.unique(np.stack([pool.room_code[self.index], pool.octant[self.index]]), axis=1)
        self.room_octants = np.bincount(pairs[0], minlength=len(self.room_start)) if pairs.size else self.room_count

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
    octant_of_record = balanced(rng, n, 8)
    cell_pos = np.empty(n, dtype=np.int64)
    for octant in range(8):
        members = np.flatnonzero(octant_of_record == octant)
        in_octant = np.flatnonzero(cells.keys // 64 == octant)
        cell_pos[members] = in_octant[balanced(rng, len(members), len(in_octant))]
    return cell_pos


def _octant_words(octant: int) -> tuple[str, str, str]:
    return (
        "left" if octant & 4 else "right",
        "behind" if octant & 2 else "front",
        "below" if octant & 1 else "above",
    )


def _draw_disjoint_clips(
    rng: np.random.Generator, pool: ScenePool, taken: np.ndarray, question_type: str
) -> np.ndarray:
    """A clip per row of ``taken`` ((m, k) clip indices, -1 = none) whose class labels share nothing with them."""
    taken = np.atleast_2d(taken)
    busy = np.zeros((len(taken), pool.clip_label_bits.shape[1]), dtype=np.uint8)
    for column in taken.T:
        present = column >= 0
        busy[present] |= pool.clip_label_bits[column[present]]
    chosen = np.full(len(taken), -1, dtype=np.int64)
    todo = np.arange(len(taken))
    for _ in range(MAX_ROUNDS):
        if len(todo) == 0:
            return chosen
        candidate = rng.integers(0, pool.num_clips, len(todo))
        ok = ~np.any(busy[todo] & pool.clip_label_bits[candidate], axis=1)
        chosen[todo[ok]] = candidate[ok]
        todo = todo[~ok]
    first = taken[todo[0]]
    raise ValueError(
        f"Cannot mix clips for {question_type}: found no clip with entirely different classes from "
        f"{[pool.clip_ids[c] for c in first if c >= 0]} (and {len(todo) - 1} more records); the catalogue needs "
        "clips of enough disjoint class sets for scenes of this many sources."
    )


def _event_choice(rng: np.random.Generator, pool: ScenePool, clips: np.ndarray) -> np.ndarray:
    """Which label of each clip names it in a question (-1 where there is no clip)."""
    num_labels = np.array([len(pool.clip_labels[c]) if c >= 0 else 0 for c in clips], dtype=np.int64)
    return np.where(clips >= 0, (rng.random(len(clips)) * num_labels).astype(np.int64), -1)


def scenes_of_plan(pool: ScenePool, clips: np.ndarray, rirs: np.ndarray) -> list[Scene]:
    """The scenes of planned records: rows of clip and RIR indices (m, S), -1 = no such source. Pool values are
    gathered column by column first (numpy indexing per record would cost most of the time of writing records)."""
    clips, rirs = np.atleast_2d(clips), np.atleast_2d(rirs)
    safe_clips, safe_rirs = np.maximum(clips, 0), np.maximum(rirs, 0)
    columns = [
        (
            (clips[:, k] >= 0).tolist(),
            pool.clip_ids[safe_clips[:, k]].tolist(),
            pool.reverb_ids[safe_rirs[:, k]].tolist(),
            safe_clips[:, k].tolist(),
            pool.azimuth_deg[safe_rirs[:, k]].tolist(),
            pool.elevation_deg[safe_rirs[:, k]].tolist(),
            pool.distance_m[safe_rirs[:, k]].tolist(),
        )
        for k in range(clips.shape[1])
    ]
    rooms = pool.room_ids[safe_rirs[:, 0]].tolist()
    scenes = []
    for row in range(len(clips)):
        sources = []
        for present, audio_ids, reverb_ids, clip_index, azimuth, elevation, distance in columns:
            if not present[row]:
                break
            sources.append(
                Source(
                    audio_id=audio_ids[row],
                    reverb_id=reverb_ids[row],
                    labels=pool.clip_labels[clip_index[row]],
                    azimuth_deg=azimuth[row],
                    elevation_deg=elevation[row],
                    distance_m=distance[row],
                )
            )
        scenes.append(Scene(tuple(sources), rooms[row]))
    return scenes


def rule_answers(entry: qt.QuestionType, pool: ScenePool, plan: QuestionPlan, rows, rirs) -> np.ndarray:
    """Answer text of candidate scenes by the type's rule, record by record (None for a near-tie)."""
    keys = np.empty(len(rows), dtype=object)
    for k, (row, scene) in enumerate(zip(rows, scenes_of_plan(pool, plan.clips[rows], rirs))):
        try:
            keys[k] = entry.answer(scene, plan.params(row))
        except NearTieError:
            keys[k] = None
    return keys


def plan_question_type(
    pool: ScenePool,
    question_type: str,
    num_records: int,
    rng: np.random.Generator,
    plane_margin_deg: float = DEFAULT_PLANE_MARGIN_DEG,
    question_id_offset: int = 0,
    max_sources: int = qt.PAPER_MAX_SOURCES,
) -> QuestionPlan:
    """Plan ``num_records`` balanced records of one question type from ``pool`` (scenes of at most
    ``max_sources`` sources)."""
    entry = qt.get(question_type)
    n = int(num_records)
    if n < 0:
        raise ValueError(f"num_records must be >= 0, got {n}")
    fewest, most = entry.source_range(max_sources)
    if not entry.available(max_sources):
        raise ValueError(
            f"{question_type} needs scenes of {fewest} or more sources (beyond the paper's data); generate it "
            f"with --max-sources {max(fewest, qt.PAPER_MAX_SOURCES + 1)} or more (now {max_sources})"
        )
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
        rirs=np.full((n, most), -1, dtype=np.int64),
        clips=np.full((n, most), -1, dtype=np.int64),
        events=np.full((n, most), -1, dtype=np.int64),
        template=np.zeros(n, dtype=np.int64),
        form=np.zeros(n, dtype=np.int64),
        axis=minus.copy(),
        word1=minus.copy(),
        word2=minus.copy(),
        question_id=question_id_offset + np.arange(n, dtype=np.int64),
    )
    if n == 0:
        return plan
    plan.clips[:, 0] = _cycled_permutations(rng, n, pool.num_clips)
    plan.events[:, 0] = _event_choice(rng, pool, plan.clips[:, 0])
    targets = entry.assign(rng, n, plan, pool) if entry.assign is not None else PlanTargets()
    sizes = targets.sizes
    if sizes is None:
        sizes = fewest + balanced(rng, n, most - fewest + 1)
    sizes = np.asarray(sizes, dtype=np.int64)
    if sizes.min() < 1 or sizes.max() > most:
        raise ValueError(f"{question_type}: records of {sizes.min()}-{sizes.max()} sources asked, at most {most}")
    largest = int(sizes.max())
    if largest > 1:
        # a scene of k sources needs k RIRs in k different octants of one room
        rooms = _Cells(pool, eligible)
        eligible &= rooms.room_octants[pool.room_code] >= largest
        if not eligible.any():
            raise ValueError(
                f"Cannot generate {question_type}: no room has RIRs in {largest} different octants away from the "
                f"octant planes (scenes of {largest} sources need them in one room)"
            )
    cells = _Cells(pool, eligible)
    if largest == 1 and targets.want is None:
        plan.rirs[:, 0] = cells.draw_in_cell(rng, _assign_cells(rng, cells, n, question_type))
        _dedupe_single(rng, pool, cells, plan)
    else:
        for k in range(1, largest):
            rows = np.flatnonzero(sizes > k)
            plan.clips[rows, k] = _draw_disjoint_clips(rng, pool, plan.clips[rows, :k], question_type)
            plan.events[rows, k] = _event_choice(rng, pool, plan.clips[rows, k])
        _plan_scenes(rng, pool, cells, plan, entry, targets)
    counts = np.array([len(entry.templates_for(form)) for form in entry.forms])
    plan.template = (rng.random(n) * counts[plan.form]).astype(np.int64)
    return plan


def _dedupe_single(rng, pool: ScenePool, cells: _Cells, plan: QuestionPlan) -> None:
    """Redraw the RIR (same cell), then the clip, of records repeating an earlier (clip, RIR) pair."""
    position_in_cells = np.empty(pool.num_rirs, dtype=np.int64)
    for pos, (start, count) in enumerate(zip(cells.start, cells.count)):
        position_in_cells[cells.index[start : start + count]] = pos
    for round_index in range(MAX_ROUNDS):
        key = plan.clips[:, 0] * pool.num_rirs + plan.rirs[:, 0]
        _, first = np.unique(key, return_index=True)
        duplicate = np.ones(len(key), dtype=bool)
        duplicate[first] = False
        todo = np.flatnonzero(duplicate)
        if len(todo) == 0:
            return
        plan.rirs[todo, 0] = cells.draw_in_cell(rng, position_in_cells[plan.rirs[todo, 0]])
        if round_index >= 8:  # the cell is exhausted for this clip: move the record to another clip
            plan.clips[todo, 0] = rng.integers(0, pool.num_clips, len(todo))
            plan.events[todo, 0] = _event_choice(rng, pool, plan.clips[todo, 0])
    raise ValueError(
        f"Cannot make {len(plan)} distinct (clip, RIR) records of {plan.question_type}: the split has only "
        f"{pool.num_clips} clips and {len(cells.index)} usable RIRs; lower the request or add data."
    )


def _distinct_octants(pool: ScenePool, rirs: np.ndarray) -> np.ndarray:
    """(m,) bool: the present sources of each candidate scene lie in pairwise different octants (and RIRs)."""
    ok = np.ones(len(rirs), dtype=bool)
    octant = np.where(rirs >= 0, pool.octant[np.maximum(rirs, 0)], -1)
    for i in range(rirs.shape[1]):
        for j in range(i + 1, rirs.shape[1]):
            both = (rirs[:, i] >= 0) & (rirs[:, j] >= 0)
            ok &= ~both | ((octant[:, i] != octant[:, j]) & (rirs[:, i] != rirs[:, j]))
    return ok


def _plan_scenes(rng, pool: ScenePool, cells: _Cells, plan: QuestionPlan, entry, targets: PlanTargets) -> None:
    """Propose scenes (source 1 from its cell, the others from its room) and keep those with the wanted answer."""
    n = len(plan)
    sizes = plan.sizes
    want = targets.want
    target_cell = _assign_cells(rng, cells, n, plan.question_type) if targets.balance_cell else None
    todo = np.arange(n)
    for _ in range(MAX_ROUNDS):
        if len(todo) == 0:
            break
        if target_cell is not None:
            first = cells.draw_in_cell(rng, target_cell[todo])
        else:
            first = cells.draw_in_cell(rng, rng.integers(0, len(cells.keys), len(todo)))
        candidate = np.full((len(todo), plan.rirs.shape[1]), -1, dtype=np.int64)
        candidate[:, 0] = first
        for k in range(1, plan.rirs.shape[1]):
            others = cells.draw_in_room(rng, pool.room_code[first])
            candidate[:, k] = np.where(sizes[todo] > k, others, -1)
        ok = _distinct_octants(pool, candidate)
        if entry.outcome is not None:
            got = np.asarray(entry.outcome(pool, plan, todo, candidate), dtype=object)
        else:
            got = np.full(len(todo), None, dtype=object)
            got[ok] = rule_answers(entry, pool, plan, todo[ok], candidate[ok])
        ok &= np.array([key is not None for key in got], dtype=bool)
        if want is not None:
            ok &= np.array([w is None or g == w for g, w in zip(got, want[todo])], dtype=bool)
        plan.rirs[todo[ok]] = candidate[ok]
        todo = todo[~ok]
        if len(todo) == 0:
            todo = _scene_duplicates(plan)
            for k in range(1, plan.clips.shape[1]):
                rows = todo[sizes[todo] > k]
                plan.clips[rows, k] = _draw_disjoint_clips(rng, pool, plan.clips[rows, :k], plan.question_type)
                plan.events[rows, k] = _event_choice(rng, pool, plan.clips[rows, k])
    if len(todo):
        raise ValueError(_shortage_message(plan, todo, want))


def _scene_duplicates(plan: QuestionPlan) -> np.ndarray:
    """Records repeating an earlier (clips, RIRs, question parameters) combination; their RIRs are reset."""
    key = np.concatenate(
        [plan.clips, plan.rirs, np.stack([plan.form, plan.axis, plan.word1, plan.word2], axis=1)], axis=1
    )
    _, first = np.unique(key, axis=0, return_index=True)
    duplicate = np.ones(len(key), dtype=bool)
    duplicate[first] = False
    todo = np.flatnonzero(duplicate)
    plan.rirs[todo] = -1
    return todo


def _shortage_message(plan: QuestionPlan, todo: np.ndarray, want: np.ndarray | None) -> str:
    wanted = [None if want is None else want[i] for i in todo]
    short: dict = {}
    for key in wanted:
        short[key] = short.get(key, 0) + 1
    ordered = sorted(short.items(), key=lambda item: str(item[0]))
    parts = [f"{count} with answer {key!r}" if key is not None else f"{count} unconstrained" for key, count in ordered]
    largest = int(plan.sizes[todo].max())
    return (
        f"Cannot balance {plan.question_type}: found no suitable same-room scene of up to {largest} sources "
        f"(different octants, no near-tie) for {len(todo)} of {len(plan)} records ({', '.join(parts)}). The RIR bank "
        "is too small or too uneven for this request: add RIRs/rooms or ask for fewer records."
    )


# ---------------------------------------------------------------------------------- records from a plan


def _names(pool: ScenePool, plan: QuestionPlan, i: int) -> list[str]:
    """The class name that stands for each source of record ``i`` in its question (lower case)."""
    return [pool.clip_labels[clip][event].lower() for clip, event in zip(plan.clips[i], plan.events[i]) if clip >= 0]


def question_fields(entry: qt.QuestionType, scene: Scene, params: qt.QuestionParams, names: list[str]) -> dict:
    """The placeholders of a question: ``{event}`` / ``{e1}``.. name the sources, ``{d}`` / ``{d1}`` / ``{d2}``
    the asked words, ``{options}`` / ``{options_of}`` the asked axis; a type adds its own (``question_fields``)."""
    fields = {"event": names[0], **{f"e{k + 1}": name for k, name in enumerate(names)}}
    if params.direction is not None:
        fields.update(d=params.direction, d1=params.direction)
    if params.direction2 is not None:
        fields["d2"] = params.direction2
    if params.axis is not None:
        fields.update(options=templates.AXIS_OPTIONS[params.axis], options_of=templates.AXIS_OPTIONS_OF[params.axis])
    if entry.question_fields is not None:
        fields.update(entry.question_fields(scene, params, names))
    return fields


def plan_to_table(pool: ScenePool, plan: QuestionPlan) -> pa.Table:
    """Turn (a slice of) a plan into records: question and answer text plus the scene."""
    entry = qt.get(plan.question_type)
    n = len(plan)
    several_forms = len(entry.forms) > 1
    form_names = [entry.forms[f] for f in plan.form]
    axes = [AXIS_NAMES[a] if a >= 0 else None for a in plan.axis]
    words1 = [WORDS[w] if w >= 0 else None for w in plan.word1]
    words2 = [WORDS[w] if w >= 0 else None for w in plan.word2]
    columns: dict[str, list] = {name: [] for name in ARROW_SCHEMA.names}
    for i, scene in zip(range(n), scenes_of_plan(pool, plan.clips, plan.rirs)):
        params = qt.QuestionParams(form_names[i] if several_forms else None, axes[i], words1[i], words2[i])
        template = entry.templates_for(form_names[i])[plan.template[i]]
        row = {
            "question_id": int(plan.question_id[i]),
            "question_type": entry.name,
            "question": template.format(**question_fields(entry, scene, params, _names(pool, plan, i))),
            "answer": entry.answer(scene, params),
            **scene.to_columns(),
            "template_id": int(plan.template[i]),
            "form": form_names[i] if several_forms else None,
            "axis": axes[i],
            "direction": words1[i],
            "direction2": words2[i],
        }
        for name, values in columns.items():
            values.append(row[name])
    return pa.table(columns, schema=ARROW_SCHEMA)
