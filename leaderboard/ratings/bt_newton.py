"""Damped Newton for the Bradley-Terry log-likelihood on pair counts, many resamples at once.

With ratings w in base-10 units (rating = 1000 + 400 w), pair k between models i < j has
z = ln10 (w_i - w_j), P(i beats j) = sigmoid(z), and contributes n softplus(z) - s z to the
negative log-likelihood, where n is the number of battles and s the points of i (ties half).
The Hessian is a weighted graph Laplacian, so with m models one Newton step is an m x m solve;
bootstrap rounds share the pairs, so their systems are stacked and solved together.

numpy only: importing scipy would add about 0.2 s to every command that rates a file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from leaderboard.ratings.array_types import BoolArray, FloatArray, IntArray

LN10: Final = math.log(10.0)
# Step size in base-10 units below which a round counts as converged (about 4e-8 rating points).
STEP_TOLERANCE: Final = 1e-10
QUADRATIC_TOLERANCE: Final = 1e-6
MAX_ITERATIONS: Final = 200
CHORD_ITERATIONS: Final = 40
# Chord steps shrink geometrically (by ~10x here), so stopping at a 1e-8 step leaves an error of
# about 1e-9 in w, 4e-7 rating points: far below what percentiles of 100 rounds can resolve.
CHORD_TOLERANCE: Final = 1e-8
SAFE_LOGIT_STEP: Final = 0.5
# Up to this many free models, chord steps multiply by the inverse Hessian with einsum (no BLAS).
_EINSUM_MODELS: Final = 256
# Memory cap for the stacked Hessians (rounds x models x models floats per chunk).
_HESSIAN_FLOATS: Final = 4_000_000


@dataclass(frozen=True, eq=False)
class NewtonProblem:
    """What stays fixed across rounds: the pairs, the penalty, pinned models and gauge groups.

    `gauge_groups`: index sets whose common shift leaves the objective unchanged (components when
    there is no penalty); Newton steps are kept at zero mean on each so the solve is well posed.
    `fixed`: models held at their start value (an anchor under a penalty).
    """

    n_models: int
    first: IntArray
    second: IntArray
    penalty: float
    fixed: IntArray
    gauge_groups: tuple[IntArray, ...]


def sigmoid(z: FloatArray) -> FloatArray:
    """1 / (1 + e^-z), as scipy.special.expit computes it (e^-z overflowing gives 0, quietly)."""
    with np.errstate(over="ignore"):
        return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _per_model(problem: NewtonProblem, values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sums of `values` (rounds x pairs) over each model's pairs as first, and as second model."""
    rounds, m = len(values), problem.n_models
    offsets = np.arange(rounds)[:, None] * m
    flat = np.ravel(values)
    as_first = np.asarray(np.bincount(np.ravel(offsets + problem.first), flat, rounds * m), np.float64)
    as_second = np.asarray(np.bincount(np.ravel(offsets + problem.second), flat, rounds * m), np.float64)
    return as_first.reshape(rounds, m), as_second.reshape(rounds, m)


def objective_value(
    *, problem: NewtonProblem, w: FloatArray, score: FloatArray, total: FloatArray
) -> FloatArray:
    """Penalised negative log-likelihood per round (rows of w)."""
    z = LN10 * (w[:, problem.first] - w[:, problem.second])
    value = (total * np.logaddexp(0.0, z) - score * z).sum(axis=1)
    return value + 0.5 * problem.penalty * (w * w).sum(axis=1)


