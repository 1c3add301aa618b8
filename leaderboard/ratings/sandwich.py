"""Closed-form robust (sandwich) intervals: a fast alternative to the bootstrap."""

from __future__ import annotations

import math

import numpy as np

from leaderboard.ratings.array_types import FloatArray, frozen_float
from leaderboard.ratings.bradley_terry import (
    RATING_CENTER,
    RATING_SCALE,
    BTFit,
    setup_build,
)
from leaderboard.ratings.bt_newton import LN10
from leaderboard.ratings.comparison_graph import components_label
from leaderboard.ratings.intervals import Intervals
from leaderboard.ratings.pair_counts import PairCounts


def _laplacian(m: int, first: np.ndarray, second: np.ndarray, weight: FloatArray) -> FloatArray:
    """Sum of weight_k (e_i - e_j)(e_i - e_j)^T over pairs (i, j) (pairs are distinct)."""
    out = np.zeros(m * m)
    out[first * m + second] = -weight
    out[second * m + first] = -weight
    out[np.arange(m) * (m + 1)] = np.bincount(first, weight, m) + np.bincount(second, weight, m)
    return out.reshape(m, m)


def sandwich_intervals(*, counts: PairCounts, fit: BTFit, level: float = 0.95) -> Intervals:
    """Normal intervals from the sandwich covariance H^-1 M H^-1 of the fitted strengths.

    H is the Hessian of the penalised negative log-likelihood and M the sum over battles of the
    outer products of each battle's score (gradient), so the intervals stay valid when battles
    are not exactly Bradley-Terry (e.g. voters disagree more than the model says). The covariance
    is taken for the ratings as reported: centred per component, or relative to the anchor.
    Models with an unbounded rating get [rating, rating].
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    setup = setup_build(counts=counts, penalty=fit.penalty, anchor=fit.anchor, compat=False)
    table = setup.table
    m = table.n_models
    w = (np.asarray(fit.ratings) - RATING_CENTER) / RATING_SCALE
    finite = np.isfinite(w)
    live = finite[table.first] & finite[table.second]
    first, second = table.first[live], table.second[live]
    p = 1.0 / (1.0 + 10.0 ** (w[second] - w[first]))
    total = table.total[live]
    squared_scores = (
        table.wins_first[live] * (1.0 - p) ** 2
        + table.wins_second[live] * p**2
        + table.ties[live] * (0.5 - p) ** 2
    )
    hessian = LN10**2 * _laplacian(m, first, second, total * p * (1.0 - p))
    meat = LN10**2 * _laplacian(m, first, second, squared_scores)
    if setup.penalty > 0.0:
        free = np.setdiff1d(np.arange(m), [] if setup.anchor_index is None else [setup.anchor_index])
        bread = np.linalg.inv(hessian[np.ix_(free, free)] + setup.penalty * np.eye(len(free)))
        covariance = np.zeros((m, m))
        covariance[np.ix_(free, free)] = bread @ meat[np.ix_(free, free)] @ bread
    else:
        covariance = _gauge_covariance(setup.components, finite, first, second, hessian, meat)
        if setup.anchor_index is not None:
            members = np.flatnonzero(setup.components == setup.components[setup.anchor_index])
            shift = np.eye(m)
            shift[members, setup.anchor_index] -= 1.0
            covariance = shift @ covariance @ shift.T
    spread = RATING_SCALE * np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    # scipy.stats.norm.ppf's own function; scipy is imported only here, when asked for (it costs
    # about 0.2 s, so a bootstrap run does without it).
    from scipy.special import ndtri

    z = float(ndtri(0.5 + level / 2.0))
    ratings = np.asarray(fit.ratings)
    lower = np.where(finite, ratings - z * spread, ratings)
    upper = np.where(finite, ratings + z * spread, ratings)
    return Intervals(
        lower=frozen_float(lower),
        upper=frozen_float(upper),
        method="sandwich",
        level=level,
        samples=None,
    )


def _gauge_covariance(
    components: np.ndarray,
    finite: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    hessian: FloatArray,
    meat: FloatArray,
) -> FloatArray:
    """H^+ M H^+ on the zero-mean subspace of each group of finite models compared with each other."""
    m = len(components)
    labels = components_label(n_models=m, first=first, second=second)
    regular = hessian.copy()
    centring = np.eye(m)
    for label in np.unique(labels[finite]).tolist():
        group = np.flatnonzero(finite & (labels == label))
        regular[np.ix_(group, group)] += 1.0 / len(group)
        centring[np.ix_(group, group)] -= 1.0 / len(group)
    regular[~finite, ~finite] = 1.0
    bread = np.linalg.inv(regular)
    covariance = centring @ bread @ meat @ bread @ centring.T
    covariance[~finite, :] = 0.0
    covariance[:, ~finite] = 0.0
    del components
    return covariance if math.isfinite(float(covariance.sum())) else np.full((m, m), np.nan)
