"""Scoring free-text BAT answers on SpatialSoundQA, reported like the paper's Table 4.

Each record is scored against its reference answer (ours are derived by rule from the scene, so the answer is
the ground truth in the release's format; the authors' release stores only text). How depends on the answer kind
of the record's registered question type (a type may bring its own scorer):

- classes (CLASSIFICATION, MIXUP_SINGLE_CLASSIFICATION, MIXUP_NONBINARY_SOURCE, MIXUP_EXTREME_SOURCE): exact set
  match and set-F1 of the "; "-separated class names, always; and mAP where each answer is scored against every
  class name by a pluggable text embedder (cosine similarity), as the paper does with an API embedder. Any local
  embedder gives different numbers from the paper's.
- direction_distance (DOA, MIXUP_SINGLE_DOA): octant accuracy (all three words right), left/right accuracy and DER
  (distance more than one 0.5 m bin off).
- yes_no (MIXUP_DIRECTION, MIXUP_DISTANCE_BOTH, MIXUP_THREE_RELATION): binary accuracy, also per asked axis;
  direction (MIXUP_NONBINARY_DIRECTION): word accuracy; distance (MIXUP_NONBINARY_DISTANCE): within-0.5 m
  accuracy; count (MIXUP_COUNT): exact accuracy.

An answer that cannot be parsed counts as wrong on every metric of its kind and is counted in `unparsed`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import answer_parsing
from .. import labels as lb
from ..data import question_types as qt
from .encoder_metrics import mean_average_precision

TextEmbedder = Callable[[Sequence[str]], np.ndarray]


class CharNgramEmbedder:
    """An offline, deterministic text embedder: hashed character 3-grams, L2-normalised.

    Transparent stand-in for the paper's API embedder: it rewards answers that spell class names, which is what
    the detection mAP is meant to measure. Pass any callable `texts -> (n, dim) array` to use another model.
    """

    def __init__(self, dim: int = 2048, n: int = 3):
        self.dim, self.n = dim, n

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim))
        for row, text in enumerate(texts):
            padded = f"  {text.lower().strip()}  "
            for i in range(len(padded) - self.n + 1):
                gram = padded[i : i + self.n].encode()
                vectors[row, int.from_bytes(gram, "little") * 2654435761 % self.dim] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)


def _score_direction_distance(truth: str, prediction: str, record: Mapping) -> dict[str, float]:
    true, parsed = answer_parsing.parse_doa(truth), answer_parsing.parse_doa(prediction)
    true_words = (true.lateral, true.frontal, true.vertical)
    words = (parsed.lateral, parsed.frontal, parsed.vertical)
    return {
        "octant_accuracy": float(words == true_words),
        "left_right_accuracy": float(words[0] == true_words[0]),
        "distance_error": float(not _within_one_bin(parsed.distance_m, true.distance_m)),
    }


def _score_yes_no(truth: str, prediction: str, record: Mapping) -> dict[str, float]:
    correct = float(answer_parsing.parse_yes_no(prediction) == answer_parsing.parse_yes_no(truth))
    # per axis as well (direction questions; distance questions have none)
    return {"binary_accuracy": correct} | (
        {f"binary_accuracy_{record['axis']}": correct} if record.get("axis") else {}
    )


def _score_direction(truth: str, prediction: str, record: Mapping) -> dict[str, float]:
    parse = answer_parsing.parse_direction_word
    return {"accuracy": float(parse(prediction) == parse(truth))}


def _score_distance(truth: str, prediction: str, record: Mapping) -> dict[str, float]:
    parse = answer_parsing.parse_distance
    return {"accuracy": float(_within_one_bin(parse(prediction), parse(truth)))}


def _score_count(truth: str, prediction: str, record: Mapping) -> dict[str, float]:
    parse = answer_parsing.parse_count
    return {"accuracy": float(parse(prediction) == parse(truth))}


# answer kind -> (reference text, predicted text, record) -> {metric: value}; ValueError = unparsable prediction.
# ("classes" answers are scored in QAScores.add: exact match, set-F1 and the embedding mAP.)
KIND_SCORERS = {
    "direction_distance": _score_direction_distance,
    "yes_no": _score_yes_no,
    "direction": _score_direction,
    "distance": _score_distance,
    "count": _score_count,
}


def _within_one_bin(predicted_m: float, true_m: float) -> bool:
    return abs(int(lb.distance_to_index(predicted_m)) - int(lb.distance_to_index(true_m))) <= 1


def _set_f1(predicted: set[str], true: set[str]) -> float:
    if not predicted or not true:
        return float(predicted == true)
    overlap = len(predicted & true)
    return 2 * overlap / (len(predicted) + len(true))


@dataclass
class QAScores:
    """Per-type lists of per-record scores; `summary()` aggregates them."""

    per_type: dict[str, dict[str, list[float]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    unparsed: Counter = field(default_factory=Counter)
    counts: Counter = field(default_factory=Counter)
    detection_texts: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    detection_truth: dict[str, list[set[str]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, record: Mapping, prediction: str) -> None:
        entry = qt.get(record["question_type"], where=f"question_id {record.get('question_id')}")
        question_type = entry.name
        self.counts[question_type] += 1
        metrics = self.per_type[question_type]
        if entry.score is None and entry.answer_kind == "classes":
            true, predicted = (
                set(answer_parsing.parse_classes(record["answer"])),
                set(answer_parsing.parse_classes(prediction)),
            )
            metrics["exact_match"].append(float(predicted == true))
            metrics["set_f1"].append(_set_f1(predicted, true))
            self.detection_texts[question_type].append(prediction)
            self.detection_truth[question_type].append(true)
            return
        scorer = entry.score or KIND_SCORERS[entry.answer_kind]
        try:
            scores = scorer(record["answer"], prediction, record)
        except ValueError:  # an unparsable answer is wrong on every metric of its kind
            self.unparsed[question_type] += 1
            scores = {name: 1.0 - value for name, value in scorer(record["answer"], record["answer"], record).items()}
        for name, value in scores.items():
            metrics[name].append(float(value))

    def detection_map(self, class_names: Sequence[str], embedder: TextEmbedder) -> dict[str, float]:
        """mAP per detection type: answers scored against every class name by embedding cosine similarity."""
        names = [name.strip().lower() for name in class_names]
        name_vectors = _normalize(np.asarray(embedder(names), dtype=np.float64))
        index = {name: i for i, name in enumerate(names)}
        result = {}
        for question_type, texts in self.detection_texts.items():
            scores = _normalize(np.asarray(embedder(texts), dtype=np.float64)) @ name_vectors.T
            targets = np.zeros_like(scores)
            for row, true in enumerate(self.detection_truth[question_type]):
                for name in true:
                    if name not in index:
                        raise ValueError(f"True class {name!r} is not among the {len(names)} class names given.")
                    targets[row, index[name]] = 1.0
            result[question_type] = mean_average_precision(scores, targets)[0]
        return result

    def summary(self, class_names: Sequence[str] | None = None, embedder: TextEmbedder | None = None) -> dict:
        """Means per type and metric, counts, unparsed answers, and the Table-4 figures."""
        per_type = {t: {m: float(np.mean(v)) for m, v in metrics.items() if v} for t, metrics in self.per_type.items()}
        if class_names is not None:
            for question_type, value in self.detection_map(class_names, embedder or CharNgramEmbedder()).items():
                per_type[question_type]["mAP"] = value
        table = table4_figures(per_type)
        return {"table4": table, "per_type": per_type, "counts": dict(self.counts), "unparsed": dict(self.unparsed)}


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def table4_figures(per_type: Mapping[str, Mapping[str, float]]) -> dict[str, float | None]:
    """The paper's Table 4 columns (percentages), None where the split has no such question."""

    def pick(question_type, metric, scale=100.0):
        value = per_type.get(question_type, {}).get(metric)
        return None if value is None else scale * value

    direction = pick(qt.MIXUP_DIRECTION, "binary_accuracy")
    distance = pick(qt.MIXUP_DISTANCE_BOTH, "binary_accuracy")
    both = [v for v in (direction, distance) if v is not None]
    return {
        "mAP A": pick(qt.CLASSIFICATION, "mAP"),
        "mAP C": pick(qt.MIXUP_SINGLE_CLASSIFICATION, "mAP"),
        "set-F1 A": pick(qt.CLASSIFICATION, "set_f1"),
        "set-F1 C": pick(qt.MIXUP_SINGLE_CLASSIFICATION, "set_f1"),
        "DoA acc B": pick(qt.DOA, "octant_accuracy"),
        "DoA acc D": pick(qt.MIXUP_SINGLE_DOA, "octant_accuracy"),
        "DER B": pick(qt.DOA, "distance_error"),
        "DER D": pick(qt.MIXUP_SINGLE_DOA, "distance_error"),
        "BA direction": direction,
        "BA distance": distance,
        "BA average": float(np.mean(both)) if both else None,
    }