def gradient_hessian(
    *, problem: NewtonProblem, w: FloatArray, score: FloatArray, total: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Gradient (rounds x m) and Hessian (rounds x m x m) of the penalised objective."""
    rounds, m = w.shape
    z = LN10 * (w[:, problem.first] - w[:, problem.second])
    p = sigmoid(z)
    residual = total * p - score
    as_first, as_second = _per_model(problem, residual)
    grad = LN10 * (as_first - as_second) + problem.penalty * w
    curvature = (LN10 * LN10) * total * p * (1.0 - p)
    hessian = np.zeros((rounds, m * m))
    hessian[:, problem.first * m + problem.second] = -curvature
    hessian[:, problem.second * m + problem.first] = -curvature
    as_first, as_second = _per_model(problem, curvature)
    hessian[:, np.arange(m) * (m + 1)] = as_first + as_second + problem.penalty
    return grad, hessian.reshape(rounds, m, m)


def _gauge_add(hessian: FloatArray, groups: tuple[IntArray, ...]) -> None:
    # Adding c/|G| on the G x G block makes the system regular; since the gradient sums to zero
    # on G, the solution then has zero sum on G (the step does not move the group's mean).
    for group in groups:
        if len(group) == 0:
            continue
        block = hessian[:, group[:, None], group[None, :]]
        scale = max(1.0, float(np.abs(block).max(initial=0.0)))
        hessian[:, group[:, None], group[None, :]] = block + scale / len(group)


def _spd_solve(systems: FloatArray, rhs: FloatArray) -> FloatArray:
    """Solve each system (the Hessians, gauge added, are positive definite); a singular one, which
    only rounding can make, gets the least-squares solution."""
    try:
        return np.asarray(np.linalg.solve(systems, rhs[..., None])[..., 0])
    except np.linalg.LinAlgError:
        pass
    out = np.empty_like(rhs)
    for row in range(len(systems)):
        try:
            out[row] = np.linalg.solve(systems[row], rhs[row])
        except np.linalg.LinAlgError:
            out[row] = np.linalg.lstsq(systems[row], rhs[row], rcond=None)[0]
    return out


def gradient_only(
    *, problem: NewtonProblem, w: FloatArray, score: FloatArray, total: FloatArray
) -> FloatArray:
    z = LN10 * (w[:, problem.first] - w[:, problem.second])
    as_first, as_second = _per_model(problem, total * sigmoid(z) - score)
    return LN10 * (as_first - as_second) + problem.penalty * w


def chord_solve(
    *,
    problem: NewtonProblem,
    score: FloatArray,
    total: FloatArray,
    start: FloatArray,
    centre: FloatArray,
    centre_total: FloatArray,
) -> tuple[FloatArray, BoolArray, int]:
    """Newton steps that all reuse one Hessian: the data's (`centre_total` battles per pair) at
    `centre` (m strengths), inverted once.

    Bootstrap rounds are small perturbations of the data, so the Hessian at the full-data fit is
    close to each round's own; iterating w <- w - H^-1 g(w) then converges linearly and fast to the
    same zero of the gradient, at the cost of one gradient and one product with H^-1 (inverted
    once) per iteration instead of one factorisation per round. Returns (w, converged per round,
    iterations); rounds whose steps stop shrinking, or that need more than CHORD_ITERATIONS, are
    left for full Newton.
    """
    free = np.setdiff1d(np.arange(problem.n_models), problem.fixed)
    _, hessian = gradient_hessian(
        problem=problem, w=centre[None], score=np.zeros((1, len(centre_total))), total=centre_total[None]
    )
    _gauge_add(hessian, problem.gauge_groups)
    inverse = np.linalg.inv(hessian[0][np.ix_(free, free)])
    w = np.array(start, dtype=np.float64, copy=True)
    active = np.arange(len(w))
    converged = np.zeros(len(w), np.bool_)
    previous = np.full(len(w), np.inf)
    iteration = 0
    while len(active) and iteration < CHORD_ITERATIONS:
        iteration += 1
        grad = gradient_only(problem=problem, w=w[active], score=score[active], total=total[active])
        step = np.zeros_like(grad)
        # Up to a few hundred models einsum multiplies without BLAS, whose thread pool costs more
        # than the arithmetic at these sizes on a busy machine; for more models BLAS is faster.
        if len(free) <= _EINSUM_MODELS:
            step[:, free] = -np.einsum("rj,jk->rk", grad[:, free], inverse)
        else:
            step[:, free] = -(grad[:, free] @ inverse)
        w[active] += step
        size = np.abs(step).max(axis=1, initial=0.0)
        done = size <= CHORD_TOLERANCE
        converged[active[done]] = True
        # A round whose steps stop shrinking is too far from the data for the shared Hessian.
        keep = ~done & (size < previous[active])
        previous[active] = size
        active = active[keep]
    return w, converged, iteration


def newton_solve(
    *, problem: NewtonProblem, score: FloatArray, total: FloatArray, start: FloatArray
) -> tuple[FloatArray, int]:
    """Minimise each round's objective from `start` (rounds x m); returns (w, most iterations used)."""
    m = problem.n_models
    chunk = max(1, _HESSIAN_FLOATS // max(1, m * m))
    out = np.array(start, dtype=np.float64, copy=True)
    most = 0
    for lo in range(0, len(out), chunk):
        hi = lo + chunk
        out[lo:hi], used = _newton_chunk(problem, score[lo:hi], total[lo:hi], out[lo:hi])
        most = max(most, used)
    return out, most


def _newton_chunk(
    problem: NewtonProblem, score: FloatArray, total: FloatArray, w: FloatArray
) -> tuple[FloatArray, int]:
    free = np.setdiff1d(np.arange(problem.n_models), problem.fixed)
    active = np.arange(len(w))
    for iteration in range(1, MAX_ITERATIONS + 1):
        grad, hessian = gradient_hessian(
            problem=problem, w=w[active], score=score[active], total=total[active]
        )
        _gauge_add(hessian, problem.gauge_groups)
        step = np.zeros((len(active), problem.n_models))
        system = hessian[:, free[:, None], free[None, :]]
        step[:, free] = _spd_solve(system, -grad[:, free])
        scale = np.ones(len(active))
        # A step that moves no pair's logit by more than SAFE_LOGIT_STEP stays where the quadratic
        # model is accurate (the curvature changes by at most e^0.5), so it is taken in full; warm
        # bootstrap rounds never need the objective. Larger steps are backtracked (Armijo rule).
        logit_step = LN10 * np.abs(step[:, problem.first] - step[:, problem.second]).max(axis=1, initial=0.0)
        risky = np.flatnonzero(logit_step > SAFE_LOGIT_STEP)
        if len(risky):
            scale[risky] = _backtrack(problem, w, score, total, active[risky], step[risky], grad[risky])
        w[active] += scale[:, None] * step
        moved = np.abs(scale[:, None] * step).max(axis=1, initial=0.0)
        # Newton converges quadratically: after a full step of size s the error is about s^2,
        # so a full step below QUADRATIC_TOLERANCE needs no confirming iteration.
        done = (moved <= STEP_TOLERANCE) | ((scale == 1.0) & (moved <= QUADRATIC_TOLERANCE))
        active = active[~done]
        if len(active) == 0:
            return w, iteration
    raise RuntimeError(f"Bradley-Terry Newton iterations did not converge in {MAX_ITERATIONS} steps")


def _backtrack(
    problem: NewtonProblem,
    w: FloatArray,
    score: FloatArray,
    total: FloatArray,
    rows: IntArray,
    step: FloatArray,
    grad: FloatArray,
) -> FloatArray:
    """Step scale per row: halve until the objective drops by the Armijo fraction of the slope."""
    value = objective_value(problem=problem, w=w[rows], score=score[rows], total=total[rows])
    slope = (grad * step).sum(axis=1)
    scale = np.ones(len(rows))
    pending = np.arange(len(rows))
    for _ in range(60):
        picked = rows[pending]
        trial = w[picked] + scale[pending, None] * step[pending]
        trial_value = objective_value(problem=problem, w=trial, score=score[picked], total=total[picked])
        slack = 1e-4 * scale[pending] * slope[pending] + 1e-12 * np.abs(value[pending])
        pending = pending[trial_value > value[pending] + slack]
        if len(pending) == 0:
            break
        scale[pending] *= 0.5
    return scale
