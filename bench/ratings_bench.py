"""Benchmark: a 1M-battle JSON-lines file rated three ways, side by side in one run.

Run:  .venv/bin/python bench/ratings_bench.py [--battles 1000000] [--models 100] [--repeat 3]
      [--name-style fixed|varied] [--arena-python PYTHON] [--skip-arena-rank] [--skip-baseline]

Generates a seeded battle file (model names arena-model-000..., or with --name-style varied 3-45
byte names like real arena ones), then, alternating so that all see the same machine load, times:
  (a) command     `python manage.py compute_ratings --battles FILE --json` as a subprocess, as a user
                  runs it: wall time including interpreter start-up, Django setup, read, fit, 100
                  bootstrap rounds, intervals, ranks, online Elo replay and the JSON out
  (b) arena-rank  LMArena's ranking library as its README runs it (bench/arena_rank_run.py:
                  pandas read_json -> PairDataset.from_pandas -> BradleyTerry
                  .compute_ratings_and_cis, sandwich intervals, its default), as a subprocess with a
                  timeout, wall time including start-up; --arena-python picks the interpreter that
                  has arena-rank (default: this one)
  (c) baseline    "the usual approach", timed inside this process (no start-up): json.loads per line
                  -> aggregated rows (np.unique) -> Generator.multinomial resamples of the rows -> one
                  scipy L-BFGS-B fit of the BT log-likelihood per round (weighted-mean loss, analytic
                  gradient, from 0, gtol 1e-6) -> percentiles -> ranks
and, for the breakdown, our engine inside this process: battles_read (msgspec) -> battles_aggregate
-> bt_fit (Newton) -> bootstrap_intervals (100 rounds, stacked Newton) -> ranks_compute, with the
online Elo replay and sandwich intervals timed apart. CPU times are reported too (the machine may be
shared). OpenBLAS's thread pool makes each small L-BFGS-B call much slower on a busy machine; run
with OPENBLAS_NUM_THREADS=1 as well to see the baseline at its best.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# sandwich_intervals imports scipy.special on first use; imported here, its timing leaves that out.
import scipy.special  # noqa: F401
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leaderboard.ratings.battle_file import battles_read
from leaderboard.ratings.bootstrap import bootstrap_intervals, pairs_resample
from leaderboard.ratings.bradley_terry import bt_fit, setup_build
from leaderboard.ratings.intervals import percentiles_take, ranks_compute
from leaderboard.ratings.online_elo import elo_replay
from leaderboard.ratings.pair_counts import battles_aggregate
from leaderboard.ratings.sandwich import sandwich_intervals

ROOT = Path(__file__).resolve().parent.parent
WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
ROUNDS = 100


def model_names(*, models: int, style: str, seed: int) -> list[str]:
    """`fixed`: arena-model-000 ... (15 bytes each). `varied`: names like real arena ones, 3 to 45
    bytes, some sharing long prefixes, a few non-ASCII."""
    if style == "fixed":
        return [f"arena-model-{i:03d}" for i in range(models)]
    rng = np.random.default_rng(seed + 1)
    families = ["gpt", "claude", "llama", "gemini", "qwen", "mistral", "yi", "phi", "command-r", "模型"]
    names: set[str] = set()
    while len(names) < models:
        family = str(rng.choice(families))
        name = f"{family}-{rng.integers(1, 5)}"
        for _ in range(int(rng.integers(0, 4))):
            name += "-" + str(rng.choice(["turbo", "sonnet", "instruct", "chat", "preview", "70b", "8x22b"]))
        if rng.random() < 0.4:
            name += f"-2024{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}"
        names.add(name[: int(rng.integers(3, 46))].rstrip("-") or family)
    return sorted(names)


def battles_generate(*, path: Path, battles: int, models: int, seed: int, name_style: str = "fixed") -> None:
    """Seeded arena-format JSON lines: BT outcomes from normal strengths, ~20% ties."""
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 0.35, models)
    names = model_names(models=models, style=name_style, seed=seed)
    a = rng.integers(0, models, battles)
    b = (a + rng.integers(1, models, battles)) % models
    p_a = 1.0 / (1.0 + 10.0 ** (strength[b] - strength[a]))
    tie = rng.random(battles) < 0.2
    outcome = np.where(tie, rng.integers(2, 4, battles), np.where(rng.random(battles) < p_a, 0, 1))
    stamps = 1.7e9 + np.cumsum(rng.exponential(2.0, battles))
    anony = rng.random(battles) < 0.8
    with path.open("w") as out:
        for i in range(0, battles, 100_000):
            out.write(
                "".join(
                    f'{{"model_a": "{names[a[j]]}", "model_b": "{names[b[j]]}", '
                    f'"winner": "{WINNERS[outcome[j]]}", "tstamp": {stamps[j]:.4f}, '
                    f'"anony": {"true" if anony[j] else "false"}}}\n'
                    for j in range(i, min(i + 100_000, battles))
                )
            )


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def ours_run(path: Path) -> dict[str, Any]:
    cpu_start = time.process_time()
    battles, read = _timed(lambda: battles_read(path=path))
    counts, aggregate = _timed(lambda: battles_aggregate(battles=battles))
    fit, fit_time = _timed(lambda: bt_fit(counts=counts))
    bounds, bootstrap = _timed(lambda: bootstrap_intervals(counts=counts, fit=fit, rounds=ROUNDS, seed=0))
    ranks, rank_time = _timed(
        lambda: ranks_compute(lower=bounds.lower, upper=bounds.upper, components=fit.components)
    )
    cpu = time.process_time() - cpu_start
    _, sandwich = _timed(lambda: sandwich_intervals(counts=counts, fit=fit))
    _, elo = _timed(
        lambda: elo_replay(
            n_models=len(battles.models),
            model_a=battles.model_a,
            model_b=battles.model_b,
            outcome=battles.outcome,
            tstamp=battles.tstamp,
        )
    )
    compute = aggregate + fit_time + bootstrap + rank_time
    return {
        "read_s": read,
        "aggregate_s": aggregate,
        "fit_s": fit_time,
        "fit_newton_iterations": fit.iterations,
        "bootstrap_100_s": bootstrap,
        "ranks_s": rank_time,
        "compute_s": compute,
        "total_s": read + compute,
        "cpu_s": cpu,
        "extra_sandwich_s": sandwich,
        "extra_online_elo_replay_s": elo,
        "models": battles.models,
        "battles": (battles.model_a, battles.model_b, battles.outcome),
        "ratings": np.asarray(fit.ratings),
        "lower": np.asarray(bounds.lower),
        "upper": np.asarray(bounds.upper),
        "rank": np.asarray(ranks.rank),
    }


def _baseline_read(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    models = sorted({row["model_a"] for row in rows} | {row["model_b"] for row in rows})
    index = {name: i for i, name in enumerate(models)}
    code = {label: i for i, label in enumerate(WINNERS)}
    a = np.array([index[row["model_a"]] for row in rows])
    b = np.array([index[row["model_b"]] for row in rows])
    outcome = np.array([code[row["winner"]] for row in rows])
    return models, a, b, outcome


def _baseline_fit(
    first: np.ndarray, second: np.ndarray, score: np.ndarray, total: np.ndarray, m: int, gtol: float = 1e-6
) -> np.ndarray:
    """The usual fit: BT log-likelihood over aggregated rows as a weighted mean (weights = share of
    battles), analytic gradient, scipy L-BFGS-B from zero with gradient tolerance 1e-6."""
    ln10 = math.log(10.0)
    share = total.sum()
    score, total = score / share, total / share

    def nll(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = ln10 * (w[first] - w[second])
        residual = total / (1.0 + np.exp(-z)) - score
        grad = ln10 * (np.bincount(first, residual, m) - np.bincount(second, residual, m))
        return float((total * np.logaddexp(0.0, z) - score * z).sum()), grad

    # The usual settings stop on scipy's default relative-reduction test (ftol); the reference fit
    # (small gtol) switches that test off so that only the gradient decides.
    options = (
        {"gtol": gtol, "maxiter": 100} if gtol >= 1e-6 else {"gtol": gtol, "ftol": 1e-16, "maxiter": 10_000}
    )
    w = minimize(nll, np.zeros(m), jac=True, method="L-BFGS-B", options=options).x
    return 1000.0 + 400.0 * (w - w.mean())


def baseline_run(path: Path) -> dict[str, Any]:
    cpu_start = time.process_time()
    (models, a, b, outcome), read = _timed(lambda: _baseline_read(path))
    start = time.perf_counter()
    m = len(models)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    first_wins = np.where(a < b, outcome == 0, outcome == 1)
    second_wins = np.where(a < b, outcome == 1, outcome == 0)
    keys, row = np.unique(lo * m + hi, return_inverse=True)
    wins_first = np.bincount(row, first_wins, len(keys))
    wins_second = np.bincount(row, second_wins, len(keys))
    ties = np.bincount(row, outcome >= 2, len(keys))
    first, second = keys // m, keys % m
    aggregate = time.perf_counter() - start
    ratings, fit_time = _timed(
        lambda: _baseline_fit(first, second, wins_first + ties / 2, wins_first + wins_second + ties, m)
    )
    start = time.perf_counter()
    cells = np.concatenate([wins_first, wins_second, ties])
    draws = np.random.default_rng(0).multinomial(int(cells.sum()), cells / cells.sum(), size=ROUNDS)
    k = len(keys)
    samples = np.array(
        [
            _baseline_fit(first, second, d[:k] + d[2 * k :] / 2, d[:k] + d[k : 2 * k] + d[2 * k :], m)
            for d in draws.astype(float)
        ]
    )
    lower, upper = percentiles_take(samples=samples, level=0.95)
    bootstrap = time.perf_counter() - start
    one_component = np.zeros(m, np.int64)
    ranks, rank_time = _timed(lambda: ranks_compute(lower=lower, upper=upper, components=one_component))
    compute = aggregate + fit_time + bootstrap + rank_time
    return {
        "read_s": read,
        "aggregate_s": aggregate,
        "fit_s": fit_time,
        "bootstrap_100_s": bootstrap,
        "ranks_s": rank_time,
        "compute_s": compute,
        "total_s": read + compute,
        "cpu_s": time.process_time() - cpu_start,
        "models": models,
        "battles": (a, b, outcome),
        "ratings": ratings,
        "lower": lower,
        "upper": upper,
        "rank": np.asarray(ranks.rank),
    }


def accuracy_check(path: Path, rounds: int = 10) -> dict[str, float]:
    """On the same resamples: max |rating - reference| for our bootstrap rounds and for the baseline's
    fit, the reference being L-BFGS-B run to a 1e-11 gradient tolerance."""
    counts = battles_aggregate(battles=battles_read(path=path))
    fit = bt_fit(counts=counts)
    ours = bootstrap_intervals(counts=counts, fit=fit, rounds=rounds, seed=0).samples
    assert ours is not None
    setup = setup_build(counts=counts, penalty=0.0, anchor=None, compat=False)
    wins_first, wins_second, ties = pairs_resample(setup=setup, rounds=rounds, seed=0)
    first, second, m = setup.table.first, setup.table.second, len(counts.models)
    ours_error = baseline_error = 0.0
    for row in range(rounds):
        score, total = wins_first[row] + ties[row] / 2, wins_first[row] + wins_second[row] + ties[row]
        reference = _baseline_fit(first, second, score, total, m, gtol=1e-11)
        ours_error = max(ours_error, float(np.abs(ours[row] - reference).max()))
        baseline = _baseline_fit(first, second, score, total, m)
        baseline_error = max(baseline_error, float(np.abs(baseline - reference).max()))
    return {"ours_max_error_points": ours_error, "baseline_max_error_points": baseline_error}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _subprocess_timed(argv: Sequence[str], timeout: float) -> tuple[str, float, float]:
    """(stdout, wall seconds, CPU seconds) of a child process; raises if it fails or times out."""
    cpu_start = _child_cpu()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{argv[1]} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout, wall, _child_cpu() - cpu_start


def command_run(path: Path, timeout: float) -> dict[str, Any]:
    """(a): the management command, as a user runs it."""
    argv = [sys.executable, str(ROOT / "manage.py"), "compute_ratings", "--battles", str(path), "--json"]
    out, wall, cpu = _subprocess_timed(argv, timeout)
    rows = json.loads(out)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "ratings": {row["model"]: row["rating"] for row in rows},
        "rank": {row["model"]: row["rank"] for row in rows},
    }


def arena_rank_run(path: Path, python: str, timeout: float) -> dict[str, Any]:
    """(b): arena-rank with its default (sandwich) intervals, as its README runs it."""
    argv = [python, str(ROOT / "bench" / "arena_rank_run.py"), str(path)]
    out, wall, cpu = _subprocess_timed(argv, timeout)
    result = json.loads(out)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "ratings": dict(zip(result["models"], result["ratings"], strict=True)),
    }


def _spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def _scalars(run: dict[str, Any]) -> dict[str, float]:
    return {key: round(float(value), 3) for key, value in run.items() if isinstance(value, (int, float))}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--battles", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions of each")
    parser.add_argument(
        "--path", type=Path, default=None, help="default /tmp/arena-ratings-bench/battles*.jsonl"
    )
    parser.add_argument(
        "--name-style",
        choices=("fixed", "varied"),
        default="fixed",
        help="fixed: arena-model-000 ... (the benchmark); varied: 3-45 byte names like real arena ones",
    )
    parser.add_argument("--arena-python", default=sys.executable, help="an interpreter with arena-rank")
    parser.add_argument("--arena-timeout", type=float, default=300.0, help="seconds per arena-rank run")
    parser.add_argument("--skip-arena-rank", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    if args.path is None:
        suffix = "" if args.name_style == "fixed" else f"-{args.name_style}"
        args.path = Path(f"/tmp/arena-ratings-bench/battles{suffix}.jsonl")

    args.path.parent.mkdir(parents=True, exist_ok=True)
    _, generate = _timed(
        lambda: battles_generate(
            path=args.path,
            battles=args.battles,
            models=args.models,
            seed=args.seed,
            name_style=args.name_style,
        )
    )
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, load average before: {os.getloadavg()}")
    size_mb = args.path.stat().st_size / 1e6
    print(
        f"generated {args.battles:,} battles, {args.models} models ({args.name_style} names), "
        f"{size_mb:.0f} MB in {generate:.1f} s"
    )

    # Alternate all of them so that each sees the same machine load (the machine may be shared).
    commands: list[dict[str, Any]] = []
    peers: list[dict[str, Any]] = []
    ours: list[dict[str, Any]] = []
    baselines: list[dict[str, Any]] = []
    for i in range(args.repeat):
        commands.append(command_run(args.path, timeout=600.0))
        print(f"(a) command #{i + 1}: {commands[-1]['wall_s']:.3f} s wall, {commands[-1]['cpu_s']:.3f} s CPU")
        if not args.skip_arena_rank:
            try:
                peers.append(arena_rank_run(args.path, args.arena_python, args.arena_timeout))
            except subprocess.TimeoutExpired:
                print(f"(b) arena-rank #{i + 1}: still running after {args.arena_timeout:.0f} s, stopped")
            else:
                run = peers[-1]
                print(f"(b) arena-rank #{i + 1}: {run['wall_s']:.3f} s wall, {run['cpu_s']:.3f} s CPU")
        if not args.skip_baseline:
            baselines.append(baseline_run(args.path))
            print(f"(c) baseline #{i + 1}: {json.dumps(_scalars(baselines[-1]))}")
        ours.append(ours_run(args.path))
        print(f"ours in-process #{i + 1}: {json.dumps(_scalars(ours[-1]))}")

    keys = ("read_s", "compute_s", "total_s", "cpu_s")
    summary = {key: statistics.median(run[key] for run in ours) for key in keys}
    print(f"ours in-process median: {json.dumps({k: round(v, 3) for k, v in summary.items()})}")
    command = [run["wall_s"] for run in commands]
    print(f"\n(a) command, wall:            {_spread(command)}")
    if peers:
        peer = [run["wall_s"] for run in peers]
        ratio = statistics.median(peer) / statistics.median(command)
        print(f"(b) arena-rank sandwich, wall: {_spread(peer)}   (b)/(a) = {ratio:.1f}x")
        last, theirs = commands[-1]["ratings"], peers[-1]["ratings"]
        gap = max(abs(last[model] - theirs[model]) for model in last)
        print(f"    ratings: max |(a) - (b)| {gap:.2f} points (the command fits with the board's prior)")
    if baselines:
        base = [run["total_s"] for run in baselines]
        ratio = statistics.median(base) / statistics.median(command)
        print(f"(c) baseline, in-process:      {_spread(base)}   (c)/(a) = {ratio:.1f}x")
    print(f"load average after: {os.getloadavg()}")
    if not baselines:
        return
    base_summary = {key: statistics.median(run[key] for run in baselines) for key in keys}
    last, baseline = ours[-1], baselines[-1]
    a, b, outcome = baseline["battles"]
    same_read = (
        tuple(baseline["models"]) == tuple(last["models"])
        and np.array_equal(a, last["battles"][0])
        and np.array_equal(b, last["battles"][1])
        and np.array_equal(outcome, last["battles"][2])
    )
    print(f"read agreement: battles_read == json.loads per line: {same_read}")
    ci_gap = max(
        np.abs(last["lower"] - baseline["lower"]).max(), np.abs(last["upper"] - baseline["upper"]).max()
    )
    print(
        f"point fit: max |ours - baseline| {np.abs(last['ratings'] - baseline['ratings']).max():.1e} points; "
        f"intervals (different random resamples): max |diff| {ci_gap:.1e} points, "
        f"same ranks: {bool((last['rank'] == baseline['rank']).all())}"
    )
    print(f"accuracy on the same resamples: {json.dumps(accuracy_check(args.path))}")
    ratios = {key: base_summary[key] / summary[key] for key in keys}
    print(
        "in-process speed-up (median baseline / median ours): "
        + ", ".join(f"{k[:-2]} {v:.1f}x" for k, v in ratios.items())
    )


if __name__ == "__main__":
    main()
