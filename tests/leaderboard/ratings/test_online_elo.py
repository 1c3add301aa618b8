"""Online Elo replayed over a battle sequence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from leaderboard.ratings.battle_file import battles_read
from leaderboard.ratings.battle_set import OUTCOME_OF_WINNER, battles_filter
from leaderboard.ratings.online_elo import ELO_START, elo_replay, elo_step
from tests.factories import FIXTURES_DIR

FIXTURE = FIXTURES_DIR / "genai-arena"


@pytest.mark.parametrize("run", ["anony", "full"])
def test_replay_reproduces_published_online_elo(run: str) -> None:
    published = json.loads((FIXTURE / "published_ratings.json").read_text())[run]["online_elo"]
    battles = battles_read(path=FIXTURE / "battles.json")
    if run == "anony":
        battles = battles_filter(battles=battles, mask=battles.anony)
    ratings = elo_replay(
        n_models=len(battles.models),
        model_a=battles.model_a,
        model_b=battles.model_b,
        outcome=battles.outcome,
        tstamp=battles.tstamp,
    )
    assert set(published) == set(battles.models)
    for i, model in enumerate(battles.models):
        assert ratings[i] == pytest.approx(published[model], abs=1e-6)


def test_full_run_contains_the_self_battle_the_replay_skips() -> None:
    battles = battles_read(path=FIXTURE / "battles.json")
    assert int((battles.model_a == battles.model_b).sum()) == 1


@pytest.mark.parametrize("winner", ["model_a", "model_b", "tie"])
def test_self_battle_leaves_ratings_unchanged(winner: str) -> None:
    ratings = elo_replay(n_models=2, model_a=[0, 1], model_b=[1, 1], outcome=[0, OUTCOME_OF_WINNER[winner]])
    alone = elo_replay(n_models=2, model_a=[0], model_b=[1], outcome=[0])
    assert ratings.tolist() == alone.tolist()


def test_replay_follows_elo_step_battle_by_battle() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 200)
    b = (a + rng.integers(1, 4, 200)) % 4
    outcome = rng.integers(0, 4, 200)
    ratings = [ELO_START] * 4
    labels = ["model_a", "model_b", "tie", "tie (bothbad)"]
    for ia, ib, code in zip(a.tolist(), b.tolist(), outcome.tolist(), strict=True):
        ratings[ia], ratings[ib] = elo_step(rating_a=ratings[ia], rating_b=ratings[ib], winner=labels[code])
    replayed = elo_replay(n_models=4, model_a=a, model_b=b, outcome=outcome)
    assert replayed.tolist() == pytest.approx(ratings, abs=1e-9)


def test_replay_orders_by_tstamp_keeping_file_order_for_equal_stamps() -> None:
    # Same stamps keep file order; the later-stamped battle comes last whatever its position.
    in_order = elo_replay(
        n_models=2, model_a=[0, 1, 0], model_b=[1, 0, 1], outcome=[0, 0, 1], tstamp=[1, 1, 2]
    )
    shuffled = elo_replay(
        n_models=2, model_a=[0, 0, 1], model_b=[1, 1, 0], outcome=[1, 0, 0], tstamp=[2, 1, 1]
    )
    assert shuffled.tolist() == in_order.tolist()


def test_ties_move_ratings_towards_each_other() -> None:
    ratings = elo_replay(n_models=2, model_a=[0, 0], model_b=[1, 1], outcome=[0, 2])
    after_win = elo_replay(n_models=2, model_a=[0], model_b=[1], outcome=[0])
    assert ratings[0] < after_win[0]
    assert ratings[0] + ratings[1] == pytest.approx(2 * ELO_START)
