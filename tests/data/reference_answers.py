"""An answer oracle written independently of transformers_bat (plain trigonometry from the stated rules).

It re-derives every answer from the stored scene parameters and question parameters of a record.
"""

from __future__ import annotations

import math


def words(azimuth_deg, elevation_deg):
    a = azimuth_deg % 360.0
    return (
        "left" if 90.0 < a < 270.0 else "right",
        "front" if 0.0 < a < 180.0 else "behind",
        "above" if elevation_deg > 0.0 else "below",
    )


def metres(value):
    return f"{value:g}m"


def distance_class_m(distance_m):
    return min(max(round(distance_m * 2.0), 0), 20) / 2.0


def position(azimuth_deg, elevation_deg, distance_m):
    a, e = math.radians(azimuth_deg), math.radians(elevation_deg)
    return (distance_m * math.cos(e) * math.cos(a), distance_m * math.sin(e), distance_m * math.cos(e) * math.sin(a))


AXIS = {"lateral": (0, "right", "left"), "vertical": (1, "above", "below"), "frontal": (2, "front", "behind")}
WORD_AXIS = {w: axis for axis, (_, p, n) in AXIS.items() for w in (p, n)}
SLOT = {"lateral": 0, "frontal": 1, "vertical": 2}


def relative(s1, s2, axis):
    index, positive, negative = AXIS[axis]
    offset = position(*s1)[index] - position(*s2)[index]
    assert abs(offset) >= 0.5, "the generator must not emit near-ties"
    return positive if offset > 0 else negative


def spherical(source):
    return (source["azimuth_deg"], source["elevation_deg"], source["distance_m"])


def class_text(source):
    return "; ".join(sorted({name.lower() for name in source["labels"]}))


def coordinate(source, what):
    if what == "distance":
        return source["distance_m"]
    return position(*spherical(source))[AXIS[what][0]]


EXTREME = {
    "closest": ("distance", -1),
    "farthest": ("distance", 1),
    "leftmost": ("lateral", -1),
    "rightmost": ("lateral", 1),
    "frontmost": ("frontal", 1),
    "rearmost": ("frontal", -1),
    "highest": ("vertical", 1),
    "lowest": ("vertical", -1),
}


def oracle(record) -> str:
    kind = record["question_type"]
    sources = record["sources"]
    s1 = spherical(sources[0])
    s2 = spherical(sources[1]) if len(sources) > 1 else None
    classes = class_text(sources[0])
    if kind == "MIXUP_COUNT":
        return str(len(sources))
    if kind == "MIXUP_EXTREME_SOURCE":
        what, sign = EXTREME[record["form"]]
        values = sorted((sign * coordinate(s, what), k) for k, s in enumerate(sources))
        assert values[-1][0] - values[-2][0] >= 0.5, "the generator must not emit near-ties"
        return class_text(sources[values[-1][1]])
    if kind == "MIXUP_THREE_RELATION":
        if record["form"] == "of_both":
            d = record["direction"]
            return "Yes" if all(relative(s1, spherical(o), WORD_AXIS[d]) == d for o in sources[1:]) else "No"
        x1, x2, x3 = (coordinate(s, record["axis"]) for s in sources)
        assert min(abs(x1 - x2), abs(x1 - x3)) >= 0.5
        return "Yes" if min(x2, x3) < x1 < max(x2, x3) else "No"
    if kind in ("CLASSIFICATION", "MIXUP_SINGLE_CLASSIFICATION", "MIXUP_NONBINARY_SOURCE"):
        if kind == "MIXUP_NONBINARY_SOURCE":
            assert relative(s1, s2, WORD_AXIS[record["direction"]]) == record["direction"]
        return classes
    if kind in ("DOA", "MIXUP_SINGLE_DOA"):
        return ", ".join(words(*s1[:2])) + "; " + metres(distance_class_m(s1[2]))
    if kind == "MIXUP_DISTANCE_BOTH":
        assert abs(s1[2] - s2[2]) >= 0.5
        return "Yes" if s1[2] < s2[2] else "No"
    if kind == "MIXUP_NONBINARY_DIRECTION":
        return relative(s1, s2, record["axis"])
    if kind == "MIXUP_NONBINARY_DISTANCE":
        return metres(round(math.dist(position(*s1), position(*s2)) * 2.0) / 2.0)
    assert kind == "MIXUP_DIRECTION"
    d = record["direction"]
    slot = SLOT[WORD_AXIS[d]]
    if record["form"] == "both":
        yes = words(*s1[:2])[slot] == d and words(*s2[:2])[slot] == d
    elif record["form"] == "pair":
        yes = (
            words(*s1[:2])[slot] == d and words(*s2[:2])[SLOT[WORD_AXIS[record["direction2"]]]] == record["direction2"]
        )
    else:
        yes = relative(s1, s2, WORD_AXIS[d]) == d
    return "Yes" if yes else "No"
