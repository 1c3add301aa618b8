"""The one entry point: battles or aggregated counts in, a JSON-ready leaderboard out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np

from leaderboard.ratings.array_types import FloatArray
from leaderboard.ratings.battle_set import BattleSet
from leaderboard.ratings.bootstrap import bootstrap_intervals
from leaderboard.ratings.bradley_terry import Anchor, bt_fit
from leaderboard.ratings.intervals import Intervals, percentiles_take, ranks_compute
from leaderboard.ratings.matrices import Matrices, matrices_compute
from leaderboard.ratings.online_elo import elo_replay
from leaderboard.ratings.pair_counts import PairCounts, battles_aggregate
from leaderboard.ratings.sandwich import sandwich_intervals
from leaderboard.ratings.style_control import StyleFeatures, StyleFit, style_fit

IntervalMethod = Literal["bootstrap", "sandwich"]


@dataclass(frozen=True)
class LeaderboardRow:
    model: str
    rating: float
    ci_lower: float
    ci_upper: float
    rank: int
    rank_lower: int
    rank_upper: int
    online_elo: float | None
    battles: int
    win_rate: float | None  # decisive battles won, ties left out; None without decisive battles
    component: int
    # The closed-form intervals beside the bootstrap ones (`both_intervals=True`), else None.
    sandwich_lower: float | None = None
    sandwich_upper: float | None = None


@dataclass(frozen=True)
class LeaderboardSettings:
    interval: IntervalMethod
    bootstrap_rounds: int
    seed: int
    level: float
    penalty: float
    compat: bool
    anchor: Anchor | None
    style: bool
    min_battles: int


@dataclass(frozen=True)
class StyleSummary:
    """Style coefficients: log-odds change per standard deviation (`feature_scale`) of the
    normalised A-B difference in each feature; NaN where a feature never differed."""

    feature_names: tuple[str, ...]
    coefficients: tuple[float, ...]
    coefficient_se: tuple[float, ...]
    feature_scale: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class LeaderboardResult:
    """Rows sorted by component, then rating (best first); matrices follow `matrices.models`."""

    rows: tuple[LeaderboardRow, ...]
    matrices: Matrices
    settings: LeaderboardSettings
    style: StyleSummary | None

    def row_of(self, model: str) -> LeaderboardRow:
        for row in self.rows:
            if row.model == model:
                return row
        raise KeyError(model)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-serialisable data; non-finite numbers (unbounded ratings, empty cells) become None."""
        return {
            "rows": [{key: _json_number(value) for key, value in asdict(row).items()} for row in self.rows],
            "matrices": {
                "models": list(self.matrices.models),
                "win_rate": _json_matrix(self.matrices.win_rate),
                "battle_counts": self.matrices.battle_counts.tolist(),
                "predicted_win_rate": _json_matrix(self.matrices.predicted_win_rate),
            },
            "settings": {
                key: (asdict(value) if isinstance(value, Anchor) else value)
                for key, value in (
                    (field, getattr(self.settings, field)) for field in self.settings.__dataclass_fields__
                )
            },
            "style": None
            if self.style is None
            else {
                "feature_names": list(self.style.feature_names),
                "coefficients": [_json_number(value) for value in self.style.coefficients],
                "coefficient_se": [_json_number(value) for value in self.style.coefficient_se],
                "feature_scale": [_json_number(value) for value in self.style.feature_scale],
            },
        }


