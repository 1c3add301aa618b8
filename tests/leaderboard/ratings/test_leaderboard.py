"""The entry point: rows, JSON output, inputs and display threshold."""

from __future__ import annotations

import json
from typing import Any

import pytest

from leaderboard.ratings.battle_file import battles_read
from leaderboard.ratings.battle_set import BattleSet, battles_filter, battles_parse
from leaderboard.ratings.leaderboard import leaderboard_compute, leaderboard_filter
from leaderboard.ratings.pair_counts import battles_aggregate
from tests.factories import FIXTURES_DIR

FIXTURE = FIXTURES_DIR / "genai-arena"
ROW_FIELDS = {
    "sandwich_lower",
    "sandwich_upper",
    "model",
    "rating",
    "ci_lower",
    "ci_upper",
    "rank",
    "rank_lower",
    "rank_upper",
    "online_elo",
    "battles",
    "win_rate",
    "component",
}


@pytest.fixture(scope="module")
def anonymous() -> BattleSet:
    battles = battles_read(path=FIXTURE / "battles.json")
    return battles_filter(battles=battles, mask=battles.anony)


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURE / "published_ratings.json").read_text())["anony"]
    return data


def test_compat_leaderboard_reproduces_published_numbers(
    anonymous: BattleSet, published: dict[str, Any]
) -> None:
    result = leaderboard_compute(battles=anonymous, compat=True)
    assert len(result.rows) == 13
    for row in result.rows:
        assert row.online_elo == pytest.approx(published["online_elo"][row.model], abs=1e-6)
        assert row.battles == published["num_battles"][row.model]
        if row.battles >= 400:
            assert row.rating == pytest.approx(published["bt"][row.model], abs=0.1)


def test_to_dict_is_strict_json_with_every_row_field(anonymous: BattleSet) -> None:
    data = leaderboard_compute(battles=anonymous, interval="sandwich").to_dict()
    text = json.dumps(data, allow_nan=False)
    rows = json.loads(text)["rows"]
    assert {key for row in rows for key in row} == ROW_FIELDS
    assert set(json.loads(text)) == {"rows", "matrices", "settings", "style"}


def test_rows_are_grouped_by_component_and_sorted_by_rating(anonymous: BattleSet) -> None:
    rows = leaderboard_compute(battles=anonymous, interval="sandwich").rows
    keys = [(row.component, -row.rating) for row in rows]
    assert keys == sorted(keys)
    assert rows[0].rank == 1


def test_counts_give_the_same_board_as_battles_but_no_replayed_elo(anonymous: BattleSet) -> None:
    from_battles = leaderboard_compute(battles=anonymous, bootstrap_rounds=20, seed=5)
    from_counts = leaderboard_compute(
        counts=battles_aggregate(battles=anonymous), bootstrap_rounds=20, seed=5
    )
    for a, b in zip(from_battles.rows, from_counts.rows, strict=True):
        assert (a.model, a.rating, a.ci_lower, a.ci_upper, a.rank) == (
            b.model,
            b.rating,
            b.ci_lower,
            b.ci_upper,
            b.rank,
        )
        assert b.online_elo is None


def test_online_elo_given_by_the_caller_is_reported(anonymous: BattleSet) -> None:
    counts = battles_aggregate(battles=anonymous)
    stored = {model: 1234.5 for model in counts.models}
    result = leaderboard_compute(counts=counts, online_elo=stored, interval="sandwich")
    assert {row.online_elo for row in result.rows} == {1234.5}


def test_min_battles_hides_small_models_and_reranks_the_rest(anonymous: BattleSet) -> None:
    result = leaderboard_compute(battles=anonymous, interval="sandwich", min_battles=100)
    assert len(result.rows) == 6
    assert all(row.battles >= 100 for row in result.rows)
    assert result.matrices.models == tuple(row.model for row in result.rows)
    assert result.matrices.win_rate.shape == (6, 6)
    again = leaderboard_filter(
        result=leaderboard_compute(battles=anonymous, interval="sandwich"), min_battles=100
    )
    assert [row.rank for row in again.rows] == [row.rank for row in result.rows]


def test_unbounded_rating_is_null_in_json() -> None:
    battles = battles_parse(
        rows=[
            {"model_a": "a", "model_b": "b", "winner": "model_a"},
            {"model_a": "b", "model_b": "c", "winner": "model_a"},
            {"model_a": "c", "model_b": "b", "winner": "model_a"},
        ]
    )
    data = leaderboard_compute(battles=battles, interval="sandwich").to_dict()
    rows = {row["model"]: row for row in data["rows"]}  # type: ignore[attr-defined]
    assert rows["a"]["rating"] is None
    assert rows["b"]["rating"] == pytest.approx(1000.0)
    json.dumps(data, allow_nan=False)


def test_exactly_one_input_is_required(anonymous: BattleSet) -> None:
    with pytest.raises(ValueError, match="give exactly one of battles= or counts="):
        leaderboard_compute()
    with pytest.raises(ValueError, match="give exactly one of battles= or counts="):
        leaderboard_compute(battles=anonymous, counts=battles_aggregate(battles=anonymous))
    with pytest.raises(ValueError, match="style control needs per-battle rows"):
        leaderboard_compute(counts=battles_aggregate(battles=anonymous), style=object())  # type: ignore[arg-type]


def test_no_battles_give_an_empty_board() -> None:
    data = leaderboard_compute(battles=battles_parse(rows=[])).to_dict()
    assert data["rows"] == []
    assert data["matrices"] == {"models": [], "win_rate": [], "battle_counts": [], "predicted_win_rate": []}
