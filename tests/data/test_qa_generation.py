from collections import Counter

import numpy as np
import pytest

from transformers_bat.data import ScenePool, plan_question_type, plan_rng, plan_to_table
from transformers_bat.data import question_types as qt
from transformers_bat.data.answers import derive_answer

from .reference_answers import oracle, words

ALL_TYPES = qt.registered_types()
MIXTURE_TYPES = [t for t in ALL_TYPES if qt.num_sources(t)[0] > 1]
MAX_SOURCES = 4


def generate(pool, question_type, n, seed=0, max_sources=MAX_SOURCES):
    plan = plan_question_type(pool, question_type, n, plan_rng(seed, "train", question_type), max_sources=max_sources)
    return plan_to_table(pool, plan).to_pylist()


def first(record):
    return record["sources"][0]


@pytest.fixture(scope="module")
def records(pools):
    return {t: generate(pools["train"], t, 400) for t in ALL_TYPES}


@pytest.mark.parametrize("question_type", ALL_TYPES)
def test_every_answer_matches_an_independent_oracle(records, question_type):
    for record in records[question_type]:
        assert record["answer"] == oracle(record), record
        assert record["answer"] == derive_answer(record)


@pytest.mark.parametrize("question_type", MIXTURE_TYPES + ["MIXUP_COUNT"])
def test_mixtures_have_different_classes_directions_and_one_room(records, pools, question_type):
    room_of = dict(zip(pools["train"].reverb_ids, pools["train"].room_ids))
    for record in records[question_type]:
        sources = record["sources"]
        labels = [set(s["labels"]) for s in sources]
        octants = [words(s["azimuth_deg"], s["elevation_deg"]) for s in sources]
        assert sum(len(x) for x in labels) == len(set().union(*labels))  # pairwise disjoint classes
        assert len(set(octants)) == len(sources)
        assert {room_of[s["reverb_id"]] for s in sources} == {record["room_id"]}


@pytest.mark.parametrize("question_type", qt.QUESTION_TYPES)
def test_octants_are_balanced(records, question_type):
    counts = Counter(words(first(r)["azimuth_deg"], first(r)["elevation_deg"]) for r in records[question_type])
    assert len(counts) == 8
    if qt.letter_of(question_type) in "ABCD":
        assert max(counts.values()) - min(counts.values()) <= 1  # assigned exactly
    else:
        assert max(counts.values()) <= 2.0 * min(counts.values())  # proposed evenly, kept by answer


@pytest.mark.parametrize("question_type", ["DOA", "MIXUP_SINGLE_DOA"])
def test_distance_bins_are_balanced_within_octants(records, question_type):
    by_octant = {}
    for r in records[question_type]:
        key = words(first(r)["azimuth_deg"], first(r)["elevation_deg"])
        by_octant.setdefault(key, Counter())[round(2 * first(r)["distance_m"])] += 1
    for counts in by_octant.values():
        assert max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.parametrize("question_type", [t for t in ALL_TYPES if qt.answer_kind(t) == "yes_no"])
def test_yes_no_is_balanced(records, question_type):
    counts = Counter(r["answer"] for r in records[question_type])
    assert counts["Yes"] == counts["No"] == 200


def test_open_direction_answers_and_forms_are_balanced(records):
    counts = Counter(r["answer"] for r in records["MIXUP_NONBINARY_DIRECTION"])
    assert set(counts) == {"left", "right", "front", "behind", "above", "below"}
    assert max(counts.values()) - min(counts.values()) <= 1
    forms = Counter((r["form"], r["answer"]) for r in records["MIXUP_DIRECTION"])
    assert len(forms) == 6 and min(forms.values()) >= 40


def test_beyond_the_paper_types_are_balanced(records):
    counts = Counter(r["answer"] for r in records["MIXUP_COUNT"])
    assert counts == {"1": 100, "2": 100, "3": 100, "4": 100}
    assert all(len(r["sources"]) == int(r["answer"]) for r in records["MIXUP_COUNT"])
    extremes = Counter(r["form"] for r in records["MIXUP_EXTREME_SOURCE"])
    assert set(extremes) == {
        "closest",
        "farthest",
        "leftmost",
        "rightmost",
        "frontmost",
        "rearmost",
        "highest",
        "lowest",
    }
    assert max(extremes.values()) - min(extremes.values()) <= 1
    assert Counter(len(r["sources"]) for r in records["MIXUP_EXTREME_SOURCE"]) == {3: 200, 4: 200}
    relations = Counter((r["form"], r["axis"], r["answer"]) for r in records["MIXUP_THREE_RELATION"])
    assert len(relations) == 12 and max(relations.values()) - min(relations.values()) <= 1
    assert {len(r["sources"]) for r in records["MIXUP_THREE_RELATION"]} == {3}


