"""Readers: closed-loop clients reading the pages and the public API as fast as they are answered.

Each reader is one person (its own keep-alive connection, cookie jar and address; bench/load/http1.py)
and sends its next request when the last one answered, going round `/`, `/leaderboard/`,
`/api/v1/leaderboard` and `/api/v1/models` (from a random start). Before it, the board gets a few
hundred votes (through `arena.services.vote_cast`) and a snapshot, so the pages show a real board.
Errors: any status outside 2xx/3xx, and any request that failed or timed out.
Target: 0 errors, at least 600 requests/s, p99 under 1 s (200 readers, 60 s).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from typing import Any

from bench.load.common import (
    StartGate,
    address_new,
    asyncio_run,
    cli,
    latency_summary,
    people_run,
    person_new,
    seed,
)
from bench.stack import StackInfo

PATHS = ("/", "/leaderboard/", "/api/v1/leaderboard", "/api/v1/models")


def board_prepare(target: StackInfo, *, votes: int) -> dict[str, Any]:
    """Votes and a snapshot, unless the board already has rows."""
    import httpx

    with httpx.Client(base_url=target.base_url, trust_env=False, timeout=30) as client:
        response = client.get("/api/v1/leaderboard")
        if response.status_code == 200 and response.json().get("rows"):
            return {"seeded_votes": 0}
    seeded = seed(target, "votes", "--count", str(votes))
    return {"seeded_votes": seeded["votes"], "snapshot": seeded["snapshot"]}


async def _reader(
    target: StackInfo,
    *,
    gate: StartGate,
    latencies: dict[str, list[float]],
    statuses: Counter[str],
) -> None:
    async with person_new(target, address=address_new()) as person:
        order = list(PATHS)
        offset = random.randrange(len(order))
        deadline = await gate.ready()
        i = offset
        while (now := time.perf_counter()) < deadline:
            path = order[i % len(order)]
            i += 1
            try:
                status = str(
                    (await person.get(path, headers={"Accept": "text/html,application/json"})).status
                )
            except Exception as exc:  # noqa: BLE001 -- any failure is an error of the run
                status = type(exc).__name__
            latencies[path].append(time.perf_counter() - now)
            statuses[status] += 1


async def _measure(target: StackInfo, *, duration: float, readers: int) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {path: [] for path in PATHS}
    statuses: Counter[str] = Counter()
    gate = StartGate(readers)
    tasks = [
        asyncio.create_task(_reader(target, gate=gate, latencies=latencies, statuses=statuses))
        for _ in range(readers)
    ]
    elapsed, resources = await people_run(target, gate=gate, tasks=tasks, duration=duration)
    everything = [value for values in latencies.values() for value in values]
    errors = sum(
        count for status, count in statuses.items() if not (status.isdigit() and 200 <= int(status) < 400)
    )
    return {
        "requests": len(everything),
        "requests_per_s": round(len(everything) / elapsed, 1),
        "errors": errors,
        **latency_summary(everything),
        "statuses": dict(statuses),
        "by_path": {
            path: {"requests": len(values), **latency_summary(values)} for path, values in latencies.items()
        },
        "resources": resources,
    }


def run(
    target: StackInfo, *, duration: float = 60.0, readers: int = 200, votes_before: int = 300
) -> dict[str, Any]:
    prepared = board_prepare(target, votes=votes_before)
    result = asyncio_run(_measure(target, duration=duration, readers=readers))
    return {"settings": {"duration_s": duration, "readers": readers}, **prepared, **result}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--votes-before", type=int, default=300)


if __name__ == "__main__":
    cli(description=__doc__ or "", run=run, add_arguments=add_arguments)
