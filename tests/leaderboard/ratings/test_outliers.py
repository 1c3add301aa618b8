"""The outlier-voter statistic on simulated voters: honest ones (votes drawn from the true
Bradley-Terry probabilities, scored against noisy estimated ratings) are almost never flagged; one
who always votes for a weak model is flagged within a few dozen votes."""

from __future__ import annotations

import numpy as np
import pytest

from leaderboard.ratings.outliers import MIN_VOTES, Z_THRESHOLD, chosen_win_probability, voters_agreement

# Ten models spread over 300 points, as the middle of a real arena board is.
TRUE = np.linspace(850.0, 1150.0, 10)


def _estimated(rng: np.random.Generator) -> np.ndarray:
    # The board's ratings are estimates: score against the truth plus an interval's worth of error.
    return TRUE + rng.normal(0.0, 25.0, len(TRUE))


def _honest_votes(rng: np.random.Generator, voters: int, votes: int) -> tuple[np.ndarray, ...]:
    a = rng.integers(0, len(TRUE), voters * votes)
    b = (a + rng.integers(1, len(TRUE), a.size)) % len(TRUE)
    a_wins = rng.random(a.size) < chosen_win_probability(rating_chosen=TRUE[a], rating_other=TRUE[b])
    chosen = np.where(a_wins, a, b)
    other = np.where(a_wins, b, a)
    return np.repeat(np.arange(voters), votes), chosen, other


def _score(voter, chosen, other, ratings, **options):
    return voters_agreement(
        voter=voter, rating_chosen=ratings[chosen], rating_other=ratings[other], **options
    )


def test_no_honest_voter_of_200_with_50_votes_each_is_flagged():
    rng = np.random.default_rng(0)
    voter, chosen, other = _honest_votes(rng, 200, 50)
    scored = _score(voter, chosen, other, _estimated(rng))
    assert scored.flagged.sum() == 0
    # They agree with the ratings about as often as honest voting predicts.
    assert abs(float(np.mean(scored.agreement - scored.expected))) < 0.01


def test_honest_voters_are_flagged_at_most_once_in_a_thousand():
    rng = np.random.default_rng(1)
    for votes in (20, 50, 200):
        voter, chosen, other = _honest_votes(rng, 5000, votes)
        scored = _score(voter, chosen, other, _estimated(rng))
        assert scored.flagged.mean() <= 0.001, votes


def _first_flagged_at(rng: np.random.Generator, target: int, most: int) -> int | None:
    """How many votes a voter who only ever chooses `target` (in the battles that show it) casts
    before being flagged; None if never within `most`."""
    ratings = _estimated(rng)
    others = np.array([i for i in range(len(TRUE)) if i != target])
    opponent = rng.choice(others, most)
    for n in range(1, most + 1):
        chosen = np.full(n, target)
        scored = _score(np.zeros(n, np.int64), chosen, opponent[:n], ratings)
        if scored.flagged[0]:
            return n
    return None


def _flagged_after(target: int, most: int, runs: int = 100) -> list[int | None]:
    rng = np.random.default_rng(100 + target)
    return [_first_flagged_at(rng, target, most) for _ in range(runs)]


def test_a_voter_always_choosing_the_weakest_model_is_flagged_at_the_20th_vote_and_always_by_the_40th():
    found = _flagged_after(0, 40)
    assert None not in found
    assert found.count(MIN_VOTES) >= 90


def test_a_voter_always_choosing_the_second_weakest_model_is_flagged_within_100_votes():
    found = _flagged_after(1, 100)
    assert None not in found
    assert found.count(MIN_VOTES) >= 50


def test_a_voter_always_choosing_the_third_weakest_model_is_mostly_flagged_within_150_votes():
    found = [n for n in _flagged_after(2, 150) if n is not None]
    assert len(found) >= 95
    assert float(np.median(found)) <= 30


def test_boosting_a_mid_table_model_is_not_caught_quickly():
    # Half its opponents are weaker: choosing it agrees half the time, which takes hundreds of votes to show.
    rng = np.random.default_rng(5)
    assert [_first_flagged_at(rng, 5, 60) for _ in range(20)] == [None] * 20


def test_nobody_is_flagged_below_the_least_number_of_votes():
    # Nineteen votes, each for a model 300 points below its opponent.
    scored = voters_agreement(
        voter=np.zeros(MIN_VOTES - 1, np.int64),
        rating_chosen=np.full(19, 850.0),
        rating_other=np.full(19, 1150.0),
    )
    assert scored.z[0] < Z_THRESHOLD * 2
    assert not scored.flagged[0]
    assert voters_agreement(
        voter=np.zeros(19, np.int64),
        rating_chosen=np.full(19, 850.0),
        rating_other=np.full(19, 1150.0),
        min_votes=19,
    ).flagged[0]


def test_the_score_is_the_agreement_count_standardised_with_a_continuity_correction():
    # Two votes for the favourite (p = 0.76), one against it, one between equals.
    chosen = np.array([1200.0, 1200.0, 1000.0, 1100.0])
    other = np.array([1000.0, 1000.0, 1200.0, 1100.0])
    scored = voters_agreement(
        voter=np.zeros(4, np.int64), rating_chosen=chosen, rating_other=other, min_votes=1
    )
    p = 1 / (1 + 10 ** (-200 / 400))
    agreed, expected, variance = 2 + 0.5, 3 * p + 0.5, 3 * p * (1 - p)
    assert scored.votes[0] == 4
    assert scored.agreement[0] == pytest.approx(agreed / 4)
    assert scored.expected[0] == pytest.approx(expected / 4)
    assert scored.z[0] == pytest.approx((agreed + 0.5 - expected) / np.sqrt(variance))
    assert not scored.flagged[0]


def test_a_voter_only_between_equals_or_without_votes_has_no_score():
    scored = voters_agreement(
        voter=np.array([1, 1]),
        rating_chosen=np.array([1000.0, 1000.0]),
        rating_other=np.array([1000.0, 1000.0]),
        n_voters=3,
        min_votes=1,
    )
    assert scored.votes.tolist() == [0, 2, 0]
    assert np.isnan(scored.z).all()
    assert not scored.flagged.any()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one length"):
        voters_agreement(voter=[0, 0], rating_chosen=[1000.0], rating_other=[1000.0])
    with pytest.raises(ValueError, match="finite"):
        voters_agreement(voter=[0], rating_chosen=[np.inf], rating_other=[1000.0])
