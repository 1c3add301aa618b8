import json

import pytest

from evaluation.analyses.correlation import (
    CorrelationOutcome,
    category_correlations_compute,
    rank_correlation_compute,
)

RATINGS = {"m1": 1000.0, "m2": 1100.0, "m3": 1200.0, "m4": 1300.0}


def _correlation(scores, ratings=RATINGS, **options):
    outcome = rank_correlation_compute(scores=scores, ratings=ratings, **options)
    assert outcome.reason is None
    return outcome.correlation


def test_identical_rankings_correlate_one():
    correlation = _correlation({"m1": 0.1, "m2": 0.2, "m3": 0.5, "m4": 0.9})
    assert (correlation.spearman, correlation.kendall) == (pytest.approx(1.0), pytest.approx(1.0))
    assert correlation.spearman_interval == (pytest.approx(1.0), pytest.approx(1.0))
    assert correlation.models == ("m1", "m2", "m3", "m4")


def test_reversed_rankings_correlate_minus_one():
    correlation = _correlation({"m1": 0.9, "m2": 0.5, "m3": 0.2, "m4": 0.1})
    assert (correlation.spearman, correlation.kendall) == (pytest.approx(-1.0), pytest.approx(-1.0))


def test_one_swapped_pair():
    # x = 1 2 3 4, y = 1 3 2 4: 5 concordant pairs, 1 discordant; sum of squared rank differences 2.
    correlation = _correlation({"m1": 1, "m2": 3, "m3": 2, "m4": 4})
    assert correlation.kendall == pytest.approx(4 / 6)
    assert correlation.spearman == pytest.approx(1 - 6 * 2 / (4 * 15))


def test_tau_b_with_ties_by_hand():
    # x = 1 2 2 3, y = 1 3 2 3: 4 concordant, 0 discordant, one pair tied in x only, one in y only:
    # tau-b = 4 / sqrt(5 * 5); rho = Pearson of ranks (1 2.5 2.5 4), (1 3.5 2 3.5) = 3.75 / 4.5.
    correlation = _correlation(
        {"m1": 1, "m2": 3, "m3": 2, "m4": 3}, ratings={"m1": 1, "m2": 2, "m3": 2, "m4": 3}
    )
    assert correlation.kendall == pytest.approx(0.8)
    assert correlation.spearman == pytest.approx(3.75 / 4.5)


def test_only_models_with_both_count():
    correlation = _correlation({"m1": 0.1, "m2": 0.2, "m3": 0.3, "other": 0.0})
    assert correlation.models == ("m1", "m2", "m3")


def test_fewer_than_three_shared_models_give_the_reason_instead():
    outcome = rank_correlation_compute(scores={"m1": 0.1, "m2": 0.2, "x": 0.3}, ratings=RATINGS)
    assert outcome.correlation is None
    assert outcome.reason == "Only 2 models have both a score and a rating; a rank correlation needs 3."


def test_scores_all_equal_give_the_reason_instead():
    outcome = rank_correlation_compute(scores=dict.fromkeys(RATINGS, 0.5), ratings=RATINGS)
    assert outcome.correlation is None
    assert "same score" in outcome.reason


def test_the_bootstrap_interval_is_seeded_and_holds_the_estimate():
    scores = {f"m{i}": float(i + (i % 3)) for i in range(12)}
    ratings = {f"m{i}": float(i) for i in range(12)}
    first = _correlation(scores, ratings, seed=5, resamples=300)
    assert first == _correlation(scores, ratings, seed=5, resamples=300)
    low, high = first.kendall_interval
    assert low <= first.kendall <= high
    assert low < high
    assert 0 < first.resamples <= 300


def test_each_category_is_correlated_with_the_ratings():
    outcomes = category_correlations_compute(
        category_scores={"ocr": {"m1": 1, "m2": 2, "m3": 3, "m4": 4}, "tiny": {"m1": 1}}, ratings=RATINGS
    )
    assert list(outcomes) == ["ocr", "tiny"]
    assert outcomes["ocr"].correlation.spearman == pytest.approx(1.0)
    assert outcomes["tiny"].correlation is None


def test_the_outcome_survives_json():
    outcome = rank_correlation_compute(scores={"m1": 1, "m2": 3, "m3": 2, "m4": 4}, ratings=RATINGS)
    assert CorrelationOutcome.from_dict(json.loads(json.dumps(outcome.to_dict()))) == outcome
