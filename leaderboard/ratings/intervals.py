"""Confidence intervals on ratings, and the ranks they imply."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from leaderboard.ratings.array_types import FloatArray, IntArray, frozen_int


@dataclass(frozen=True, eq=False)
class Intervals:
    """Per-model [lower, upper] rating bounds at `level`.

    `samples` holds the bootstrap ratings (rounds x models) for the bootstrap method, else None.
    """

    lower: FloatArray
    upper: FloatArray
    method: Literal["bootstrap", "sandwich"]
    level: float
    samples: FloatArray | None


@dataclass(frozen=True, eq=False)
class RankBounds:
    """rank: 1 + number of models (same component) whose lower bound is above this model's upper.

    rank_lower / rank_upper: the best / worst rank consistent with the intervals; rank_lower equals
    rank by construction, rank_upper counts every model that is not surely below this one.
    """

    rank: IntArray
    rank_lower: IntArray
    rank_upper: IntArray


def ranks_compute(*, lower: FloatArray, upper: FloatArray, components: IntArray) -> RankBounds:
    """Ranks within each component from the intervals (NaN bounds rank as 'not surely above/below')."""
    same = components[:, None] == components[None, :]
    np.fill_diagonal(same, False)
    surely_above = same & (lower[None, :] > upper[:, None])  # [i, j]: j is surely above i
    maybe_above = same & ~(upper[None, :] < lower[:, None])  # [i, j]: j is not surely below i
    rank = 1 + surely_above.sum(axis=1)
    worst = 1 + maybe_above.sum(axis=1)
    return RankBounds(
        rank=frozen_int(rank),
        rank_lower=frozen_int(rank),
        rank_upper=frozen_int(worst),
    )


def percentiles_take(*, samples: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """Lower and upper percentile (e.g. 2.5 and 97.5 for level 0.95) per column, NaN rows skipped.

    Unbounded samples (+-inf) are allowed: where interpolation would mix them, the nearest order
    statistic is used instead of inf - inf.
    """
    tail = 50.0 * (1.0 - level)
    if samples.shape[1] == 0:
        return np.zeros(0), np.zeros(0)
    # All-NaN columns (a model unrated in every round) warn; their bounds are simply NaN.
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        linear = np.nanpercentile(samples, [tail, 100.0 - tail], axis=0)
        nearest = np.nanpercentile(samples, [tail, 100.0 - tail], axis=0, method="nearest")
    bounds = np.where(np.isnan(linear) & ~np.isnan(nearest), nearest, linear)
    return bounds[0], bounds[1]