def _json_number(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_matrix(matrix: FloatArray) -> list[list[float | None]]:
    return [[float(value) if math.isfinite(value) else None for value in row] for row in matrix.tolist()]


def leaderboard_compute(
    *,
    battles: BattleSet | None = None,
    counts: PairCounts | None = None,
    online_elo: Mapping[str, float] | None = None,
    bootstrap_rounds: int = 100,
    seed: int = 0,
    interval: IntervalMethod = "bootstrap",
    anchor: Anchor | None = None,
    penalty: float = 0.0,
    compat: bool = False,
    style: StyleFeatures | None = None,
    min_battles: int = 0,
    level: float = 0.95,
    both_intervals: bool = False,
) -> LeaderboardResult:
    """Ratings, intervals, ranks, online Elo and matrices in one call.

    Give either `battles` (per battle; needed for style control and to replay online Elo) or
    `counts` (aggregated rows, e.g. from a GROUP BY), not both. `online_elo` supplies the live
    site's stored Elo per model; without it, online Elo is replayed from `battles` (or left None).
    `style` switches on style control (ratings with style removed). Rows list the models with at
    least `min_battles` battles, ranked among themselves; every model still takes part in the fit.
    `both_intervals` adds the sandwich intervals to every row (`sandwich_lower`/`sandwich_upper`)
    beside the `interval` ones: a board can then show either without a second fit.
    """
    if (battles is None) == (counts is None):
        raise ValueError("give exactly one of battles= or counts=")
    if interval not in ("bootstrap", "sandwich"):
        raise ValueError(f"interval must be 'bootstrap' or 'sandwich', got {interval!r}")
    if style is not None and battles is None:
        raise ValueError("style control needs per-battle rows: pass battles=, not counts=")
    if battles is not None:
        counts = battles_aggregate(battles=battles)
    assert counts is not None
    settings = LeaderboardSettings(
        interval,
        bootstrap_rounds,
        seed,
        level,
        0.5 if compat else penalty,
        compat,
        anchor,
        style is not None,
        min_battles,
    )
    style_summary: StyleSummary | None = None
    sandwich: Intervals | None = None
    if style is not None and battles is not None:
        styled = style_fit(battles=battles, features=style, penalty=settings.penalty, anchor=anchor)
        ratings, components = np.asarray(styled.ratings), np.asarray(styled.components)
        bounds = _style_intervals(battles, style, styled, settings)
        if both_intervals:
            sandwich = _style_sandwich(styled, settings.level)
        style_summary = StyleSummary(
            styled.feature_names,
            tuple(styled.coefficients.tolist()),
            tuple(styled.coefficient_se.tolist()),
            tuple(styled.feature_scale.tolist()),
        )
    else:
        fit = bt_fit(counts=counts, penalty=penalty, anchor=anchor, compat=compat)
        ratings, components = np.asarray(fit.ratings), np.asarray(fit.components)
        if interval == "bootstrap":
            bounds = bootstrap_intervals(
                counts=counts, fit=fit, rounds=bootstrap_rounds, seed=seed, level=level
            )
        else:
            bounds = sandwich_intervals(counts=counts, fit=fit, level=level)
        if both_intervals:
            sandwich = (
                bounds if interval == "sandwich" else sandwich_intervals(counts=counts, fit=fit, level=level)
            )
    elo = _online_elo(battles, counts, online_elo)
    played = counts.battles_per_model()
    wins, losses = counts.wins_losses_per_model()
    rows = []
    for i, model in enumerate(counts.models):
        decisive = int(wins[i] + losses[i])
        rows.append(
            LeaderboardRow(
                model=model,
                rating=float(ratings[i]),
                ci_lower=float(bounds.lower[i]),
                ci_upper=float(bounds.upper[i]),
                rank=0,
                rank_lower=0,
                rank_upper=0,
                online_elo=None if elo is None or model not in elo else float(elo[model]),
                battles=int(played[i]),
                win_rate=float(wins[i] / decisive) if decisive else None,
                component=int(components[i]),
                sandwich_lower=None if sandwich is None else float(sandwich.lower[i]),
                sandwich_upper=None if sandwich is None else float(sandwich.upper[i]),
            )
        )
    full = LeaderboardResult(
        rows=tuple(rows),
        matrices=matrices_compute(counts=counts, ratings=ratings, components=components),
        settings=settings,
        style=style_summary,
    )
    return leaderboard_filter(result=full, min_battles=min_battles)


def leaderboard_filter(*, result: LeaderboardResult, min_battles: int) -> LeaderboardResult:
    """Keep rows with at least `min_battles` battles; ranks and matrices are redone among them."""
    kept = [row for row in result.rows if row.battles >= min_battles]
    lower = np.array([row.ci_lower for row in kept], np.float64)
    upper = np.array([row.ci_upper for row in kept], np.float64)
    components = np.array([row.component for row in kept], np.int64)
    ranks = ranks_compute(lower=lower, upper=upper, components=components)
    ranked = [
        replace(
            row,
            rank=int(ranks.rank[i]),
            rank_lower=int(ranks.rank_lower[i]),
            rank_upper=int(ranks.rank_upper[i]),
        )
        for i, row in enumerate(kept)
    ]
    ranked.sort(
        key=lambda row: (row.component, -row.rating if not math.isnan(row.rating) else math.inf, row.model)
    )
    index = [result.matrices.models.index(row.model) for row in ranked]
    matrices = Matrices(
        models=tuple(row.model for row in ranked),
        win_rate=result.matrices.win_rate[np.ix_(index, index)],
        battle_counts=result.matrices.battle_counts[np.ix_(index, index)],
        predicted_win_rate=result.matrices.predicted_win_rate[np.ix_(index, index)],
    )
    return replace(
        result,
        rows=tuple(ranked),
        matrices=matrices,
        settings=replace(result.settings, min_battles=min_battles),
    )


def _online_elo(
    battles: BattleSet | None, counts: PairCounts, given: Mapping[str, float] | None
) -> dict[str, float] | None:
    if given is not None:
        return dict(given)
    if battles is None:
        return None
    replayed = elo_replay(
        n_models=len(battles.models),
        model_a=battles.model_a,
        model_b=battles.model_b,
        outcome=battles.outcome,
        tstamp=battles.tstamp,
    )
    return {model: float(replayed[i]) for i, model in enumerate(counts.models)}


def _style_intervals(
    battles: BattleSet, features: StyleFeatures, styled: StyleFit, settings: LeaderboardSettings
) -> Intervals:
    m = len(battles.models)
    if settings.interval == "sandwich":
        return _style_sandwich(styled, settings.level)
    rng = np.random.default_rng(settings.seed)
    n = len(battles)
    samples = np.empty((settings.bootstrap_rounds, m))
    for round_index in range(settings.bootstrap_rounds):
        weights = rng.multinomial(n, np.full(n, 1.0 / n)).astype(np.float64) if n else np.zeros(0)
        refit = style_fit(
            battles=battles,
            features=features,
            penalty=settings.penalty,
            anchor=settings.anchor,
            weights=weights,
        )
        samples[round_index] = refit.ratings
    lower, upper = percentiles_take(samples=samples, level=settings.level)
    return Intervals(lower=lower, upper=upper, method="bootstrap", level=settings.level, samples=samples)


def _style_sandwich(styled: StyleFit, level: float) -> Intervals:
    """Normal intervals from the style fit's own sandwich covariance (no refit)."""
    from scipy.special import ndtri  # see sandwich_intervals

    ratings = np.asarray(styled.ratings)
    m = len(ratings)
    spread = 400.0 * np.sqrt(np.clip(np.diag(styled.covariance)[:m], 0.0, None))
    z = float(ndtri(0.5 + level / 2.0))
    finite = np.isfinite(ratings)
    lower = np.where(finite, ratings - z * spread, ratings)
    upper = np.where(finite, ratings + z * spread, ratings)
    return Intervals(lower=lower, upper=upper, method="sandwich", level=level, samples=None)
