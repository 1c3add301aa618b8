"""Battle rows: validation of decoded rows, aggregation into pair counts, grouped rows.

Reading files is tested in test_battle_file.py."""

from __future__ import annotations

import numpy as np
import pytest

from leaderboard.ratings.battle_set import battles_parse
from leaderboard.ratings.pair_counts import PairCounts, battles_aggregate, pair_counts_from_grouped
from tests.factories import FIXTURES_DIR

FIXTURE = FIXTURES_DIR / "genai-arena"


def test_json_list_error_names_the_index() -> None:
    rows: list[object] = [
        {"model_a": "a", "model_b": "b", "winner": "tie"},
        {"model_a": "a", "winner": "tie"},
    ]
    with pytest.raises(ValueError, match="index 1: missing required field 'model_b'"):
        battles_parse(rows=rows)


def test_aggregate_counts_each_result_per_ordered_pair() -> None:
    battles = battles_parse(
        rows=[
            {"model_a": "a", "model_b": "b", "winner": "model_a"},
            {"model_a": "a", "model_b": "b", "winner": "model_a"},
            {"model_a": "a", "model_b": "b", "winner": "tie (bothbad)"},
            {"model_a": "b", "model_b": "a", "winner": "model_a"},
            {"model_a": "b", "model_b": "a", "winner": "tie"},
        ]
    )
    counts = battles_aggregate(battles=battles)
    rows = sorted(
        zip(
            counts.a_idx.tolist(),
            counts.b_idx.tolist(),
            counts.wins_a.tolist(),
            counts.wins_b.tolist(),
            counts.ties.tolist(),
            strict=True,
        )
    )
    assert rows == [(0, 1, 2, 0, 1), (1, 0, 1, 0, 1)]
    assert counts.total == 5
    assert counts.battles_per_model().tolist() == [5, 5]


def test_grouped_rows_give_the_same_counts_as_aggregation() -> None:
    counts = pair_counts_from_grouped(
        models=["a", "b"],
        a_idx=[0, 0, 0, 1],
        b_idx=[1, 1, 1, 0],
        winner=["model_a", "tie", "tie (bothbad)", "model_b"],
        count=[4, 1, 2, 3],
    )
    assert counts.wins_a.tolist() == [4, 0, 0, 0]
    assert counts.ties.tolist() == [0, 1, 2, 0]
    assert counts.wins_b.tolist() == [0, 0, 0, 3]
    assert counts.total == 10


def test_grouped_rows_with_unknown_winner_name_the_row() -> None:
    with pytest.raises(ValueError, match="row 1: unknown winner 'draw'"):
        pair_counts_from_grouped(
            models=["a", "b"], a_idx=[0, 0], b_idx=[1, 1], winner=["tie", "draw"], count=[1, 1]
        )


def test_pair_counts_reject_bad_rows_by_number() -> None:
    with pytest.raises(ValueError, match="row 1: b_idx 5 is not an index into 2 models"):
        PairCounts(
            models=("a", "b"),
            a_idx=np.array([0, 0]),
            b_idx=np.array([1, 5]),
            wins_a=np.array([1, 1]),
            wins_b=np.array([0, 0]),
            ties=np.array([0, 0]),
        )
    with pytest.raises(ValueError, match="row 0: wins_b is negative"):
        PairCounts(
            models=("a", "b"),
            a_idx=np.array([0]),
            b_idx=np.array([1]),
            wins_a=np.array([1]),
            wins_b=np.array([-2]),
            ties=np.array([0]),
        )
