"""Outlier voters: whose choices agree with the ratings improbably rarely.

For each decisive vote (ties are left out by the caller), the current ratings give the probability
that the side the voter chose wins, p = 1 / (1 + 10^((R_other - R_chosen) / 400)), the
Bradley-Terry / Elo curve the ratings are fitted with. The vote *agrees* when the chosen side is the
pair's expected winner (p > 1/2), counts half when the two are rated exactly alike (p = 1/2), and
disagrees otherwise.

An honest voter, whose choices follow the ratings, picks the expected winner of a pair with
probability m = max(p, 1 - p): the number of agreements A over n votes is a Poisson-binomial
variable with mean E = sum(m) and variance V = sum(p (1 - p)) (a pair rated alike adds 1/2 to both
A and E and nothing to V). The statistic is its standardised value with a continuity correction,

    Z = (A + 1/2 - E) / sqrt(V),

and a voter is flagged when n >= `min_votes` (20) and Z < `z_threshold` (-3.5): an honest voter
falls that low with a probability of about 2e-4 (the normal tail), measured at 0 of 200 simulated
honest voters with 50 votes each, and at most 0.1% of 5,000 (tests/leaderboard/ratings/test_outliers.py).

A voter who always chooses one weak model (in the battles that show it) is flagged fast, since
the model is expected to lose most of its pairs: choosing it keeps A near 0 while E grows by ~0.7
a vote. With ten models spread over 300 rating points, scored against ratings off by ~25 points,
always choosing the weakest is flagged at the 20th vote (the minimum) in at least 9 runs of 10
and always by the 40th; the second weakest within 100 votes (mostly at the 20th); the third
weakest in 95 runs of 100 within 150 (median at most 30). Boosting a mid-table model agrees half
the time and takes hundreds of votes to show; boosting the leader looks like agreement and is
never caught here: the statistic finds votes *against* the ratings. Self-battles and models
without a finite rating carry no information: the caller leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from leaderboard.ratings.array_types import (
    BoolArray,
    FloatArray,
    IntArray,
    frozen_bool,
    frozen_float,
    frozen_int,
)
from leaderboard.ratings.bradley_terry import RATING_SCALE

MIN_VOTES: Final = 20
Z_THRESHOLD: Final = -3.5


@dataclass(frozen=True, eq=False)
class VoterAgreement:
    """Per voter (0..n_voters-1): decisive votes scored, share agreeing, its honest expectation,
    the standardised score Z and whether it flags the voter."""

    votes: IntArray
    agreement: FloatArray  # A / n (NaN without votes)
    expected: FloatArray  # E / n (NaN without votes)
    z: FloatArray  # NaN when V = 0 (no votes, or only pairs rated alike)
    flagged: BoolArray


def chosen_win_probability(*, rating_chosen: npt.ArrayLike, rating_other: npt.ArrayLike) -> FloatArray:
    """P(the chosen side wins) under the ratings, per vote."""
    chosen = np.asarray(rating_chosen, np.float64)
    other = np.asarray(rating_other, np.float64)
    return np.asarray(1.0 / (1.0 + np.power(10.0, (other - chosen) / RATING_SCALE)), np.float64)


def voters_agreement(
    *,
    voter: npt.ArrayLike,
    rating_chosen: npt.ArrayLike,
    rating_other: npt.ArrayLike,
    n_voters: int | None = None,
    min_votes: int = MIN_VOTES,
    z_threshold: float = Z_THRESHOLD,
) -> VoterAgreement:
    """Score every voter's decisive votes against the ratings (see the module docstring).

    `voter` holds each vote's voter as an index 0..n_voters-1; `rating_chosen` / `rating_other`
    the ratings of the side the voter chose and of the other side, all finite.
    """
    who = np.asarray(voter, np.int64)
    chosen = np.asarray(rating_chosen, np.float64)
    other = np.asarray(rating_other, np.float64)
    if who.ndim != 1 or not who.shape == chosen.shape == other.shape:
        raise ValueError("voter, rating_chosen and rating_other must be one-dimensional and of one length")
    if not (np.isfinite(chosen).all() and np.isfinite(other).all()):
        raise ValueError("every rating must be finite")
    p = chosen_win_probability(rating_chosen=chosen, rating_other=other)
    if who.size and who.min() < 0:
        raise ValueError("voter indices must not be negative")
    size = int(n_voters if n_voters is not None else (who.max() + 1 if who.size else 0))
    alike = p == 0.5
    hit = np.where(p > 0.5, 1.0, np.where(alike, 0.5, 0.0))
    mean = np.maximum(p, 1.0 - p)
    variance = np.where(alike, 0.0, p * (1.0 - p))
    votes = np.bincount(who, minlength=size)
    agreed = np.bincount(who, hit, minlength=size)
    expected = np.bincount(who, mean, minlength=size)
    spread = np.bincount(who, variance, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(spread > 0, (agreed + 0.5 - expected) / np.sqrt(spread), np.nan)
        share = np.where(votes > 0, agreed / votes, np.nan)
        expected_share = np.where(votes > 0, expected / votes, np.nan)
    flagged = (votes >= min_votes) & (np.nan_to_num(z, nan=0.0) < z_threshold)
    return VoterAgreement(
        votes=frozen_int(votes),
        agreement=frozen_float(share),
        expected=frozen_float(expected_share),
        z=frozen_float(z),
        flagged=frozen_bool(flagged),
    )
