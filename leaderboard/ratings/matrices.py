"""Head-to-head matrices: observed win rates, battle counts, and win rates predicted by ratings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leaderboard.ratings.array_types import FloatArray, IntArray, frozen_float, frozen_int
from leaderboard.ratings.bradley_terry import RATING_SCALE
from leaderboard.ratings.pair_counts import PairCounts


@dataclass(frozen=True, eq=False)
class Matrices:
    """Row model i against column model j, in `models` order.

    win_rate[i, j]: share of the decisive battles between i and j that i won (ties left out);
    NaN where they never had a decisive battle.
    battle_counts[i, j]: battles between i and j, ties included (symmetric; the diagonal counts
    self-battles).
    predicted_win_rate[i, j]: 1 / (1 + 10^((R_j - R_i) / 400)); NaN on the diagonal and between
    components, whose ratings are on separate scales.
    """

    models: tuple[str, ...]
    win_rate: FloatArray
    battle_counts: IntArray
    predicted_win_rate: FloatArray


def matrices_compute(*, counts: PairCounts, ratings: FloatArray, components: IntArray) -> Matrices:
    m = len(counts.models)
    wins = np.zeros((m, m))
    np.add.at(wins, (counts.a_idx, counts.b_idx), counts.wins_a)
    np.add.at(wins, (counts.b_idx, counts.a_idx), counts.wins_b)
    battles = np.zeros((m, m), np.int64)
    per_row = counts.wins_a + counts.wins_b + counts.ties
    np.add.at(battles, (counts.a_idx, counts.b_idx), per_row)
    other = counts.a_idx != counts.b_idx
    np.add.at(battles, (counts.b_idx[other], counts.a_idx[other]), per_row[other])
    decisive = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        win_rate = np.where(decisive > 0, wins / decisive, np.nan)
        gap = (ratings[None, :] - ratings[:, None]) / RATING_SCALE
        predicted = 1.0 / (1.0 + np.power(10.0, gap))
    predicted[components[:, None] != components[None, :]] = np.nan
    np.fill_diagonal(predicted, np.nan)
    np.fill_diagonal(win_rate, np.nan)
    return Matrices(
        models=counts.models,
        win_rate=frozen_float(win_rate),
        battle_counts=frozen_int(battles),
        predicted_win_rate=frozen_float(predicted),
    )
