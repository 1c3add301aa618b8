"""Bootstrap and sandwich intervals: coverage of the truth, reproducibility, and ranks."""

from __future__ import annotations

import numpy as np
import pytest

from leaderboard.ratings.battle_set import BattleSet
from leaderboard.ratings.bootstrap import bootstrap_intervals, multinomial_draw, pairs_resample
from leaderboard.ratings.bradley_terry import Anchor, bt_fit, setup_build
from leaderboard.ratings.intervals import ranks_compute
from leaderboard.ratings.pair_counts import PairCounts, battles_aggregate
from leaderboard.ratings.sandwich import sandwich_intervals

STRENGTHS = np.linspace(-0.35, 0.35, 10)
TRUTH = 1000 + 400 * (STRENGTHS - STRENGTHS.mean())


def _counts(seed: int, battles: int = 3000) -> PairCounts:
    rng = np.random.default_rng(seed)
    m = len(STRENGTHS)
    a = rng.integers(0, m, battles)
    b = (a + rng.integers(1, m, battles)) % m
    p_a = 1.0 / (1.0 + 10.0 ** (STRENGTHS[b] - STRENGTHS[a]))
    outcome = np.where(rng.random(battles) < p_a, 0, 1)
    battle_set = BattleSet(
        models=tuple(f"m{i}" for i in range(m)),
        model_a=a,
        model_b=b,
        outcome=outcome,
        tstamp=np.zeros(battles),
        anony=np.ones(battles, bool),
    )
    return battles_aggregate(battles=battle_set)


def _coverage(method: str, replicates: int = 40) -> float:
    covered = []
    for seed in range(replicates):
        counts = _counts(seed)
        fit = bt_fit(counts=counts)
        if method == "bootstrap":
            bounds = bootstrap_intervals(counts=counts, fit=fit, rounds=100, seed=1000 + seed)
        else:
            bounds = sandwich_intervals(counts=counts, fit=fit)
        covered.append((bounds.lower <= TRUTH) & (bounds.upper >= TRUTH))
    return float(np.mean(covered))


@pytest.mark.parametrize("method", ["bootstrap", "sandwich"])
def test_95_percent_intervals_cover_the_truth_about_95_percent_of_the_time(method: str) -> None:
    assert 0.88 <= _coverage(method) <= 0.99


def test_bootstrap_is_reproducible_for_a_seed_and_varies_across_seeds() -> None:
    counts = _counts(0)
    fit = bt_fit(counts=counts)
    first = bootstrap_intervals(counts=counts, fit=fit, rounds=50, seed=7)
    again = bootstrap_intervals(counts=counts, fit=fit, rounds=50, seed=7)
    other = bootstrap_intervals(counts=counts, fit=fit, rounds=50, seed=8)
    assert first.lower.tolist() == again.lower.tolist()
    assert first.upper.tolist() == again.upper.tolist()
    assert first.lower.tolist() != other.lower.tolist()


def test_bootstrap_rounds_each_keep_the_battles_centred() -> None:
    counts = _counts(1)
    bounds = bootstrap_intervals(counts=counts, fit=bt_fit(counts=counts), rounds=30, seed=0)
    assert bounds.samples is not None
    assert bounds.samples.shape == (30, 10)
    assert bounds.samples.mean(axis=1) == pytest.approx(np.full(30, 1000.0))


def test_sandwich_and_bootstrap_agree_on_width_with_plenty_of_data() -> None:
    counts = _counts(2, battles=20_000)
    fit = bt_fit(counts=counts)
    boot = bootstrap_intervals(counts=counts, fit=fit, rounds=200, seed=0)
    sandwich = sandwich_intervals(counts=counts, fit=fit)
    ratio = (boot.upper - boot.lower) / (sandwich.upper - sandwich.lower)
    assert 0.8 < float(np.median(ratio)) < 1.2


def test_anchored_model_has_a_zero_width_interval() -> None:
    counts = _counts(3)
    fit = bt_fit(counts=counts, anchor=Anchor("m4", 1100.0))
    for bounds in (
        bootstrap_intervals(counts=counts, fit=fit, rounds=20),
        sandwich_intervals(counts=counts, fit=fit),
    ):
        assert bounds.lower[4] == pytest.approx(1100.0)
        assert bounds.upper[4] == pytest.approx(1100.0)
        assert (bounds.upper[np.arange(10) != 4] - bounds.lower[np.arange(10) != 4] > 1).all()


