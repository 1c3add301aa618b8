"""Compatibility mode against the ratings GenAI-Arena published from the same votes."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from scipy.optimize import minimize

from leaderboard.ratings.battle_file import battles_read
from leaderboard.ratings.battle_set import BattleSet, battles_filter
from leaderboard.ratings.bootstrap import bootstrap_intervals
from leaderboard.ratings.bradley_terry import COMPAT_PENALTY, bt_fit
from leaderboard.ratings.pair_counts import battles_aggregate
from tests.factories import FIXTURES_DIR

FIXTURE = FIXTURES_DIR / "genai-arena"


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURE / "published_ratings.json").read_text())
    return data


@pytest.fixture(scope="module")
def all_votes() -> BattleSet:
    return battles_read(path=FIXTURE / "battles.json")


def _run(battles: BattleSet, run: str) -> BattleSet:
    return battles_filter(battles=battles, mask=battles.anony) if run == "anony" else battles


def test_compat_bt_is_within_a_tenth_of_a_point_for_models_with_400_anonymous_battles(
    all_votes: BattleSet, published: dict[str, Any]
) -> None:
    fit = bt_fit(counts=battles_aggregate(battles=_run(all_votes, "anony")), compat=True)
    checked = [model for model, n in published["anony"]["num_battles"].items() if n >= 400]
    assert len(checked) == 6
    for model in checked:
        assert fit.rating_of(model) == pytest.approx(published["anony"]["bt"][model], abs=0.1)


def test_compat_bt_keeps_every_model_within_a_few_points(
    all_votes: BattleSet, published: dict[str, Any]
) -> None:
    # Small models differ because the published fit stopped early, not because the objective differs.
    fit = bt_fit(counts=battles_aggregate(battles=_run(all_votes, "anony")), compat=True)
    for model, rating in published["anony"]["bt"].items():
        assert fit.rating_of(model) == pytest.approx(rating, abs=2.5)


def test_compat_mode_is_the_half_penalty_fit(all_votes: BattleSet) -> None:
    counts = battles_aggregate(battles=_run(all_votes, "anony"))
    assert COMPAT_PENALTY == 0.5
    assert np.allclose(bt_fit(counts=counts, compat=True).ratings, bt_fit(counts=counts, penalty=0.5).ratings)


def test_each_component_averages_1000(all_votes: BattleSet, published: dict[str, Any]) -> None:
    fit = bt_fit(counts=battles_aggregate(battles=_run(all_votes, "anony")), compat=True)
    for suffix in ("_generation", "_edition"):
        members = [i for i, model in enumerate(fit.models) if model.endswith(suffix)]
        assert len({int(fit.components[i]) for i in members}) == 1
        assert float(np.mean(fit.ratings[members])) == pytest.approx(1000.0, abs=1e-6)
        published_mean = np.mean([published["anony"]["bt"][fit.models[i]] for i in members])
        assert published_mean == pytest.approx(1000.0, abs=1e-6)
    assert len(set(fit.components.tolist())) == 2


@pytest.mark.parametrize("run", ["anony", "full"])
def test_battle_counts_match_published(all_votes: BattleSet, published: dict[str, Any], run: str) -> None:
    counts = battles_aggregate(battles=_run(all_votes, run))
    per_model = dict(zip(counts.models, counts.battles_per_model().tolist(), strict=True))
    assert per_model == published[run]["num_battles"]


def _published_objective_emulated(battles: BattleSet) -> dict[str, float]:
    """The published fit as scikit-learn ran it: duplicated rows, features +ln10 / -ln10 written
    into one row (so a self-battle's -ln10 overwrites its +ln10), loss and penalty averaged over the
    rows, L-BFGS-B from zero stopped at gradient tolerance 1e-4."""
    a = battles.model_a.astype(np.int64)
    b = battles.model_b.astype(np.int64)
    first_seen = list(dict.fromkeys(np.concatenate([a, b]).tolist()))
    column = {model: i for i, model in enumerate(first_seen)}
    n = 2 * len(battles)
    design = np.zeros((n, len(first_seen)))
    rows = np.arange(n)
    design[rows, [column[i] for i in np.concatenate([a, a]).tolist()]] = math.log(10)
    design[rows, [column[i] for i in np.concatenate([b, b]).tolist()]] = -math.log(10)
    target = np.concatenate([battles.outcome == 0, battles.outcome == 0]).astype(float)
    target[: len(battles)][battles.outcome >= 2] = 1.0

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ w
        value = np.logaddexp(0, z) - target * z
        residual = 1 / (1 + np.exp(-z)) - target
        return float(value.sum() / n + 0.5 * w @ w / n), (design.T @ residual + w) / n

    result = minimize(
        loss,
        np.zeros(len(first_seen)),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 100, "maxls": 50, "gtol": 1e-4, "ftol": 64 * np.finfo(float).eps},
    )
    return {battles.models[model]: 1000 + 400 * float(result.x[column[model]]) for model in first_seen}


@pytest.mark.parametrize("run", ["anony", "full"])
def test_published_bt_is_the_compat_objective_stopped_early(
    all_votes: BattleSet, published: dict[str, Any], run: str
) -> None:
    # Pins down the published pipeline: same objective as compat mode, its own early stop, and in
    # the full run the self-battle's overwritten feature row, which shifts the generation models.
    emulated = _published_objective_emulated(_run(all_votes, run))
    for model, rating in published[run]["bt"].items():
        assert emulated[model] == pytest.approx(rating, abs=1e-6)


def test_compat_bootstrap_bounds_land_near_published_for_large_models(
    all_votes: BattleSet, published: dict[str, Any]
) -> None:
    counts = battles_aggregate(battles=_run(all_votes, "anony"))
    fit = bt_fit(counts=counts, compat=True)
    intervals = bootstrap_intervals(counts=counts, fit=fit, rounds=100, seed=0)
    for i, model in enumerate(fit.models):
        if published["anony"]["num_battles"][model] >= 400:
            assert intervals.lower[i] == pytest.approx(published["anony"]["ci_lower"][model], abs=15)
            assert intervals.upper[i] == pytest.approx(published["anony"]["ci_upper"][model], abs=15)
