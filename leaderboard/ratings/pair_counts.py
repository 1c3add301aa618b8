"""Aggregated battles: counts per (model_a, model_b) row, as the live site's GROUP BY hands them over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from leaderboard.ratings.array_types import FloatArray, IntArray, frozen_int
from leaderboard.ratings.battle_set import (
    OUTCOME_A,
    OUTCOME_B,
    OUTCOME_OF_WINNER,
    BattleSet,
)


@dataclass(frozen=True, eq=False)
class PairCounts:
    """One row per ordered pair (model_a, model_b): how often A won, B won, or they tied.

    `ties` counts both kinds of tie. Rows may repeat a pair or list it in both orientations; a row
    with a_idx == b_idx (a model against itself) is kept for battle counts but carries no rating
    information.
    """

    models: tuple[str, ...]
    a_idx: IntArray
    b_idx: IntArray
    wins_a: IntArray
    wins_b: IntArray
    ties: IntArray
    total: int = field(init=False)

    def __post_init__(self) -> None:
        if len(set(self.models)) != len(self.models):
            raise ValueError("models contains a name twice")
        arrays = {}
        for name in ("a_idx", "b_idx", "wins_a", "wins_b", "ties"):
            values = np.asarray(getattr(self, name))
            if values.ndim != 1:
                raise ValueError(f"{name} must be one-dimensional")
            whole = np.issubdtype(values.dtype, np.integer) or np.array_equal(values, np.round(values))
            if values.size and not whole:
                raise ValueError(f"{name} must hold whole numbers")
            arrays[name] = values
        size = len(arrays["a_idx"])
        for name, values in arrays.items():
            if len(values) != size:
                raise ValueError(f"{name} has {len(values)} rows, expected {size}")
            object.__setattr__(self, name, frozen_int(values))
        for name in ("a_idx", "b_idx"):
            index = getattr(self, name)
            if size and (index.min() < 0 or index.max() >= len(self.models)):
                bad = int(np.flatnonzero((index < 0) | (index >= len(self.models)))[0])
                raise ValueError(
                    f"row {bad}: {name} {int(index[bad])} is not an index into {len(self.models)} models"
                )
        for name in ("wins_a", "wins_b", "ties"):
            counts = getattr(self, name)
            if size and counts.min() < 0:
                bad = int(np.flatnonzero(counts < 0)[0])
                raise ValueError(f"row {bad}: {name} is negative ({int(counts[bad])})")
        object.__setattr__(self, "total", int(self.wins_a.sum() + self.wins_b.sum() + self.ties.sum()))

    def battles_per_model(self) -> IntArray:
        """Battles each model took part in (a battle against itself counts twice, as published)."""
        per_row = self.wins_a + self.wins_b + self.ties
        m = len(self.models)
        return np.bincount(self.a_idx, per_row, m).astype(np.int64) + np.bincount(
            self.b_idx, per_row, m
        ).astype(np.int64)

    def wins_losses_per_model(self) -> tuple[IntArray, IntArray]:
        """Decisive wins and losses per model, self-battles left out."""
        other = self.a_idx != self.b_idx
        m = len(self.models)
        wins = np.bincount(self.a_idx[other], self.wins_a[other], m) + np.bincount(
            self.b_idx[other], self.wins_b[other], m
        )
        losses = np.bincount(self.a_idx[other], self.wins_b[other], m) + np.bincount(
            self.b_idx[other], self.wins_a[other], m
        )
        return wins.astype(np.int64), losses.astype(np.int64)


def battles_aggregate(*, battles: BattleSet) -> PairCounts:
    """Count battles per ordered (model_a, model_b) pair; what a GROUP BY over the votes returns."""
    m = len(battles.models)
    result = np.where(battles.outcome >= 2, 2, battles.outcome).astype(np.int64)
    key = (battles.model_a.astype(np.int64) * m + battles.model_b) * 3 + result
    if m * m * 3 <= 4 * len(key) + 1024:
        cells = np.bincount(key, minlength=m * m * 3)
        present = np.flatnonzero(cells)
        counts = cells[present]
    else:
        present, counts = np.unique(key, return_counts=True)
    pair = present // 3
    outcome = present % 3
    # Each (pair, result) cell becomes one row; fold the three results of a pair into one row.
    rows, row_of_cell = np.unique(pair, return_inverse=True)
    wins_a = np.bincount(row_of_cell, counts * (outcome == OUTCOME_A), len(rows))
    wins_b = np.bincount(row_of_cell, counts * (outcome == OUTCOME_B), len(rows))
    ties = np.bincount(row_of_cell, counts * (outcome == 2), len(rows))
    return PairCounts(
        models=battles.models,
        a_idx=rows // m,
        b_idx=rows % m,
        wins_a=wins_a.astype(np.int64),
        wins_b=wins_b.astype(np.int64),
        ties=ties.astype(np.int64),
    )


def pair_counts_from_grouped(
    *,
    models: Sequence[str],
    a_idx: npt.ArrayLike,
    b_idx: npt.ArrayLike,
    winner: Sequence[str] | npt.ArrayLike,
    count: npt.ArrayLike,
) -> PairCounts:
    """Build counts from long GROUP BY rows (a_idx, b_idx, winner, count).

    `winner` holds labels (model_a, model_b, tie, tie (bothbad)) or outcome codes 0..3.
    """
    a = np.asarray(a_idx, np.int64)
    b = np.asarray(b_idx, np.int64)
    n = np.asarray(count, np.int64)
    labels: list[object] = np.asarray(winner, dtype=object).tolist()
    codes = np.empty(len(labels), np.int64)
    for row, label in enumerate(labels):
        if isinstance(label, str):
            if label not in OUTCOME_OF_WINNER:
                raise ValueError(f"row {row}: unknown winner {label!r}")
            codes[row] = OUTCOME_OF_WINNER[label]
        elif isinstance(label, (int, np.integer)) and 0 <= int(label) <= 3:
            codes[row] = int(label)
        else:
            raise ValueError(f"row {row}: winner must be a label or a code 0..3, got {label!r}")
    if not len(a) == len(b) == len(n) == len(codes):
        raise ValueError("a_idx, b_idx, winner and count must have the same length")
    return PairCounts(
        models=tuple(models),
        a_idx=a,
        b_idx=b,
        wins_a=np.where(codes == OUTCOME_A, n, 0),
        wins_b=np.where(codes == OUTCOME_B, n, 0),
        ties=np.where(codes >= 2, n, 0),
    )


@dataclass(frozen=True, eq=False)
class PairTable:
    """Counts folded onto unordered pairs first < second; self-battles dropped.

    Floats, because bootstrap rounds reuse the same pairs with resampled counts.
    """

    n_models: int
    first: IntArray
    second: IntArray
    wins_first: FloatArray
    wins_second: FloatArray
    ties: FloatArray

    @property
    def score_first(self) -> FloatArray:
        """Points of `first`: wins plus half of the ties."""
        return self.wins_first + 0.5 * self.ties

    @property
    def total(self) -> FloatArray:
        return self.wins_first + self.wins_second + self.ties


def pair_table_build(*, counts: PairCounts) -> PairTable:
    m = len(counts.models)
    other = counts.a_idx != counts.b_idx
    a, b = counts.a_idx[other], counts.b_idx[other]
    flipped = a > b
    first = np.where(flipped, b, a)
    second = np.where(flipped, a, b)
    wins_first = np.where(flipped, counts.wins_b[other], counts.wins_a[other])
    wins_second = np.where(flipped, counts.wins_a[other], counts.wins_b[other])
    keys, row = np.unique(first * m + second, return_inverse=True)
    folded = [np.bincount(row, values, len(keys)) for values in (wins_first, wins_second, counts.ties[other])]
    present = (folded[0] + folded[1] + folded[2]) > 0
    return PairTable(
        n_models=m,
        first=(keys // m)[present].astype(np.int64),
        second=(keys % m)[present].astype(np.int64),
        wins_first=folded[0][present].astype(np.float64),
        wins_second=folded[1][present].astype(np.float64),
        ties=folded[2][present].astype(np.float64),
    )
