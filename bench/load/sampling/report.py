"""Summarise the folded stacks the sampler wrote: where each kind of process spent its threads' time.

    .venv/bin/python -m bench.load.sampling.report .data/bench/samples [--top 25] [--kind web]

By default the CPU profile (each stack weighted by the CPU time its thread used); with --wall, where the
threads were, idle ones (an event loop in epoll, a pool thread waiting for work) left out, so what is left
is running or blocked on something (a lock, the database, Redis). Percentages are of that kind of
process's total; "inclusive" counts a function wherever it is on the stack.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# Leaves of threads doing nothing: the event loop in epoll (uvloop shows its caller), an executor's
# idle worker, the sampler and the channel layer's own loop thread.
IDLE_LEAVES = (
    "py:asyncio/runners.py:run",
    "py:asyncio/base_events.py:run_forever",
    "py:asyncio/base_events.py:run_until_complete",
    "py:selectors.py:select",
    "py:concurrent/futures/thread.py:_worker",
    "uvicorn/server.py:serve",
    "py:multiprocessing/connection.py:_recv",
)
IDLE_ANYWHERE = (
    "bench-sampler",
    "sitecustomize.py:_sample",
    "psycopg_pool/sched.py:run",
    "psycopg_pool/pool.py:worker",
)
PROJECT = ("arena/", "core/", "leaderboard/", "workers/", "config/")


def _load(directory: Path, kind: str | None, what: str) -> dict[str, Counter[str]]:
    kinds: dict[str, Counter[str]] = {}
    for path in sorted(directory.glob(f"*.{what}.folded")):
        name = path.name.split("-", 1)[0]
        if kind and name != kind:
            continue
        counts = kinds.setdefault(name, Counter())
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            counts[stack] += int(count)
    return kinds


def _busy(stack: str) -> bool:
    frames = stack.split(";")
    if any(marker in stack for marker in IDLE_ANYWHERE):
        return False
    return not frames[-1].endswith(IDLE_LEAVES)


def report(
    directory: Path,
    *,
    top: int = 25,
    kind: str | None = None,
    wall: bool = False,
    baseline: Path | None = None,
) -> str:
    out = []
    what = "wall" if wall else "cpu"
    before = _load(baseline, kind, what) if baseline else {}
    for name, counts in _load(directory, kind, what).items():
        counts = counts - before.get(name, Counter())
        busy = {stack: n for stack, n in counts.items() if wall is False or _busy(stack)}
        total_busy = sum(busy.values()) or 1
        total = sum(counts.values()) or 1
        inclusive: Counter[str] = Counter()
        leaves: Counter[str] = Counter()
        project_leaf: Counter[str] = Counter()
        for stack, n in busy.items():
            frames = stack.split(";")[1:]
            for frame in set(frames):
                inclusive[frame] += n
            leaves[frames[-1] if frames else "?"] += n
            own = [frame for frame in frames if frame.startswith(PROJECT)]
            project_leaf[
                f"{own[-1] if own else '(no project frame)'}  →  {frames[-1] if frames else '?'}"
            ] += n
        if wall:
            out.append(
                f"== {name}: {total} thread samples, {total_busy} not idle ({100 * total_busy / total:.0f} %)"
            )
        else:
            out.append(f"== {name}: {total / 1e6:.1f} CPU seconds sampled")
        out.append("-- inclusive, project code:")
        for frame, n in [(f, n) for f, n in inclusive.most_common() if f.startswith(PROJECT)][:top]:
            out.append(f"  {100 * n / total_busy:5.1f} %  {frame}")
        out.append("-- innermost project frame → leaf:")
        for frame, n in project_leaf.most_common(top):
            out.append(f"  {100 * n / total_busy:5.1f} %  {frame}")
        out.append("-- leaves:")
        for frame, n in leaves.most_common(top):
            out.append(f"  {100 * n / total_busy:5.1f} %  {frame}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--kind", default=None, help="web, worker, beat")
    parser.add_argument("--wall", action="store_true", help="where threads are (waiting included), not CPU")
    parser.add_argument(
        "--baseline", type=Path, default=None, help="a copy of DIR taken before: only what came since"
    )
    args = parser.parse_args()
    print(report(args.directory, top=args.top, kind=args.kind, wall=args.wall, baseline=args.baseline))


if __name__ == "__main__":
    main()
