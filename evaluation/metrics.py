"""Benchmark metrics: plain functions on lists of per-item results.

Each `ItemResult` is one asked prompt, scored: a circular run has one per rotation of an item, all with
the item's id. Item-level metrics (accuracy, ANLS, ...) read each item once, on its unrotated asking
(rotation 0); circular accuracy reads every rotation. Every metric takes `results=` and returns a float
in [0, 1] (chance-normalised may be negative); `METRICS` maps the names recipes use to them. Empty or
unfit input raises `MetricError`, a sentence saying why.

Pure Python and numpy: no Django, no project app.
"""

from __future__ import annotations

import math
import re
import string
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

ANLS_THRESHOLD = 0.5
ECE_BINS = 10


class MetricError(ValueError):
    """Results a metric cannot score (none, or missing what it needs)."""


@dataclass(frozen=True)
class ItemResult:
    """One prompt's outcome.

    `references` are the accepted answers (the right letter for choice, "yes"/"no" for yes/no, every
    accepted wording for free text); `extracted` is what the rules read from `prediction` (None: nothing);
    `group` is what sibling questions share (the image, for acc+; empty means the item alone);
    `option_count` is the number of possible answers (2 for yes/no; 0 for free text), for chance;
    `probabilities` are the per-option probabilities where the inferencer yields them.
    """

    item_id: str
    category: str
    prediction: str
    extracted: str | None
    correct: bool
    references: tuple[str, ...] = ()
    rotation: int = 0
    probabilities: tuple[float, ...] | None = None
    group: str = ""
    option_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "category": self.category,
            "prediction": self.prediction,
            "extracted": self.extracted,
            "correct": self.correct,
            "references": list(self.references),
            "rotation": self.rotation,
            "probabilities": None if self.probabilities is None else list(self.probabilities),
            "group": self.group,
            "option_count": self.option_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemResult:
        try:
            probabilities = data.get("probabilities")
            extracted = data.get("extracted")
            correct = data["correct"]
            if not isinstance(correct, bool):
                raise MetricError(f"A result's 'correct' must be true or false, not {correct!r}.")
            return cls(
                item_id=str(data["item_id"]),
                category=str(data.get("category", "")),
                prediction=str(data.get("prediction", "")),
                extracted=None if extracted is None else str(extracted),
                correct=correct,
                references=tuple(str(reference) for reference in data.get("references", ())),
                rotation=int(data.get("rotation", 0)),
                probabilities=None if probabilities is None else tuple(float(p) for p in probabilities),
                group=str(data.get("group", "")),
                option_count=int(data.get("option_count", 0)),
            )
        except KeyError as error:
            raise MetricError(f"A result lacks {error.args[0]!r}.") from None
        except (TypeError, ValueError) as error:
            if isinstance(error, MetricError):
                raise
            raise MetricError(f"A result has a value of the wrong kind ({error}).") from None


@dataclass(frozen=True)
class Interval:
    lower: float
    upper: float

    def to_dict(self) -> dict[str, float]:
        return {"lower": self.lower, "upper": self.upper}


class Metric(Protocol):
    def __call__(self, *, results: Sequence[ItemResult]) -> float: ...


def accuracy(*, results: Sequence[ItemResult]) -> float:
    """The share of items answered right (each item once, on its unrotated asking)."""
    return _mean(result.correct for result in _items(results))


def circular_accuracy(*, results: Sequence[ItemResult]) -> float:
    """The share of items answered right in every rotation of their options (MMBench's CircularEval)."""
    by_item: dict[str, bool] = {}
    for result in _nonempty(results):
        by_item[result.item_id] = by_item.get(result.item_id, True) and result.correct
    return _mean(by_item.values())


def acc_plus(*, results: Sequence[ItemResult]) -> float:
    """MME's acc+: the share of groups (images) whose questions are all answered right."""
    by_group: dict[str, bool] = {}
    for result in _items(results):
        key = result.group or result.item_id
        by_group[key] = by_group.get(key, True) and result.correct
    return _mean(by_group.values())


def precision(*, results: Sequence[ItemResult]) -> float:
    """Of the items answered "yes", the share whose answer is yes (0 when none is answered "yes")."""
    true_yes, said_yes, _ = _yes_counts(results)
    return true_yes / said_yes if said_yes else 0.0


def recall(*, results: Sequence[ItemResult]) -> float:
    """Of the items whose answer is yes, the share answered "yes" (0 when no answer is yes)."""
    true_yes, _, are_yes = _yes_counts(results)
    return true_yes / are_yes if are_yes else 0.0


