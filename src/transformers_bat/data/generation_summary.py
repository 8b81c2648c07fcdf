"""Counts of a SpatialSoundQA dataset per split, type, octant and distance bin of source 1, sources per scene and
Yes/No answers.

Computed from plans (generation) or from records (converted data); printed at the end of a run and put in the card.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from . import question_types as qt
from .qa_generation import QuestionPlan, rule_answers
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
            width = max(len(t) for t in qt.registered_types())
            for question_type in qt.registered_types():
                if counter[("type", question_type)]:
                    lines.append(f"  {question_type:<{width}} {counter[('type', question_type)]:>9}")
            octants = [counter[("octant", o)] for o in range(8)]
            lines.append("  octant of source 1 (R=right/L=left, F=front/B=behind, A=above/b=below):")
            names = ["RFA", "RFb", "RBA", "RBb", "LFA", "LFb", "LBA", "LBb"]
            lines.append("    " + "  ".join(f"{n}:{c}" for n, c in zip(names, octants)))
            bins = sorted(k[1] for k in counter if isinstance(k, tuple) and k[0] == "distance_bin")
            lines.append("  distance bin of source 1 (metres:count):")
            lines.append("    " + "  ".join(f"{b / 2:g}:{counter[('distance_bin', b)]}" for b in bins))
            sizes = sorted(k[1] for k in counter if isinstance(k, tuple) and k[0] == "sources")
            if sizes and sizes[-1] > qt.PAPER_MAX_SOURCES:
                lines.append("  sources per scene: " + "  ".join(f"{k}:{counter[('sources', k)]}" for k in sizes))
            for question_type in qt.registered_types():
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
        for k, c in zip(*np.unique(plan.sizes, return_counts=True)):
            counter[("sources", int(k))] += int(c)
        if qt.answer_kind(question_type) == "yes_no":
            rows = np.arange(len(plan))
            for answer in rule_answers(qt.get(question_type), pool, plan, rows, plan.rirs):
                counter[(answer.lower(), question_type)] += 1
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
            sources = record.get("sources") or []
            counter[("sources", len(sources))] += 1
            first = sources[0] if sources else {}
            if first.get("azimuth_deg") is not None:
                counter[("octant", lb.octant_index(first["azimuth_deg"], first["elevation_deg"]))] += 1
                counter[("distance_bin", int(lb.distance_to_index(first["distance_m"])))] += 1
            if qt.answer_kind(record["question_type"]) == "yes_no" and record["answer"] in ("Yes", "No"):
                counter[(record["answer"].lower(), record["question_type"])] += 1
    return counts
