"""Online Elo, one battle at a time (the arena's live rating)."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from leaderboard.ratings.battle_set import SCORE_A_OF_OUTCOME

ELO_K: Final = 4.0
ELO_BASE: Final = 10.0
ELO_SCALE: Final = 400.0
ELO_START: Final = 1000.0

# Score of side A for each winner label; both kinds of tie are half a win.
WINNER_SCORE_A: Final[dict[str, float]] = {
    "model_a": 1.0,
    "model_b": 0.0,
    "tie": 0.5,
    "tie (bothbad)": 0.5,
}


def elo_expected(*, rating_a: float, rating_b: float) -> float:
    """Expected score of A against B."""
    return 1.0 / (1.0 + ELO_BASE ** ((rating_b - rating_a) / ELO_SCALE))


def elo_step(*, rating_a: float, rating_b: float, winner: str, k: float = ELO_K) -> tuple[float, float]:
    """New (rating_a, rating_b) after one battle with the given winner label."""
    score_a = WINNER_SCORE_A[winner]
    expected_a = elo_expected(rating_a=rating_a, rating_b=rating_b)
    delta = k * (score_a - expected_a)
    return rating_a + delta, rating_b - delta


def elo_replay(
    *,
    n_models: int,
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    outcome: npt.ArrayLike,
    tstamp: npt.ArrayLike | None = None,
    k: float = ELO_K,
) -> npt.NDArray[np.float64]:
    """Ratings after replaying battles in time order with `elo_step`'s rule, all starting at 1000.

    Battles are sorted by `tstamp` with a stable sort (ties and missing stamps keep file order;
    missing ones go last). `outcome` holds codes 0 (A won), 1 (B won), 2/3 (tie, half each).
    A battle of a model against itself is skipped: in the published pipeline's in-place update
    the two halves cancel (+K(s - 1/2), then -K(s - 1/2)) whatever the result, so skipping it
    reproduces the published numbers.
    """
    a = np.asarray(model_a, np.int64)
    b = np.asarray(model_b, np.int64)
    order = (
        np.argsort(np.asarray(tstamp, np.float64), kind="stable") if tstamp is not None else np.arange(len(a))
    )
    order = order[(a != b)[order]]
    scores = np.array(SCORE_A_OF_OUTCOME)[np.asarray(outcome, np.int64)[order]]
    ratings = [ELO_START] * n_models
    base, scale = ELO_BASE, ELO_SCALE
    # The recurrence is sequential: a plain loop over Python ints and floats, with everything it
    # touches in local variables, costs a fraction of numpy's per-scalar overhead. Same arithmetic,
    # in the same order, as elo_step, so the results are bit for bit the same.
    for ia, ib, score_a in zip(a[order].tolist(), b[order].tolist(), scores.tolist(), strict=True):
        rating_a = ratings[ia]
        rating_b = ratings[ib]
        delta = k * (score_a - 1.0 / (1.0 + base ** ((rating_b - rating_a) / scale)))
        ratings[ia] = rating_a + delta
        ratings[ib] = rating_b - delta
    return np.array(ratings, np.float64)
