"""Counts of a SpatialSoundQA dataset per split, type, octant and distance bin of source 1, and Yes/No answers.

Computed from plans (generation) or from records (converted data); printed at the end of a run and put in the card.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from . import question_types as qt
from .qa_generation import QuestionPlan, answer_codes
from .scene_pool import ScenePool


@dataclass
class GenerationReport:
    """Counts of the planned dataset (all shards, whoever writes them) and what this run wrote."""

    counts: dict[str, Counter] = field(default_factory=dict)
    written: int = 0
    skipped: int = 0
    remaining: int = 0
    complete: bool = False

    def table(self) -> str:
        """A plain-text summary: records per type, per octant / distance bin of source 1, answers of E types."""
        lines = []
        for split, counter in self.counts.items():
            lines.append(f"== {split}: {counter['records']} records")
            width = max(len(t) for t in qt.QUESTION_TYPES)
            for question_type in qt.QUESTION_TYPES:
                if counter[("type", question_type)]:
                    lines.append(f"  {question_type:<{width}} {counter[('type', question_type)]:>9}")
            octants = [counter[("octant", o)] for o in range(8)]
            lines.append("  octant of source 1 (R=right/L=left, F=front/B=behind, A=above/b=below):")
            names = ["RFA", "RFb", "RBA", "RBb", "LFA", "LFb", "LBA", "LBb"]
            lines.append("    " + "  ".join(f"{n}:{c}" for n, c in zip(names, octants)))
            bins = sorted(k[1] for k in counter if isinstance(k, tuple) and k[0] == "distance_bin")
            lines.append("  distance bin of source 1 (metres:count):")
            lines.append("    " + "  ".join(f"{b / 2:g}:{counter[('distance_bin', b)]}" for b in bins))
            for question_type in sorted(qt.BINARY_TYPES):
                yes, no = counter[("yes", question_type)], counter[("no", question_type)]
                if yes + no:
                    lines.append(f"  {question_type}: Yes {yes} / No {no}")
        return "\n".join(lines)


def summarize(pools: Mapping[str, ScenePool], plans: Mapping[tuple[str, str], QuestionPlan]) -> dict[str, Counter]:
    counts: dict[str, Counter] = {}
    for (split, question_type), plan in plans.items():
        pool = pools[split]
        counter = counts.setdefault(split, Counter())
        counter["records"] += len(plan)
        counter[("type", question_type)] += len(plan)
        for o, c in enumerate(np.bincount(pool.octant[plan.rir1], minlength=8)):
            counter[("octant", o)] += int(c)
        for b, c in zip(*np.unique(pool.distance_bin[plan.rir1], return_counts=True)):
            counter[("distance_bin", int(b))] += int(c)
        if question_type in qt.BINARY_TYPES:
            codes = answer_codes(pool, plan, np.arange(len(plan)), plan.rir1, plan.rir2)
            counter[("yes", question_type)] += int((codes == 1).sum())
            counter[("no", question_type)] += int((codes == 0).sum())
    return counts


def summarize_records(records_by_split: Mapping[str, list[Mapping]]) -> dict[str, Counter]:
    """The same counts as :func:`summarize`, from records (e.g. converted from the authors' release)."""
    from .. import labels as lb

    counts: dict[str, Counter] = {}
    for split, records in records_by_split.items():
        counter = counts.setdefault(split, Counter())
        for record in records:
            counter["records"] += 1
            counter[("type", record["question_type"])] += 1
            if record.get("azimuth_deg") is not None:
                counter[("octant", lb.octant_index(record["azimuth_deg"], record["elevation_deg"]))] += 1
                counter[("distance_bin", int(lb.distance_to_index(record["distance_m"])))] += 1
            if record["question_type"] in qt.BINARY_TYPES and record["answer"] in ("Yes", "No"):
                counter[(record["answer"].lower(), record["question_type"])] += 1
    return counts