def f1(*, results: Sequence[ItemResult]) -> float:
    """The harmonic mean of precision and recall of "yes" (POPE)."""
    p, r = precision(results=results), recall(results=results)
    return 2 * p * r / (p + r) if p + r else 0.0


def yes_ratio(*, results: Sequence[ItemResult]) -> float:
    """The share of items answered "yes" (an unread answer counts as not "yes"): POPE's bias probe."""
    return _mean(result.extracted == "yes" for result in _items(results))


def anls_score(*, prediction: str, references: Sequence[str], threshold: float = ANLS_THRESHOLD) -> float:
    """ANLS of one answer (ST-VQA): 1 - NL, the normalised Levenshtein distance to the closest reference
    (lowercased, whitespace collapsed), or 0 where NL is at least `threshold`."""
    if not references:
        raise MetricError("ANLS needs at least one reference answer.")
    answer = _whitespace_collapsed(prediction.lower())
    best = 0.0
    for reference in references:
        wanted = _whitespace_collapsed(reference.lower())
        longest = max(len(answer), len(wanted))
        distance = levenshtein(answer, wanted) / longest if longest else 0.0
        best = max(best, 1.0 - distance if distance < threshold else 0.0)
    return best


def anls(*, results: Sequence[ItemResult], threshold: float = ANLS_THRESHOLD) -> float:
    """The mean ANLS of the items' full answers against their references."""
    return _mean(
        anls_score(prediction=result.prediction, references=result.references, threshold=threshold)
        for result in _items(results)
    )


