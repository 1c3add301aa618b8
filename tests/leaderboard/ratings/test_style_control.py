"""Style control on synthetic battles with an injected length bias."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leaderboard.ratings.battle_set import BattleSet
from leaderboard.ratings.bradley_terry import bt_fit
from leaderboard.ratings.leaderboard import leaderboard_compute
from leaderboard.ratings.pair_counts import battles_aggregate
from leaderboard.ratings.style_control import (
    STYLE_FEATURES,
    StyleFeatures,
    answer_style_count,
    style_covariates,
    style_fit,
)

LENGTH_EFFECT = 0.4


def _biased_arena(seed: int, battles: int = 20_000) -> tuple[BattleSet, StyleFeatures, np.ndarray]:
    """Votes that favour the longer answer; some models are far wordier than others."""
    rng = np.random.default_rng(seed)
    m = 8
    strengths = np.linspace(-0.3, 0.3, m)
    rng.shuffle(strengths)
    wordiness = rng.uniform(100, 600, m)
    a = rng.integers(0, m, battles)
    b = (a + rng.integers(1, m, battles)) % m
    words_a = np.round(wordiness[a] * rng.lognormal(0, 0.5, battles))
    words_b = np.round(wordiness[b] * rng.lognormal(0, 0.5, battles))
    bold_a = rng.poisson(2, battles).astype(float)
    bold_b = rng.poisson(2, battles).astype(float)
    zeros = np.zeros(battles)
    features = StyleFeatures(
        STYLE_FEATURES,
        np.stack([words_a, zeros, zeros, bold_a], axis=1),
        np.stack([words_b, zeros, zeros, bold_b], axis=1),
    )
    covariates, _ = style_covariates(features=features)
    logit = math.log(10) * (strengths[a] - strengths[b]) + LENGTH_EFFECT * covariates[:, 0]
    a_wins = rng.random(battles) < 1 / (1 + np.exp(-logit))
    battle_set = BattleSet(
        models=tuple(f"m{i}" for i in range(m)),
        model_a=a,
        model_b=b,
        outcome=np.where(a_wins, 0, 1),
        tstamp=np.zeros(battles),
        anony=np.ones(battles, bool),
    )
    return battle_set, features, 1000 + 400 * (strengths - strengths.mean())


def test_injected_length_effect_is_recovered() -> None:
    battles, features, _ = _biased_arena(seed=0)
    fit = style_fit(battles=battles, features=features)
    assert fit.coefficients[0] == pytest.approx(LENGTH_EFFECT, abs=max(0.06, 3 * fit.coefficient_se[0]))
    assert abs(fit.coefficients[3]) < 3 * fit.coefficient_se[3]  # bold had no effect


def test_features_that_never_differ_are_reported_as_not_estimable() -> None:
    battles, features, _ = _biased_arena(seed=1, battles=2000)
    fit = style_fit(battles=battles, features=features)
    assert math.isnan(fit.coefficients[1])
    assert math.isnan(fit.coefficients[2])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_destyled_ratings_are_closer_to_the_truth_than_the_plain_fit(seed: int) -> None:
    battles, features, truth = _biased_arena(seed=seed)
    plain = bt_fit(counts=battles_aggregate(battles=battles))
    styled = style_fit(battles=battles, features=features)
    plain_error = float(np.sqrt(np.mean((plain.ratings - truth) ** 2)))
    styled_error = float(np.sqrt(np.mean((styled.ratings - truth) ** 2)))
    assert styled_error < 0.5 * plain_error


def test_style_switch_in_the_entry_point_reports_coefficients() -> None:
    battles, features, _ = _biased_arena(seed=3, battles=5000)
    result = leaderboard_compute(battles=battles, style=features, interval="sandwich")
    assert result.style is not None
    assert result.style.feature_names == STYLE_FEATURES
    assert result.style.coefficients[0] == pytest.approx(LENGTH_EFFECT, abs=0.15)
    row = result.row_of("m0")
    assert row.ci_lower < row.rating < row.ci_upper
    assert result.to_dict()["style"]["coefficients"][1] is None  # type: ignore[index]


def test_style_bootstrap_intervals_bracket_the_ratings() -> None:
    battles, features, _ = _biased_arena(seed=4, battles=1500)
    result = leaderboard_compute(battles=battles, style=features, bootstrap_rounds=20, seed=3)
    for row in result.rows:
        assert row.ci_lower <= row.rating <= row.ci_upper


def test_answer_style_count_counts_words_headers_list_items_and_bold() -> None:
    text = "# Title\n\nSome **bold** words and __more__.\n\n- one\n- two\n1. three\n## Sub\nplain"
    assert answer_style_count(text=text) == (16, 2, 3, 2)  # words split on whitespace