def test_penalised_fit_bootstraps_with_its_own_penalty() -> None:
    counts = _counts(4, battles=400)
    fit = bt_fit(counts=counts, penalty=5.0)
    bounds = bootstrap_intervals(counts=counts, fit=fit, rounds=50)
    assert (bounds.lower <= fit.ratings).all()
    assert (fit.ratings <= bounds.upper).all()


def test_rank_counts_models_surely_above() -> None:
    lower = np.array([1100.0, 1050.0, 1000.0, 900.0])
    upper = np.array([1200.0, 1150.0, 1060.0, 950.0])
    ranks = ranks_compute(lower=lower, upper=upper, components=np.zeros(4, np.int64))
    assert ranks.rank.tolist() == [1, 1, 2, 4]
    assert ranks.rank_lower.tolist() == ranks.rank.tolist()
    assert ranks.rank_upper.tolist() == [2, 3, 3, 4]


def test_ranks_are_counted_within_each_component() -> None:
    lower = np.array([1100.0, 900.0, 1500.0, 500.0])
    upper = np.array([1200.0, 950.0, 1600.0, 600.0])
    ranks = ranks_compute(lower=lower, upper=upper, components=np.array([0, 0, 1, 1]))
    assert ranks.rank.tolist() == [1, 2, 1, 2]


def test_fast_multinomial_keeps_the_total_and_the_expected_counts() -> None:
    rng = np.random.default_rng(0)
    weights = np.array([500.0, 300.0, 150.0, 49.0, 1.0])
    draws = multinomial_draw(rng=rng, trials=1000, weights=weights, rounds=4000)
    assert (draws.sum(axis=1) == 1000).all()
    assert draws.mean(axis=0) == pytest.approx(weights, rel=0.02, abs=0.2)
    # Multinomial variances n p (1 - p), which a Poisson draw alone would overstate.
    p = weights / weights.sum()
    assert draws.var(axis=0) == pytest.approx(1000 * p * (1 - p), rel=0.1)


def test_fast_multinomial_matches_numpy_on_a_small_case() -> None:
    rng = np.random.default_rng(1)
    weights = np.array([0.5, 0.3, 0.2])
    ours = multinomial_draw(rng=rng, trials=4, weights=weights, rounds=20_000)
    numpy = rng.multinomial(4, weights, size=20_000)
    outcomes = sorted({tuple(row) for row in ours.tolist()} | {tuple(row) for row in numpy.tolist()})
    index = {outcome: i for i, outcome in enumerate(outcomes)}
    ours_hist = np.bincount([index[tuple(row)] for row in ours.tolist()], minlength=len(outcomes))
    numpy_hist = np.bincount([index[tuple(row)] for row in numpy.tolist()], minlength=len(outcomes))
    chi2 = float((((ours_hist - numpy_hist) ** 2) / (ours_hist + numpy_hist)).sum())
    assert len(outcomes) == 15
    assert chi2 < 40  # 14 degrees of freedom: the 99.99th percentile is about 40


def test_each_bootstrap_round_is_the_exact_fit_of_its_resample() -> None:
    counts = _counts(5, battles=1500)
    fit = bt_fit(counts=counts)
    bounds = bootstrap_intervals(counts=counts, fit=fit, rounds=12, seed=3)
    setup = setup_build(counts=counts, penalty=0.0, anchor=None, compat=False)
    wins_first, wins_second, ties = pairs_resample(setup=setup, rounds=12, seed=3)
    table = setup.table
    assert bounds.samples is not None
    for row in range(12):
        resampled = PairCounts(
            models=counts.models,
            a_idx=table.first,
            b_idx=table.second,
            wins_a=wins_first[row].astype(np.int64),
            wins_b=wins_second[row].astype(np.int64),
            ties=ties[row].astype(np.int64),
        )
        assert bounds.samples[row] == pytest.approx(bt_fit(counts=resampled).ratings, abs=1e-5)
