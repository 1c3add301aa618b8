"""Style control: Bradley-Terry with answer-style covariates, so style is not credited to the model.

Each battle gets covariates x = normalised differences between A's and B's answers: for each style
count (length in words, markdown headers, list items, bold spans) d = (a - b) / (a + b) (0 when
both are 0), divided by its standard deviation over the battles. The model is
    logit P(A wins) = ln10 (w_A - w_B) + x . beta
fitted by maximum likelihood over the battles (ties half a win each). beta says how much a style
difference sways votes; 1000 + 400 w are the ratings with that sway removed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final

import numpy as np

from leaderboard.ratings.array_types import FloatArray, IntArray, frozen_float, frozen_int
from leaderboard.ratings.battle_set import SCORE_A_OF_OUTCOME, BattleSet
from leaderboard.ratings.bradley_terry import (
    RATING_CENTER,
    RATING_SCALE,
    Anchor,
    FitSetup,
    setup_build,
    strengths_center,
)
from leaderboard.ratings.bt_newton import LN10, QUADRATIC_TOLERANCE, STEP_TOLERANCE, sigmoid
from leaderboard.ratings.comparison_graph import UNDETERMINED, components_label, unbounded_find
from leaderboard.ratings.pair_counts import battles_aggregate

STYLE_FEATURES: Final[tuple[str, ...]] = ("length", "headers", "lists", "bold")

_HEADER: Final = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+\S", re.MULTILINE)
_LIST_ITEM: Final = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+\S", re.MULTILINE)
_BOLD: Final = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


def answer_style_count(*, text: str) -> tuple[int, int, int, int]:
    """(words, markdown headers, list items, bold spans) of one answer."""
    return (
        len(text.split()),
        len(_HEADER.findall(text)),
        len(_LIST_ITEM.findall(text)),
        len(_BOLD.findall(text)),
    )


@dataclass(frozen=True, eq=False)
class StyleFeatures:
    """Raw style counts per battle for side A and side B (battles x features)."""

    names: tuple[str, ...]
    side_a: FloatArray
    side_b: FloatArray

    def __post_init__(self) -> None:
        a = np.asarray(self.side_a, np.float64)
        b = np.asarray(self.side_b, np.float64)
        if a.ndim != 2 or a.shape != b.shape or a.shape[1] != len(self.names):
            raise ValueError("side_a and side_b must both be (battles x features) with one column per name")
        if (a < 0).any() or (b < 0).any() or not (np.isfinite(a).all() and np.isfinite(b).all()):
            raise ValueError("style counts must be finite and non-negative")
        object.__setattr__(self, "side_a", frozen_float(a))
        object.__setattr__(self, "side_b", frozen_float(b))


def style_covariates(*, features: StyleFeatures) -> tuple[FloatArray, FloatArray]:
    """(covariates, scale): normalised differences divided by `scale`, their standard deviation."""
    a, b = features.side_a, features.side_b
    both = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        difference = np.where(both > 0, (a - b) / both, 0.0)
    scale = difference.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return difference / scale, scale


@dataclass(frozen=True, eq=False)
class StyleFit:
    """Ratings with style removed, and the style coefficients.

    coefficients[k]: change in the log-odds of A winning per standard deviation (`feature_scale`)
    of the normalised difference in feature k; coefficient_se: their sandwich standard errors.
    """

    models: tuple[str, ...]
    ratings: FloatArray
    components: IntArray
    feature_names: tuple[str, ...]
    coefficients: FloatArray
    coefficient_se: FloatArray
    feature_scale: FloatArray
    covariance: FloatArray  # sandwich covariance of (w, estimable betas), w centred / anchored
    iterations: int


@dataclass(frozen=True, eq=False)
class _Design:
    a: IntArray
    b: IntArray
    x: FloatArray
    y: FloatArray
    n_models: int


def _blocks(design: _Design, per_battle: FloatArray, weight: FloatArray) -> FloatArray:
    """Sum over battles of weight * g g^T where g = (ln10 (e_a - e_b), x): a (m+k) square matrix."""
    m, k = design.n_models, design.x.shape[1]
    out = np.zeros((m + k, m + k))
    pair = np.bincount(design.a * m + design.b, weight, m * m).reshape(m, m)
    pair = pair + pair.T
    out[:m, :m] = LN10**2 * (np.diag(pair.sum(axis=1)) - pair)
    weighted_x = design.x * weight[:, None]
    # k = 0 when no feature ever differs (no answers stored): then this is the plain fit.
    cross = np.zeros((m, k))
    for j in range(k):
        cross[:, j] = np.bincount(design.a, weighted_x[:, j], m) - np.bincount(design.b, weighted_x[:, j], m)
    out[:m, m:] = LN10 * cross
    out[m:, :m] = LN10 * cross.T
    out[m:, m:] = design.x.T @ weighted_x
    del per_battle
    return out


def _objective(design: _Design, theta: FloatArray, omega: FloatArray, penalty: float) -> float:
    m = design.n_models
    z = LN10 * (theta[design.a] - theta[design.b]) + design.x @ theta[m:]
    return float(
        (omega * (np.logaddexp(0.0, z) - design.y * z)).sum() + 0.5 * penalty * (theta[:m] ** 2).sum()
    )


def _newton(
    design: _Design, omega: FloatArray, setup: FitSetup, finite: IntArray, start: FloatArray
) -> tuple[FloatArray, int]:
    m, k = design.n_models, design.x.shape[1]
    theta = start.copy()
    free = np.concatenate([finite, m + np.arange(k)])
    if setup.penalty > 0.0 and setup.anchor_index is not None:
        theta[setup.anchor_index] = setup.anchor_strength
        free = free[free != setup.anchor_index]
    labels = components_label(n_models=m, first=design.a, second=design.b)
    groups = [
        np.flatnonzero(np.isin(np.arange(m), finite) & (labels == c)) for c in np.unique(labels[finite])
    ]
    for iteration in range(1, 201):
        z = LN10 * (theta[design.a] - theta[design.b]) + design.x @ theta[m:]
        p = sigmoid(z)
        residual = omega * (p - design.y)
        grad = np.concatenate(
            [
                LN10 * (np.bincount(design.a, residual, m) - np.bincount(design.b, residual, m))
                + setup.penalty * theta[:m],
                design.x.T @ residual,
            ]
        )
        hessian = _blocks(design, p, omega * p * (1.0 - p))
        hessian[np.arange(m), np.arange(m)] += setup.penalty
        if setup.penalty == 0.0:
            for group in groups:
                hessian[np.ix_(group, group)] += max(1.0, float(np.abs(hessian).max())) / len(group)
        step = np.zeros(m + k)
        step[free] = np.linalg.solve(hessian[np.ix_(free, free)], -grad[free])
        scale, value = 1.0, _objective(design, theta, omega, setup.penalty)
        slope = float(grad @ step)
        while _objective(
            design, theta + scale * step, omega, setup.penalty
        ) > value + 1e-4 * scale * slope + 1e-12 * abs(value):
            scale *= 0.5
            if scale < 1e-18:
                break
        theta = theta + scale * step
        moved = float(np.abs(scale * step).max(initial=0.0))
        if moved <= STEP_TOLERANCE or (scale == 1.0 and moved <= QUADRATIC_TOLERANCE):
            return theta, iteration
    raise RuntimeError("style-control Newton iterations did not converge")


def style_fit(
    *,
    battles: BattleSet,
    features: StyleFeatures,
    penalty: float = 0.0,
    anchor: Anchor | None = None,
    weights: FloatArray | None = None,
) -> StyleFit:
    """Fit ratings and style coefficients jointly over individual battles.

    `weights` (one per battle, default 1) lets the bootstrap refit on resampled battles.
    Self-battles and battles of models whose plain rating is unbounded are left out.
    """
    if len(features.side_a) != len(battles):
        raise ValueError(f"features cover {len(features.side_a)} battles, expected {len(battles)}")
    setup = setup_build(
        counts=battles_aggregate(battles=battles), penalty=penalty, anchor=anchor, compat=False
    )
    m = len(battles.models)
    table = setup.table
    sign = (
        np.zeros(m, np.int64)
        if setup.penalty > 0.0
        else unbounded_find(
            n_models=m, first=table.first, second=table.second, score=table.score_first, total=table.total
        )
    )
    covariates, scale = style_covariates(features=features)
    # A feature that never differs between sides cannot be estimated; it is left out (NaN).
    varies = np.flatnonzero(covariates.std(axis=0) > 0)
    covariates = covariates[:, varies]
    omega_all = np.ones(len(battles)) if weights is None else np.asarray(weights, np.float64)
    a = battles.model_a.astype(np.int64)
    b = battles.model_b.astype(np.int64)
    use = (a != b) & (sign[a] == 0) & (sign[b] == 0) & (omega_all > 0)
    design = _Design(a[use], b[use], covariates[use], np.array(SCORE_A_OF_OUTCOME)[battles.outcome[use]], m)
    omega = omega_all[use]
    finite = np.flatnonzero(sign == 0)
    k = covariates.shape[1]
    theta, used = _newton(design, omega, setup, finite, np.zeros(m + k))
    strengths = theta[:m].copy()
    strengths[sign == 1] = math.inf
    strengths[sign == -1] = -math.inf
    strengths[sign == UNDETERMINED] = math.nan
    centred = strengths_center(setup=setup, w=strengths[None])[0]
    covariance = _sandwich(design, omega, theta, setup, finite)
    coefficients = np.full(len(features.names), np.nan)
    coefficients[varies] = theta[m:]
    coefficient_se = np.full(len(features.names), np.nan)
    coefficient_se[varies] = np.sqrt(np.clip(np.diag(covariance)[m:], 0.0, None))
    return StyleFit(
        models=battles.models,
        ratings=frozen_float(RATING_CENTER + RATING_SCALE * centred),
        components=frozen_int(setup.components),
        feature_names=features.names,
        coefficients=frozen_float(coefficients),
        coefficient_se=frozen_float(coefficient_se),
        feature_scale=frozen_float(scale),
        covariance=frozen_float(covariance),
        iterations=used,
    )


def _sandwich(
    design: _Design, omega: FloatArray, theta: FloatArray, setup: FitSetup, finite: IntArray
) -> FloatArray:
    """H^-1 M H^-1 for (w, beta), with w centred per component (or relative to the anchor)."""
    m, k = design.n_models, design.x.shape[1]
    z = LN10 * (theta[design.a] - theta[design.b]) + design.x @ theta[m:]
    p = sigmoid(z)
    hessian = _blocks(design, p, omega * p * (1.0 - p))
    hessian[np.arange(m), np.arange(m)] += setup.penalty
    meat = _blocks(design, p, omega * (p - design.y) ** 2)
    free = np.concatenate([finite, m + np.arange(k)])
    if setup.penalty > 0.0 and setup.anchor_index is not None:
        free = free[free != setup.anchor_index]
    centring = np.eye(m + k)
    if setup.penalty == 0.0:
        labels = components_label(n_models=m, first=design.a, second=design.b)
        for label in np.unique(labels[finite]).tolist():
            group = np.flatnonzero(np.isin(np.arange(m), finite) & (labels == label))
            hessian[np.ix_(group, group)] += 1.0 / len(group)
            centring[np.ix_(group, group)] -= 1.0 / len(group)
        if setup.anchor_index is not None:
            members = np.flatnonzero(setup.components == setup.components[setup.anchor_index])
            shift = np.eye(m + k)
            shift[members, setup.anchor_index] -= 1.0
            centring = shift @ centring
    bread = np.zeros((m + k, m + k))
    bread[np.ix_(free, free)] = np.linalg.inv(hessian[np.ix_(free, free)])
    return centring @ bread @ meat @ bread @ centring.T