def answer_normalised(text: str) -> str:
    """SQuAD's normalisation: lowercase, no punctuation, no articles (a, an, the), single spaces."""
    text = "".join(character for character in text.lower() if character not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match_score(*, prediction: str, references: Sequence[str]) -> float:
    """1 when the answer equals a reference once both are normalised (SQuAD), else 0."""
    if not references:
        raise MetricError("Exact match needs at least one reference answer.")
    answer = answer_normalised(prediction)
    return float(any(answer == answer_normalised(reference) for reference in references))


def exact_match(*, results: Sequence[ItemResult]) -> float:
    return _mean(
        exact_match_score(prediction=result.prediction, references=result.references)
        for result in _items(results)
    )


def chance_level(*, results: Sequence[ItemResult]) -> float:
    """The accuracy expected of guessing uniformly: the mean of 1 / option count over the items."""
    items = _items(results)
    if any(result.option_count < 1 for result in items):
        raise MetricError("Chance needs every result's option count; free-text items have no chance level.")
    return _mean(1.0 / result.option_count for result in items)


def chance_normalised(*, results: Sequence[ItemResult]) -> float:
    """(accuracy - chance) / (1 - chance): 0 for guessing, 1 for all right, below 0 for worse."""
    chance = chance_level(results=results)
    if chance >= 1.0:
        raise MetricError("Every item has a single option, so there is no chance level to normalise by.")
    return (accuracy(results=results) - chance) / (1.0 - chance)


def expected_calibration_error(
    *, confidences: Sequence[float], correct: Sequence[bool], bins: int = ECE_BINS
) -> float:
    """ECE with equal-count bins: items sorted by confidence are cut into `bins` bins as equal in size as
    possible; the error is the size-weighted mean of |accuracy - mean confidence| over the bins."""
    if len(confidences) != len(correct):
        raise MetricError("Calibration needs one confidence per result.")
    if not confidences:
        raise MetricError("There are no results to score.")
    if bins < 1:
        raise MetricError("Calibration needs at least one bin.")
    confidence = np.asarray(confidences, dtype=np.float64)
    if not np.all((confidence >= 0) & (confidence <= 1)):
        raise MetricError("Confidences must be probabilities from 0 to 1.")
    right = np.asarray(correct, dtype=np.float64)
    order = np.argsort(confidence, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, min(bins, len(order))):
        total += len(chunk) * abs(float(right[chunk].mean()) - float(confidence[chunk].mean()))
    return total / len(order)


def ece(*, results: Sequence[ItemResult]) -> float:
    """ECE of the items' top probabilities (each result's confidence is its highest probability)."""
    items = _items(results)
    if any(not result.probabilities for result in items):
        raise MetricError(
            "Calibration needs option probabilities for every result; this inferencer gives none."
        )
    return expected_calibration_error(
        confidences=[max(result.probabilities or ()) for result in items],
        correct=[result.correct for result in items],
    )


METRICS: Mapping[str, Metric] = {
    "accuracy": accuracy,
    "circular_accuracy": circular_accuracy,
    "acc_plus": acc_plus,
    "precision": precision,
    "recall": recall,
    "f1": f1,
    "yes_ratio": yes_ratio,
    "anls": anls,
    "exact_match": exact_match,
    "chance_normalised": chance_normalised,
    "ece": ece,
}


def bootstrap_interval(
    *,
    results: Sequence[ItemResult],
    metric: Metric,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """A percentile bootstrap interval of any metric, resampling items with replacement.

    The unit resampled is what belongs together: an item with all its rotations, or a whole acc+ group.
    A unit drawn twice counts twice (its copies get distinct ids). The same seed gives the same interval.
    """
    if resamples < 1 or not 0 < confidence < 1:
        raise MetricError("A bootstrap needs at least one resample and a confidence between 0 and 1.")
    units: dict[str, list[ItemResult]] = defaultdict(list)
    for result in _nonempty(results):
        units[result.group or result.item_id].append(result)
    keyed = list(units.values())
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(keyed), size=(resamples, len(keyed)))
    statistics = []
    for draw in draws:
        seen: dict[int, int] = {}
        sample: list[ItemResult] = []
        for index in draw.tolist():
            copy = seen.get(index, 0)
            seen[index] = copy + 1
            if copy == 0:
                sample.extend(keyed[index])
            else:
                sample.extend(_copied(result, copy) for result in keyed[index])
        statistics.append(metric(results=sample))
    tail = (1.0 - confidence) / 2
    lower, upper = np.quantile(np.asarray(statistics, dtype=np.float64), [tail, 1.0 - tail])
    return Interval(lower=float(lower), upper=float(upper))


def scores_by_category(
    *, results: Sequence[ItemResult], metrics: Sequence[str] = ("accuracy",)
) -> dict[str, Any]:
    """The named metrics overall and per category, with the item counts:
    {"overall": {"items": n, "<metric>": x, ...}, "categories": {"<category>": {...}, ...}}."""
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise MetricError(f"{', '.join(unknown)} is not a metric; use one of {', '.join(sorted(METRICS))}.")
    by_category: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        by_category[result.category].append(result)

    def scored(group: Sequence[ItemResult]) -> dict[str, Any]:
        row: dict[str, Any] = {"items": len({result.item_id for result in group})}
        for name in metrics:
            row[name] = METRICS[name](results=group)
        return row

    return {
        "overall": scored(results) if results else {"items": 0},
        "categories": {category: scored(by_category[category]) for category in sorted(by_category)},
    }


def levenshtein(first: str, second: str) -> int:
    """The edit distance (insertions, deletions, substitutions) between two strings."""
    if len(first) < len(second):
        first, second = second, first
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, start=1):
        current = [i]
        for j, b in enumerate(second, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


_PUNCTUATION = frozenset(string.punctuation)


def _whitespace_collapsed(text: str) -> str:
    return " ".join(text.split())


def _nonempty(results: Sequence[ItemResult]) -> Sequence[ItemResult]:
    if not results:
        raise MetricError("There are no results to score.")
    return results


def _items(results: Sequence[ItemResult]) -> list[ItemResult]:
    """Each item once: its unrotated asking."""
    items = [result for result in _nonempty(results) if result.rotation == 0]
    if not items:
        raise MetricError("No result is an item's unrotated asking (rotation 0).")
    return items


def _yes_counts(results: Sequence[ItemResult]) -> tuple[int, int, int]:
    true_yes = said_yes = are_yes = 0
    for result in _items(results):
        if not result.references or result.references[0] not in ("yes", "no"):
            raise MetricError("Precision and recall need yes/no results, each with its 'yes' or 'no' answer.")
        said = result.extracted == "yes"
        actual = result.references[0] == "yes"
        said_yes += said
        are_yes += actual
        true_yes += said and actual
    return true_yes, said_yes, are_yes


def _mean(values: Iterable[float | bool]) -> float:
    collected = [float(value) for value in values]
    if not collected:
        raise MetricError("There are no results to score.")
    return math.fsum(collected) / len(collected)


def _copied(result: ItemResult, copy: int) -> ItemResult:
    suffix = f"~{copy}"
    return replace(
        result, item_id=result.item_id + suffix, group=result.group + suffix if result.group else ""
    )
