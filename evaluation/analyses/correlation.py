"""Arena vs benchmarks: how well a benchmark's scores rank models the way people's votes do.

Spearman's rho and Kendall's tau-b (tau-b corrects for ties, which benchmark scores have often) over the
models both maps score, each with a percentile bootstrap interval from resampling those models with
replacement. The bootstrap is seeded, so the same inputs give the same interval. Fewer than `MIN_MODELS`
shared models give no correlation but the reason: two points always lie on a line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

MIN_MODELS = 3


@dataclass(frozen=True)
class RankCorrelation:
    """Coefficients over `models` (sorted); an interval is None when no resample had spread in both scores.

    `resamples` counts the bootstrap samples used: one that picked models all tied on a side has no rank
    correlation and is dropped.
    """

    models: tuple[str, ...]
    spearman: float
    kendall: float
    spearman_interval: tuple[float, float] | None
    kendall_interval: tuple[float, float] | None
    confidence: float
    resamples: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "spearman": self.spearman,
            "kendall": self.kendall,
            "spearman_interval": None if self.spearman_interval is None else list(self.spearman_interval),
            "kendall_interval": None if self.kendall_interval is None else list(self.kendall_interval),
            "confidence": self.confidence,
            "resamples": self.resamples,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RankCorrelation:
        def interval(value: Any) -> tuple[float, float] | None:
            return None if value is None else (float(value[0]), float(value[1]))

        return cls(
            models=tuple(data["models"]),
            spearman=data["spearman"],
            kendall=data["kendall"],
            spearman_interval=interval(data["spearman_interval"]),
            kendall_interval=interval(data["kendall_interval"]),
            confidence=data["confidence"],
            resamples=data["resamples"],
        )


@dataclass(frozen=True)
class CorrelationOutcome:
    """Either a correlation or, when there is none to compute, the reason in a sentence."""

    correlation: RankCorrelation | None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "correlation": None if self.correlation is None else self.correlation.to_dict(),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CorrelationOutcome:
        correlation = data["correlation"]
        return cls(None if correlation is None else RankCorrelation.from_dict(correlation), data["reason"])


def rank_correlation_compute(
    *,
    scores: Mapping[str, float],
    ratings: Mapping[str, float],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> CorrelationOutcome:
    """Spearman and Kendall tau-b between two model → value maps (a benchmark's scores, the arena's
    ratings)."""
    if resamples < 1:
        raise ValueError("The bootstrap needs at least one resample.")
    if not 0.0 < confidence < 1.0:
        raise ValueError("The confidence level must be a fraction between 0 and 1.")
    models = tuple(sorted(set(scores) & set(ratings)))
    if len(models) < MIN_MODELS:
        return CorrelationOutcome(
            None,
            f"Only {len(models)} models have both a score and a rating; "
            f"a rank correlation needs {MIN_MODELS}.",
        )
    x = np.array([scores[model] for model in models], dtype=np.float64)
    y = np.array([ratings[model] for model in models], dtype=np.float64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return CorrelationOutcome(None, "Some scores or ratings are not finite numbers.")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return CorrelationOutcome(None, "All models have the same score or the same rating, so no ranking.")
    rng = np.random.default_rng(seed)
    spearman_samples: list[float] = []
    kendall_samples: list[float] = []
    for picks in rng.integers(0, len(models), size=(resamples, len(models))):
        xs, ys = x[picks], y[picks]
        if np.ptp(xs) == 0 or np.ptp(ys) == 0:
            continue
        spearman_samples.append(_spearman(xs, ys))
        kendall_samples.append(_kendall(xs, ys))
    tail = (1.0 - confidence) / 2.0
    return CorrelationOutcome(
        RankCorrelation(
            models=models,
            spearman=_spearman(x, y),
            kendall=_kendall(x, y),
            spearman_interval=_percentiles(spearman_samples, tail),
            kendall_interval=_percentiles(kendall_samples, tail),
            confidence=confidence,
            resamples=len(spearman_samples),
        )
    )


def category_correlations_compute(
    *,
    category_scores: Mapping[str, Mapping[str, float]],
    ratings: Mapping[str, float],
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, CorrelationOutcome]:
    """`rank_correlation_compute` for each benchmark category (category → model → score), by category."""
    return {
        category: rank_correlation_compute(
            scores=category_scores[category],
            ratings=ratings,
            resamples=resamples,
            confidence=confidence,
            seed=seed,
        )
        for category in sorted(category_scores)
    }


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.spearmanr(x, y).statistic)


def _kendall(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.kendalltau(x, y, variant="b").statistic)


def _percentiles(samples: list[float], tail: float) -> tuple[float, float] | None:
    values = [value for value in samples if math.isfinite(value)]
    if not values:
        return None
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return (float(low), float(high))
