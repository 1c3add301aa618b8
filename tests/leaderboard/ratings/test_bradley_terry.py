"""Bradley-Terry fit: accuracy, ties, components, anchor, penalty, unbounded models."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from leaderboard.ratings.battle_set import BattleSet, battles_parse
from leaderboard.ratings.bradley_terry import Anchor, bt_fit
from leaderboard.ratings.pair_counts import PairCounts, battles_aggregate, pair_counts_from_grouped


def _synthetic(strengths: np.ndarray, battles: int, seed: int) -> BattleSet:
    """Battles between random pairs, decided by the BT model with the given base-10 strengths."""
    rng = np.random.default_rng(seed)
    m = len(strengths)
    a = rng.integers(0, m, battles)
    b = (a + rng.integers(1, m, battles)) % m
    p_a = 1.0 / (1.0 + 10.0 ** (strengths[b] - strengths[a]))
    outcome = np.where(rng.random(battles) < p_a, 0, 1)
    return BattleSet(
        models=tuple(f"m{i}" for i in range(m)),
        model_a=a,
        model_b=b,
        outcome=outcome,
        tstamp=np.arange(battles, dtype=float),
        anony=np.ones(battles, bool),
    )


def _counts(rows: list[tuple[str, str, str, int]], models: list[str]) -> PairCounts:
    index = {name: i for i, name in enumerate(models)}
    return pair_counts_from_grouped(
        models=models,
        a_idx=[index[a] for a, _, _, _ in rows],
        b_idx=[index[b] for _, b, _, _ in rows],
        winner=[winner for _, _, winner, _ in rows],
        count=[n for _, _, _, n in rows],
    )


def test_recovers_known_strengths() -> None:
    strengths = np.linspace(-0.4, 0.4, 8)
    fit = bt_fit(counts=battles_aggregate(battles=_synthetic(strengths, 40_000, seed=1)))
    truth = 1000 + 400 * (strengths - strengths.mean())
    assert np.abs(fit.ratings - truth).max() < 15


def test_agrees_with_a_generic_optimiser_on_the_same_likelihood() -> None:
    battles = _synthetic(np.array([0.3, 0.1, 0.0, -0.2, -0.5]), 3000, seed=2)
    fit = bt_fit(counts=battles_aggregate(battles=battles))
    a, b = battles.model_a, battles.model_b
    y = (battles.outcome == 0).astype(float)

    def nll(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = math.log(10) * (w[a] - w[b])
        r = 1 / (1 + np.exp(-z)) - y
        grad = math.log(10) * (np.bincount(a, r, 5) - np.bincount(b, r, 5))
        return float((np.logaddexp(0, z) - y * z).sum()), grad

    result = minimize(nll, np.zeros(5), jac=True, method="BFGS", options={"gtol": 1e-10})
    expected = 1000 + 400 * (result.x - result.x.mean())
    assert fit.ratings == pytest.approx(expected, abs=1e-4)


def test_a_tie_counts_as_half_a_win_for_each_side() -> None:
    # One win and two ties: A scores 2 of 3, so P(A beats B) = 2/3 and A - B = 400 log10(2).
    fit = bt_fit(counts=_counts([("A", "B", "model_a", 1), ("A", "B", "tie", 2)], ["A", "B"]))
    assert fit.rating_of("A") - fit.rating_of("B") == pytest.approx(400 * math.log10(2), abs=1e-6)
    assert fit.rating_of("A") + fit.rating_of("B") == pytest.approx(2000)


def test_both_kinds_of_tie_weigh_the_same() -> None:
    rows = [("A", "B", "model_a", 3), ("B", "C", "model_a", 2), ("C", "A", "model_b", 1)]
    tie = bt_fit(counts=_counts([*rows, ("A", "C", "tie", 4)], ["A", "B", "C"]))
    bothbad = bt_fit(counts=_counts([*rows, ("A", "C", "tie (bothbad)", 4)], ["A", "B", "C"]))
    assert tie.ratings.tolist() == pytest.approx(bothbad.ratings.tolist(), abs=1e-9)


def test_orientation_of_rows_does_not_matter() -> None:
    forward = bt_fit(counts=_counts([("A", "B", "model_a", 3), ("A", "B", "model_b", 1)], ["A", "B"]))
    mixed = bt_fit(counts=_counts([("B", "A", "model_b", 3), ("A", "B", "model_b", 1)], ["A", "B"]))
    assert forward.ratings.tolist() == pytest.approx(mixed.ratings.tolist(), abs=1e-9)


def test_disconnected_groups_are_rated_on_their_own_scales() -> None:
    rows = [
        ("A", "B", "model_a", 5),
        ("A", "B", "model_b", 2),
        ("B", "C", "model_a", 4),
        ("B", "C", "model_b", 3),
        ("C", "A", "model_a", 1),
        ("C", "A", "model_b", 3),
        ("X", "Y", "model_a", 2),
        ("X", "Y", "model_b", 6),
    ]
    fit = bt_fit(counts=_counts(rows, ["A", "B", "C", "X", "Y"]))
    assert fit.components.tolist() == [0, 0, 0, 1, 1]
    assert fit.ratings[:3].mean() == pytest.approx(1000)
    assert fit.ratings[3:].mean() == pytest.approx(1000)
    assert fit.rating_of("Y") - fit.rating_of("X") == pytest.approx(400 * math.log10(3), abs=1e-6)


def test_model_without_battles_is_its_own_component_at_1000() -> None:
    counts = _counts([("A", "B", "model_a", 2), ("A", "B", "model_b", 1)], ["A", "B", "idle"])
    fit = bt_fit(counts=counts)
    assert fit.components.tolist() == [0, 0, 1]
    assert fit.rating_of("idle") == 1000.0


def test_anchor_pins_its_model_and_moves_only_its_component() -> None:
    rows = [
        ("A", "B", "model_a", 3),
        ("A", "B", "model_b", 1),
        ("X", "Y", "model_a", 1),
        ("X", "Y", "model_b", 1),
    ]
    plain = bt_fit(counts=_counts(rows, ["A", "B", "X", "Y"]))
    anchored = bt_fit(counts=_counts(rows, ["A", "B", "X", "Y"]), anchor=Anchor("B", 1200.0))
    assert anchored.rating_of("B") == pytest.approx(1200.0)
    gap = plain.rating_of("A") - plain.rating_of("B")
    assert anchored.rating_of("A") - anchored.rating_of("B") == pytest.approx(gap)
    assert anchored.rating_of("X") == pytest.approx(plain.rating_of("X"))


def test_anchor_under_a_penalty_holds_the_model_fixed() -> None:
    rows = [
        ("A", "B", "model_a", 3),
        ("A", "B", "model_b", 1),
        ("B", "C", "model_a", 2),
        ("B", "C", "tie", 2),
    ]
    fit = bt_fit(counts=_counts(rows, ["A", "B", "C"]), anchor=Anchor("C", 900.0), penalty=0.1)
    assert fit.rating_of("C") == pytest.approx(900.0)
    assert fit.rating_of("A") > fit.rating_of("B") > fit.rating_of("C")


def test_penalty_pulls_ratings_towards_1000() -> None:
    counts = _counts([("A", "B", "model_a", 9), ("A", "B", "model_b", 1)], ["A", "B"])
    spreads = [bt_fit(counts=counts, penalty=p).rating_of("A") - 1000 for p in (0.0, 0.5, 5.0)]
    assert spreads[0] > spreads[1] > spreads[2] > 0


def test_undefeated_model_is_unbounded_and_the_rest_stay_finite() -> None:
    rows = [
        ("A", "B", "model_a", 3),
        ("A", "C", "model_a", 2),
        ("B", "C", "model_a", 3),
        ("B", "C", "model_b", 2),
    ]
    fit = bt_fit(counts=_counts(rows, ["A", "B", "C"]))
    assert fit.rating_of("A") == math.inf
    assert fit.rating_of("B") - fit.rating_of("C") == pytest.approx(400 * math.log10(1.5), abs=1e-6)
    assert bt_fit(counts=_counts(rows, ["A", "B", "C"]), penalty=0.5).ratings.tolist() == pytest.approx(
        bt_fit(counts=_counts(rows, ["A", "B", "C"]), compat=True).ratings.tolist()
    )


def test_self_battles_do_not_change_the_fit() -> None:
    base = [
        {"model_a": "A", "model_b": "B", "winner": "model_a"},
        {"model_a": "B", "model_b": "A", "winner": "model_a"},
        {"model_a": "A", "model_b": "B", "winner": "model_a"},
    ]
    with_self = [*base, {"model_a": "A", "model_b": "A", "winner": "model_a"}]
    plain = bt_fit(counts=battles_aggregate(battles=battles_parse(rows=base)))
    selfish = bt_fit(counts=battles_aggregate(battles=battles_parse(rows=with_self)))
    assert plain.ratings.tolist() == pytest.approx(selfish.ratings.tolist())


def test_bad_settings_are_refused_with_reasons() -> None:
    counts = _counts([("A", "B", "model_a", 1), ("A", "B", "model_b", 1)], ["A", "B"])
    with pytest.raises(ValueError, match="anchor model 'Z' is not among the models"):
        bt_fit(counts=counts, anchor=Anchor("Z", 1000.0))
    with pytest.raises(ValueError, match="compat mode reproduces a pipeline without an anchor"):
        bt_fit(counts=counts, compat=True, anchor=Anchor("A", 1000.0))
    with pytest.raises(ValueError, match="penalty must be a finite number >= 0"):
        bt_fit(counts=counts, penalty=-1.0)


def test_unbounded_anchor_is_refused() -> None:
    # A never lost: the larger group (here the first model) stays finite and B drops to -inf.
    counts = _counts([("A", "B", "model_a", 2)], ["A", "B"])
    with pytest.raises(ValueError, match="anchor model 'B' has no finite rating"):
        bt_fit(counts=counts, anchor=Anchor("B", 1000.0))


def test_model_with_no_relation_to_the_main_group_is_undetermined() -> None:
    # B and C are tied together; A beat B, D lost to C: A is above, D below; E only beat D,
    # so E is above D but unrelated to the B-C group.
    rows = [
        ("B", "C", "tie", 2),
        ("A", "B", "model_a", 1),
        ("C", "D", "model_a", 1),
        ("E", "D", "model_a", 1),
    ]
    fit = bt_fit(counts=_counts(rows, ["A", "B", "C", "D", "E"]))
    assert fit.rating_of("A") == math.inf
    assert fit.rating_of("B") == fit.rating_of("C") == 1000.0
    assert fit.rating_of("D") == -math.inf
    assert math.isnan(fit.rating_of("E"))
