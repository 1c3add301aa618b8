"""Instruction stability (MM-BigBench): the same items asked under several instruction wordings.

A model whose accuracy swings with the wording of the instruction is reported by its best, its mean and the
standard deviation over wordings. Fewer than `MIN_WORDINGS` wordings are refused: the spread of two or three
numbers says little.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MIN_WORDINGS = 5


@dataclass(frozen=True)
class WordingScore:
    wording: str
    accuracy: float


@dataclass(frozen=True)
class StabilityResult:
    """Accuracy per wording (sorted by wording), the best one (the first by name on a tie), mean and std.

    The standard deviation is the population one (ddof = 0): the wordings run are the whole set described,
    not a sample of some larger set, and MM-BigBench reports it so.
    """

    items: int
    wordings: tuple[WordingScore, ...]
    best_wording: str
    best: float
    mean: float
    std: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "wordings": [{"wording": w.wording, "accuracy": w.accuracy} for w in self.wordings],
            "best_wording": self.best_wording,
            "best": self.best,
            "mean": self.mean,
            "std": self.std,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StabilityResult:
        return cls(
            items=data["items"],
            wordings=tuple(WordingScore(w["wording"], w["accuracy"]) for w in data["wordings"]),
            best_wording=data["best_wording"],
            best=data["best"],
            mean=data["mean"],
            std=data["std"],
        )


def stability_compute(*, correct_by_wording: Mapping[str, Mapping[str, bool]]) -> StabilityResult:
    """Best, mean and std of accuracy over wordings, from wording → item id → answered right.

    Every wording must cover the same items, so the spread is the wording's doing and not the items'.
    """
    if len(correct_by_wording) < MIN_WORDINGS:
        raise ValueError(
            f"Instruction stability needs at least {MIN_WORDINGS} instruction wordings; "
            f"{len(correct_by_wording)} were given."
        )
    wordings = sorted(correct_by_wording)
    items = set(correct_by_wording[wordings[0]])
    if not items:
        raise ValueError("There are no items to measure instruction stability on.")
    for wording in wordings[1:]:
        if set(correct_by_wording[wording]) != items:
            raise ValueError(
                f"The wording {wording!r} was run on other items than {wordings[0]!r}; "
                "every wording must cover the same items."
            )
    scores = tuple(
        WordingScore(wording, sum(bool(v) for v in correct_by_wording[wording].values()) / len(items))
        for wording in wordings
    )
    accuracies = [score.accuracy for score in scores]
    mean = math.fsum(accuracies) / len(accuracies)
    std = math.sqrt(math.fsum((value - mean) ** 2 for value in accuracies) / len(accuracies))
    best = max(scores, key=lambda score: score.accuracy)  # max keeps the first of equals: sorted by name
    return StabilityResult(
        items=len(items),
        wordings=scores,
        best_wording=best.wording,
        best=best.accuracy,
        mean=mean,
        std=std,
    )
