"""Bootstrap intervals: refit on battles resampled with replacement."""

from __future__ import annotations

import numpy as np

from leaderboard.ratings.array_types import BoolArray, FloatArray, IntArray, frozen_float
from leaderboard.ratings.bradley_terry import (
    RATING_CENTER,
    RATING_SCALE,
    BTFit,
    FitSetup,
    problem_build,
    setup_build,
    strengths_center,
    strengths_fit_one,
)
from leaderboard.ratings.bt_newton import chord_solve, newton_solve
from leaderboard.ratings.comparison_graph import components_label, strongly_connected_count
from leaderboard.ratings.intervals import Intervals, percentiles_take
from leaderboard.ratings.pair_counts import PairCounts


def bootstrap_intervals(
    *, counts: PairCounts, fit: BTFit, rounds: int = 100, seed: int = 0, level: float = 0.95
) -> Intervals:
    """Percentile intervals from `rounds` refits, each on a resample of the battles.

    A resample draws as many battles as there are (self-battles aside) with replacement, i.e. a
    multinomial over the (pair, result) cells of `counts` (see multinomial_draw) from a numpy
    Generator seeded by `seed`, so the same inputs give the same intervals. Each round is refitted
    with the settings of `fit` (penalty, anchor) starting from its ratings. Rounds that keep the
    data's structure are solved together by Newton steps sharing the data's Hessian; a round that
    splits a component or leaves a model unbounded is fitted on its own (its parts centred
    separately, unbounded models at +-inf).
    """
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    setup = setup_build(counts=counts, penalty=fit.penalty, anchor=fit.anchor, compat=False)
    wins_first, wins_second, ties = pairs_resample(setup=setup, rounds=rounds, seed=seed)
    score = wins_first + 0.5 * ties
    total = wins_first + wins_second + ties
    start = (np.asarray(fit.ratings) - RATING_CENTER) / RATING_SCALE
    regular = _regular_rounds(setup, score, total, start)
    strengths = np.empty((rounds, setup.table.n_models))
    if regular.any():
        rows = np.flatnonzero(regular)
        problem = problem_build(setup=setup)
        strengths[rows], converged, _ = chord_solve(
            problem=problem,
            score=score[rows],
            total=total[rows],
            start=np.repeat(start[None], len(rows), axis=0),
            centre=start,
            centre_total=setup.table.total,
        )
        slow = rows[~converged]
        if len(slow):
            # Restart from the data's fit: the shared-Hessian iterates of these rounds went astray.
            restart = np.repeat(start[None], len(slow), axis=0)
            strengths[slow], _ = newton_solve(
                problem=problem, score=score[slow], total=total[slow], start=restart
            )
    for row in np.flatnonzero(~regular).tolist():
        strengths[row], _ = strengths_fit_one(setup=setup, score=score[row], total=total[row], start=start)
    samples = RATING_CENTER + RATING_SCALE * strengths_center(setup=setup, w=strengths)
    lower, upper = percentiles_take(samples=samples, level=level)
    return Intervals(
        lower=frozen_float(lower),
        upper=frozen_float(upper),
        method="bootstrap",
        level=level,
        samples=frozen_float(samples),
    )


def pairs_resample(*, setup: FitSetup, rounds: int, seed: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Resampled (wins_first, wins_second, ties) per round (rounds x pairs of setup.table)."""
    table = setup.table
    cells = np.concatenate([table.wins_first, table.wins_second, table.ties])
    present = np.flatnonzero(cells > 0)
    drawn = np.zeros((rounds, len(cells)))
    battles = round(float(cells.sum()))
    if battles:
        rng = np.random.default_rng(seed)
        drawn[:, present] = multinomial_draw(rng=rng, trials=battles, weights=cells[present], rounds=rounds)
    k = len(table.first)
    return drawn[:, :k], drawn[:, k : 2 * k], drawn[:, 2 * k :]


def multinomial_draw(*, rng: np.random.Generator, trials: int, weights: FloatArray, rounds: int) -> IntArray:
    """`rounds` draws from Multinomial(trials, weights / sum(weights)), exactly, about twice as fast
    as Generator.multinomial for many cells.

    Independent Poisson(trials * p) counts are, given their total t, Multinomial(t, p). A round
    that came out short gets trials - t more battles drawn from p (the sum of independent
    multinomials with the same p is multinomial); one that came out long loses t - trials of its t
    battles chosen uniformly without replacement (a uniform subset of iid draws is iid). Either way
    the round is Multinomial(trials, p) whatever t was. The extra battles of all short rounds are
    drawn at once, by inverting the cumulative distribution of p at uniform numbers.
    """
    p = weights / weights.sum()
    cells = len(p)
    counts = rng.poisson(trials * p, size=(rounds, cells))
    flat = counts.reshape(-1)
    gaps = trials - counts.sum(axis=1)
    short = np.flatnonzero(gaps > 0)
    if len(short):
        cumulative = np.cumsum(p)
        cumulative /= cumulative[-1]
        cell = np.searchsorted(cumulative, rng.random(int(gaps[short].sum())), side="right")
        np.add.at(flat, np.repeat(short * cells, gaps[short]) + np.minimum(cell, cells - 1), 1)
    long = np.flatnonzero(gaps < 0)
    if len(long):
        # Battles numbered round by round: searching the running totals of all long rounds at
        # once maps each dropped battle to its (round, cell).
        running = np.cumsum(counts[long], axis=1)
        base = np.concatenate([[0], np.cumsum(running[:, -1])[:-1]])
        dropped = np.concatenate(
            [
                rng.choice(int(running[i, -1]), size=-int(gaps[row]), replace=False) + base[i]
                for i, row in enumerate(long.tolist())
            ]
        )
        position = np.searchsorted((running + base[:, None]).reshape(-1), dropped, side="right")
        np.subtract.at(flat, long[position // cells] * cells + position % cells, 1)
    return counts.astype(np.int64, copy=False)


def _regular_rounds(setup: FitSetup, score: FloatArray, total: FloatArray, start: FloatArray) -> BoolArray:
    """Rounds the stacked solver can take: same components as the data and, without a penalty,
    a finite optimum (Zermelo's condition within every component)."""
    rounds = len(score)
    if setup.penalty > 0.0:
        return np.ones(rounds, np.bool_)
    if not np.isfinite(start).all():
        return np.zeros(rounds, np.bool_)
    table = setup.table
    # A round that kept every edge of the data's graphs (each pair met, and whoever took points
    # off whom still did) has the data's structure, which gave a finite fit: no graph work needed.
    kept: BoolArray = np.asarray(
        (total > 0).all(axis=1)
        & ((score > 0) | (table.score_first <= 0)).all(axis=1)
        & ((total - score > 0) | (table.total - table.score_first <= 0)).all(axis=1),
        dtype=np.bool_,
    )
    m = table.n_models
    expected = len(np.unique(setup.components))
    regular = kept.copy()
    for row in np.flatnonzero(~kept).tolist():
        seen = total[row] > 0
        first, second = table.first[seen], table.second[seen]
        if len(np.unique(components_label(n_models=m, first=first, second=second))) != expected:
            continue
        regular[row] = (
            strongly_connected_count(
                n_models=m, first=first, second=second, score=score[row, seen], total=total[row, seen]
            )
            == expected
        )
    return regular
