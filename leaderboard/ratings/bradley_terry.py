"""Bradley-Terry ratings by maximum likelihood on pair counts.

P(A beats B) = 1 / (1 + 10^((R_B - R_A) / 400)); a tie of either kind is half a win for each side.
Ratings are 1000 + 400 w. Each connected component of the comparison graph is rated on its own
scale with mean 1000 (or pinned by an anchor), since battles say nothing about how components
compare.

Compatibility mode (`compat=True`) reproduces the ratings of the common arena pipeline, which fits
scikit-learn's LogisticRegression(fit_intercept=False, C=1) to each battle written twice (a tie
once as a win for A and once as a win for B), with features +ln10 / -ln10 for A / B. Its objective
is C * (log-loss over the doubled rows) + 1/2 ||w||^2 with w in base-10 units. Doubling the rows
doubles every count, so this equals 2 * NLL + 1/2 ||w||^2, i.e. NLL + 1/4 ||w||^2: the penalised fit
here with penalty = 0.5 (the objective is NLL + penalty/2 * ||w||^2). There is no intercept, so
only the penalty fixes each component's level; at the optimum the penalty's gradient on a
component's common shift is the sum of its w, so every component lands at mean 1000 by itself,
which is why the published numbers average exactly 1000 per component. We return the exact
optimum; the published run stopped early (lbfgs, tol 1e-4 on the averaged loss), which moves
models with few battles by up to ~2 points. See leaderboard/ratings/README.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from leaderboard.ratings.array_types import FloatArray, IntArray, frozen_float, frozen_int
from leaderboard.ratings.bt_newton import NewtonProblem, newton_solve
from leaderboard.ratings.comparison_graph import UNDETERMINED, components_label, unbounded_find
from leaderboard.ratings.pair_counts import PairCounts, PairTable, pair_table_build

RATING_CENTER: Final = 1000.0
RATING_SCALE: Final = 400.0
COMPAT_PENALTY: Final = 0.5


@dataclass(frozen=True)
class Anchor:
    """Pin `model` at `rating` (its component is shifted, or held there under a penalty)."""

    model: str
    rating: float


@dataclass(frozen=True, eq=False)
class BTFit:
    """Fitted ratings, one per model in `models` order.

    Without a penalty some ratings can be unbounded: +inf / -inf for a model (or group) that never
    lost / never won a point against the rest of its component, NaN when the data do not place a
    model relative to the component's main group at all (see comparison_graph.unbounded_find).
    """

    models: tuple[str, ...]
    ratings: FloatArray
    components: IntArray
    penalty: float
    anchor: Anchor | None
    iterations: int

    def rating_of(self, model: str) -> float:
        return float(self.ratings[self.models.index(model)])


@dataclass(frozen=True, eq=False)
class FitSetup:
    """Everything a fit needs besides the counts themselves; shared with the bootstrap."""

    table: PairTable
    components: IntArray
    penalty: float
    anchor: Anchor | None
    anchor_index: int | None

    @property
    def anchor_strength(self) -> float:
        return 0.0 if self.anchor is None else (self.anchor.rating - RATING_CENTER) / RATING_SCALE


def setup_build(*, counts: PairCounts, penalty: float, anchor: Anchor | None, compat: bool) -> FitSetup:
    if compat:
        if penalty not in (0.0, COMPAT_PENALTY):
            raise ValueError("compat mode sets its own penalty (0.5); leave penalty at 0")
        if anchor is not None:
            raise ValueError("compat mode reproduces a pipeline without an anchor; drop the anchor")
        penalty = COMPAT_PENALTY
    if not (penalty >= 0.0 and math.isfinite(penalty)):
        raise ValueError(f"penalty must be a finite number >= 0, got {penalty!r}")
    anchor_index = None
    if anchor is not None:
        if anchor.model not in counts.models:
            raise ValueError(f"anchor model {anchor.model!r} is not among the models")
        if not math.isfinite(anchor.rating):
            raise ValueError("anchor rating must be finite")
        anchor_index = counts.models.index(anchor.model)
    table = pair_table_build(counts=counts)
    components = components_label(n_models=table.n_models, first=table.first, second=table.second)
    return FitSetup(table, components, float(penalty), anchor, anchor_index)


def strengths_center(*, setup: FitSetup, w: FloatArray) -> FloatArray:
    """Fix each component's level on rows of w (rounds x m): mean 0 over finite members, then the
    anchor shift. Under a penalty the level is already set by the penalty (and the pinned anchor).
    A round whose anchor came out unbounded has its anchor component set to NaN."""
    if setup.penalty > 0.0:
        return w
    out = w.copy()
    for component in np.unique(setup.components).tolist():
        members = np.flatnonzero(setup.components == component)
        block = out[:, members]
        finite = np.isfinite(block)
        counts = finite.sum(axis=1)
        mean = np.where(finite, block, 0.0).sum(axis=1) / np.maximum(counts, 1)
        out[:, members] = block - mean[:, None]
    if setup.anchor_index is not None:
        members = np.flatnonzero(setup.components == setup.components[setup.anchor_index])
        shift = setup.anchor_strength - out[:, setup.anchor_index]
        with np.errstate(invalid="ignore"):
            out[:, members] = out[:, members] + np.where(np.isfinite(shift), shift, np.nan)[:, None]
    return out


def problem_build(
    *, setup: FitSetup, pairs: IntArray | None = None, finite: IntArray | None = None
) -> NewtonProblem:
    """The Newton problem on the given pairs (default all); gauge groups are the components of the
    graph those pairs form, restricted to `finite` models (default all)."""
    table = setup.table
    chosen = np.arange(len(table.first)) if pairs is None else pairs
    first, second = table.first[chosen], table.second[chosen]
    if setup.penalty > 0.0:
        fixed = np.array([] if setup.anchor_index is None else [setup.anchor_index], np.int64)
        return NewtonProblem(table.n_models, first, second, setup.penalty, fixed, ())
    keep = np.ones(table.n_models, np.bool_) if finite is None else np.isin(np.arange(table.n_models), finite)
    labels = components_label(n_models=table.n_models, first=first, second=second)
    groups = tuple(np.flatnonzero(keep & (labels == c)) for c in np.unique(labels[keep]).tolist())
    # Unbounded models take no part in the solve; holding them fixed keeps the system regular.
    return NewtonProblem(table.n_models, first, second, 0.0, np.flatnonzero(~keep), groups)


def strengths_fit_one(
    *, setup: FitSetup, score: FloatArray, total: FloatArray, start: FloatArray | None = None
) -> tuple[FloatArray, int]:
    """Fit one set of pair counts (the pairs of setup.table), handling unbounded models."""
    m = setup.table.n_models
    first, second = setup.table.first, setup.table.second
    w0 = np.zeros(m) if start is None else np.where(np.isfinite(start), start, 0.0)
    if setup.penalty > 0.0:
        if setup.anchor_index is not None:
            w0[setup.anchor_index] = setup.anchor_strength
        w, used = newton_solve(
            problem=problem_build(setup=setup), score=score[None], total=total[None], start=w0[None]
        )
        return w[0], used
    sign = unbounded_find(n_models=m, first=first, second=second, score=score, total=total)
    finite = np.flatnonzero(sign == 0)
    live = np.flatnonzero((sign[first] == 0) & (sign[second] == 0) & (total > 0))
    problem = problem_build(setup=setup, pairs=live, finite=finite)
    w, used = newton_solve(problem=problem, score=score[None, live], total=total[None, live], start=w0[None])
    strengths = w[0]
    for group in problem.gauge_groups:
        strengths[group] -= strengths[group].mean()
    strengths[sign == 1] = math.inf
    strengths[sign == -1] = -math.inf
    strengths[sign == UNDETERMINED] = math.nan
    return strengths, used


def bt_fit(
    *, counts: PairCounts, penalty: float = 0.0, anchor: Anchor | None = None, compat: bool = False
) -> BTFit:
    """Fit Bradley-Terry ratings to aggregated counts.

    penalty: L2 strength on w = (rating - 1000) / 400; the objective is NLL + penalty/2 * ||w||^2
    (a normal prior on w with variance 1/penalty). None by default.
    anchor: pin one model's rating; its component moves with it, other components keep mean 1000.
    compat: the published pipeline's fit (penalty 0.5, see the module docstring).
    """
    setup = setup_build(counts=counts, penalty=penalty, anchor=anchor, compat=compat)
    table = setup.table
    strengths, used = strengths_fit_one(setup=setup, score=table.score_first, total=table.total)
    centred = strengths_center(setup=setup, w=strengths[None])[0]
    if setup.anchor_index is not None and not math.isfinite(centred[setup.anchor_index]):
        raise ValueError(
            f"anchor model {setup.anchor.model!r} has no finite rating: it won or lost every battle "  # type: ignore[union-attr]
            "against its component; choose another anchor or add a penalty"
        )
    return BTFit(
        models=counts.models,
        ratings=frozen_float(RATING_CENTER + RATING_SCALE * centred),
        components=frozen_int(setup.components),
        penalty=setup.penalty,
        anchor=setup.anchor,
        iterations=used,
    )
