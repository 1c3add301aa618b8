"""Head-to-head matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leaderboard.ratings.matrices import Matrices, matrices_compute
from leaderboard.ratings.pair_counts import pair_counts_from_grouped


def _matrices(ratings: list[float], components: list[int]) -> Matrices:
    counts = pair_counts_from_grouped(
        models=["A", "B", "C"],
        a_idx=[0, 0, 1, 0, 1],
        b_idx=[1, 1, 0, 0, 2],
        winner=["model_a", "tie", "model_a", "model_a", "tie (bothbad)"],
        count=[3, 5, 1, 2, 4],
    )
    return matrices_compute(counts=counts, ratings=np.array(ratings), components=np.array(components))


def test_win_rate_leaves_ties_out() -> None:
    matrices = _matrices([1000, 1000, 1000], [0, 0, 0])
    assert matrices.win_rate[0, 1] == pytest.approx(0.75)
    assert matrices.win_rate[1, 0] == pytest.approx(0.25)
    assert math.isnan(matrices.win_rate[1, 2])  # only ties between B and C


def test_battle_counts_are_symmetric_and_include_ties() -> None:
    counts = _matrices([1000, 1000, 1000], [0, 0, 0]).battle_counts
    assert counts.tolist() == [[2, 9, 0], [9, 0, 4], [0, 4, 0]]


def test_predicted_win_rate_follows_the_rating_gap() -> None:
    predicted = _matrices([1400, 1000, 1000], [0, 0, 0]).predicted_win_rate
    assert predicted[0, 1] == pytest.approx(10 / 11)
    assert predicted[1, 0] == pytest.approx(1 / 11)
    assert predicted[1, 2] == pytest.approx(0.5)
    assert np.isnan(np.diag(predicted)).all()


def test_no_prediction_across_components() -> None:
    predicted = _matrices([1000, 1000, 1000], [0, 0, 1]).predicted_win_rate
    assert math.isnan(predicted[0, 2])
    assert math.isnan(predicted[2, 1])
