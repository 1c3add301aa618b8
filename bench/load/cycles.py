"""Full battle cycles: create a battle, receive both answers over its socket until they are done, vote.

C simulated people (default 30: 60 answers at once, what the worker's thread pool is sized for), each with
its own session, CSRF token, address and connections, run cycles back to back on the instant scripted
models: POST /api/v1/battles (a text prompt), /ws/battles/<id>/ until both answers are done, then
POST /api/v1/battles/<id>/vote. A cycle counts when its vote is acknowledged (2xx); afterwards the
acknowledged votes are counted in PostgreSQL (lost = acknowledged and not stored).
Target: at least 50 cycles/s.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from typing import Any

from bench.load.battle_client import BattleError, battle_run, vote
from bench.load.common import (
    StartGate,
    address_new,
    asyncio_run,
    cli,
    client_new,
    latency_summary,
    people_run,
    session_start,
)
from bench.load.votes import MIN_VOTE_INTERVAL_S, WINNER_WEIGHTS, WINNERS, votes_lost
from bench.seed import PROMPTS
from bench.stack import StackInfo


class _Tally:
    def __init__(self) -> None:
        self.cycle: list[float] = []
        self.create: list[float] = []
        self.answers: list[float] = []  # from the create's 201 to both answers done
        self.vote: list[float] = []
        self.acknowledged: list[str] = []
        self.failures: Counter[str] = Counter()


async def _person(target: StackInfo, *, gate: StartGate, tally: _Tally) -> None:
    import asyncio

    rng = random.Random()
    async with client_new(target, address=address_new(), max_connections=2) as client:
        await session_start(client)
        deadline = await gate.ready()
        while (started := time.perf_counter()) < deadline:
            try:
                seen = await battle_run(target, client, prompt=rng.choice(PROMPTS), timeout=15)
                if seen.failed:
                    tally.failures["answer failed"] += 1
                    continue
                answers_done = max(side.finished_at or 0.0 for side in seen.sides.values())
                # MODERATION: once a minimum delay between the answers finishing and the vote exists
                # (the moderation issue), a person here must wait it out; see bench/load/votes.py.
                if MIN_VOTE_INTERVAL_S:
                    await asyncio.sleep(MIN_VOTE_INTERVAL_S)
                vote_sent = time.perf_counter()
                response = await vote(
                    client, battle_id=seen.battle_id, winner=rng.choices(WINNERS, WINNER_WEIGHTS)[0]
                )
                finished = time.perf_counter()
            except (BattleError, OSError, TimeoutError) as exc:
                tally.failures[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
                continue
            except Exception as exc:  # noqa: BLE001 -- anything else that broke a cycle is a failure of the run
                tally.failures[type(exc).__name__] += 1
                continue
            if not 200 <= response.status_code < 300:
                tally.failures[f"vote {response.status_code}"] += 1
                continue
            tally.acknowledged.append(seen.battle_id)
            tally.cycle.append(finished - started)
            tally.create.append(seen.created_at - seen.sent_at)
            tally.answers.append(answers_done - seen.created_at)
            tally.vote.append(finished - vote_sent)


async def _measure(target: StackInfo, *, duration: float, people: int) -> tuple[dict[str, Any], list[str]]:
    import asyncio

    tally = _Tally()
    gate = StartGate(people)
    tasks = [asyncio.create_task(_person(target, gate=gate, tally=tally)) for _ in range(people)]
    elapsed, resources = await people_run(target, gate=gate, tasks=tasks, duration=duration)
    result = {
        "cycles": len(tally.cycle),
        "cycles_per_s": round(len(tally.cycle) / elapsed, 1),
        "failures": sum(tally.failures.values()),
        "failure_kinds": dict(tally.failures),
        **latency_summary(tally.cycle),
        "phases": {
            "create": latency_summary(tally.create),
            "answers_after_create": latency_summary(tally.answers),
            "vote": latency_summary(tally.vote),
        },
        "resources": resources,
    }
    return result, tally.acknowledged


def run(target: StackInfo, *, duration: float = 60.0, people: int = 30) -> dict[str, Any]:
    result, acknowledged = asyncio_run(_measure(target, duration=duration, people=people))
    return {
        "settings": {"duration_s": duration, "people": people},
        **result,
        **votes_lost(target, acknowledged=acknowledged, name="cycles"),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--people", type=int, default=30)


if __name__ == "__main__":
    cli(description=__doc__ or "", run=run, add_arguments=add_arguments)