def test_the_paper_types_keep_the_papers_source_counts(records):
    for question_type in qt.QUESTION_TYPES:
        assert {len(r["sources"]) for r in records[question_type]} == {1 if qt.letter_of(question_type) in "AB" else 2}


def test_types_beyond_the_paper_need_more_sources(pools):
    with pytest.raises(ValueError, match="--max-sources 3"):
        generate(pools["train"], "MIXUP_EXTREME_SOURCE", 10, max_sources=2)


@pytest.mark.parametrize("question_type", ALL_TYPES)
def test_no_duplicate_records(records, question_type):
    keys = [
        (
            tuple((s["audio_id"], s["reverb_id"]) for s in r["sources"]),
            r["form"],
            r["axis"],
            r["direction"],
            r["direction2"],
        )
        for r in records[question_type]
    ]
    assert len(set(keys)) == len(keys)
    if question_type in ("CLASSIFICATION", "DOA"):
        assert len({k[0] for k in keys}) == len(keys)
    assert len({r["question_id"] for r in records[question_type]}) == len(keys)


def test_questions_use_many_paraphrases(records):
    for question_type in ALL_TYPES:
        assert len({r["template_id"] for r in records[question_type]}) >= 10


def test_same_seed_same_plan_other_seed_differs(pools):
    a = generate(pools["train"], "MIXUP_DIRECTION", 50, seed=1)
    assert a == generate(pools["train"], "MIXUP_DIRECTION", 50, seed=1)
    assert a != generate(pools["train"], "MIXUP_DIRECTION", 50, seed=2)


# ------------------------------------------------------------------------------------------- bad input


def one_room_pool(**overrides):
    fields = dict(
        reverb_ids=["r/0", "r/1", "r/2"],
        room_ids=["r", "r", "r"],
        azimuth_deg=[45.0, 135.0, 225.0],
        elevation_deg=[20.0, 20.0, 20.0],
        distance_m=[2.0, 3.0, 4.0],
        clip_ids=["a", "b"],
        clip_labels=[("Dog",), ("Piano",)],
    )
    return ScenePool(**(fields | overrides))


def test_empty_catalogue_is_a_clear_error():
    pool = one_room_pool(clip_ids=[], clip_labels=[])
    with pytest.raises(ValueError, match="sound catalogue of this split is empty"):
        plan_question_type(pool, "CLASSIFICATION", 10, np.random.default_rng(0))


def test_missing_octants_make_balance_impossible():
    with pytest.raises(ValueError, match=r"no usable RIR in 5 octant\(s\).*'right, behind, below'"):
        plan_question_type(one_room_pool(), "DOA", 10, np.random.default_rng(0))


def test_impossible_answer_balance_names_the_shortage():
    pool = ScenePool.synthetic(num_rooms=3, rirs_per_room=30, num_clips=20, seed=1)
    # every source within 2 m: the "closer" question has almost no pair 0.5 m apart in the wanted direction
    pool = ScenePool(
        reverb_ids=pool.reverb_ids,
        room_ids=pool.room_ids,
        azimuth_deg=pool.azimuth_deg,
        elevation_deg=pool.elevation_deg,
        distance_m=np.full(pool.num_rirs, 2.0),
        clip_ids=pool.clip_ids,
        clip_labels=pool.clip_labels,
    )
    with pytest.raises(
        ValueError, match=r"Cannot balance MIXUP_DISTANCE_BOTH.*20 of 20 records.*with answer 'No'.*with answer 'Yes'"
    ):
        plan_question_type(pool, "MIXUP_DISTANCE_BOTH", 20, np.random.default_rng(0))


def test_catalogue_of_one_class_cannot_make_mixtures():
    pool = ScenePool.synthetic(num_rooms=2, rirs_per_room=40, num_clips=5, seed=1)
    pool = ScenePool(
        reverb_ids=pool.reverb_ids,
        room_ids=pool.room_ids,
        azimuth_deg=pool.azimuth_deg,
        elevation_deg=pool.elevation_deg,
        distance_m=pool.distance_m,
        clip_ids=pool.clip_ids,
        clip_labels=[("Dog",)] * 5,
    )
    with pytest.raises(ValueError, match="entirely different classes"):
        plan_question_type(pool, "MIXUP_SINGLE_DOA", 10, np.random.default_rng(0))


def test_too_many_single_source_records_for_the_pool():
    pool = ScenePool.synthetic(num_rooms=2, rirs_per_room=16, num_clips=2, seed=4)
    with pytest.raises(ValueError, match=r"Cannot make 500 distinct \(clip, RIR\) records"):
        plan_question_type(pool, "CLASSIFICATION", 500, np.random.default_rng(0))
