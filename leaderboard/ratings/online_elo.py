"""Online Elo, one battle at a time (the arena's live rating)."""

from __future__ import annotations

from typing import Final

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


def elo_step(
    *, rating_a: float, rating_b: float, winner: str, k: float = ELO_K
) -> tuple[float, float]:
    """New (rating_a, rating_b) after one battle with the given winner label."""
    score_a = WINNER_SCORE_A[winner]
    expected_a = elo_expected(rating_a=rating_a, rating_b=rating_b)
    delta = k * (score_a - expected_a)
    return rating_a + delta, rating_b - delta