def score_answers(
    records: Sequence[Mapping],
    predictions: Sequence[str],
    class_names: Sequence[str] | None = None,
    embedder: TextEmbedder | None = None,
) -> dict:
    """Score predictions (one string per record, same order) and return `QAScores.summary()`."""
    if len(records) != len(predictions):
        raise ValueError(f"{len(records)} records but {len(predictions)} predictions: they must pair up one to one.")
    if not records:
        raise ValueError("Nothing to score: the split is empty.")
    scores = QAScores()
    for record, prediction in zip(records, predictions):
        if not isinstance(prediction, str):
            raise ValueError(f"Predictions must be strings, got {type(prediction).__name__} for {record!r}")
        scores.add(record, prediction)
    return scores.summary(class_names, embedder)


def majority_predictions(records: Sequence[Mapping]) -> list[str]:
    """The majority-guess baseline: for each question type, its most frequent reference answer."""
    by_type: dict[str, Counter] = defaultdict(Counter)
    for record in records:
        by_type[record["question_type"]][record["answer"]] += 1
    most_common = {t: counter.most_common(1)[0][0] for t, counter in by_type.items()}
    return [most_common[record["question_type"]] for record in records]


def format_table4(rows: Mapping[str, Mapping[str, float | None]]) -> str:
    """A text table with one row per system (e.g. {"BAT (ours)": ..., "majority": ...})."""
    columns = list(next(iter(rows.values())))
    width = max(len(name) for name in rows) + 2
    header = "system".ljust(width) + " | ".join(f"{c:>12}" for c in columns)
    lines = [header, "-" * len(header)]
    for name, figures in rows.items():
        cells = ["-".rjust(12) if figures[c] is None else f"{figures[c]:12.2f}" for c in columns]
        lines.append(name.ljust(width) + " | ".join(cells))
    return "\n".join(lines)


def write_report(path, rows: Mapping[str, Mapping]) -> None:
    """JSON report: {system: summary}."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(rows, handle, indent=2, sort_keys=True)
