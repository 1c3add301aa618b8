"""Vote ingestion: simulated voters vote on battles they started, whose answers have finished, as fast as
the server answers.

Beforehand, bench/seed.py creates N voters, each with a real session (created through the configured
session engine, holding its voter id under the key `arena.identity` reads) and enough finished battles
it started (one turn, both answers `done`), in bulk. Each voter then is one person: its session cookie,
its own address (X-Forwarded-For, also the address its battles were started from) and connection; it
fetches its CSRF token from GET /api/v1/session as the battle page does, and votes battle after battle
through POST /api/v1/battles/<id>/vote, the next vote when the last one answered. Afterwards the votes
are counted in PostgreSQL: every acknowledged vote (2xx) must be stored (lost = acknowledged and not
stored).
Target: at least 500 votes/s, p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import time
from collections import Counter
from typing import Any

from bench.load.common import (
    StartGate,
    asyncio_run,
    cli,
    latency_summary,
    lines_write,
    people_run,
    person_new,
    person_session,
    scratch_file,
    seed,
)
from bench.stack import StackInfo

WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
WINNER_WEIGHTS = (45, 40, 10, 5)
# What the moderation issue will add (README): a minimum delay between a battle's answers finishing and
# its vote, and per-voter / per-address rate limits. The seeded battles finished before the run starts,
# so a minimum delay after the answers is already past for most; a per-voter limit is not. When it
# exists, each voter here must respect it (sleep until its next vote is allowed) rather than be exempted:
# the benchmark then needs more voters for the same rate, which is what the site would see.
MIN_VOTE_INTERVAL_S = 0.0


def voters_prepare(target: StackInfo, *, voters: int, battles_per_voter: int) -> list[dict[str, Any]]:
    from bench.load.common import address_new

    addresses = lines_write(
        scratch_file(target, "voter-addresses.txt"), (address_new() for _ in range(voters))
    )
    out = scratch_file(target, "voters.json")
    seed(
        target,
        "voters",
        "--count",
        str(voters),
        "--battles-per-voter",
        str(battles_per_voter),
        "--addresses",
        str(addresses),
        "--out",
        str(out),
        "--seed",
        str(random.randrange(1 << 30)),
    )
    made: list[dict[str, Any]] = json.loads(out.read_text())
    return made


def votes_lost(target: StackInfo, *, acknowledged: list[str], name: str) -> dict[str, int]:
    """Of the acknowledged votes' battles, how many have no vote stored."""
    listed = lines_write(scratch_file(target, f"{name}-acknowledged.txt"), acknowledged)
    counted = seed(target, "count", "--battles", str(listed))
    return {
        "acknowledged": len(acknowledged),
        "stored": counted["stored"],
        "lost": len(acknowledged) - counted["stored"],
    }


async def _voter(
    target: StackInfo,
    voter: dict[str, Any],
    *,
    gate: StartGate,
    acknowledged: list[str],
    latencies: list[float],
    statuses: Counter[str],
    exhausted: list[int],
) -> None:
    async with person_new(target, address=voter["address"]) as person:
        person.cookies["sessionid"] = voter["session_key"]
        await person_session(person)
        deadline = await gate.ready()
        battles = list(voter["battles"])
        rng = random.Random()
        while (now := time.perf_counter()) < deadline:
            if not battles:
                exhausted[0] += 1
                return
            battle_id = battles.pop()
            try:
                reply = await person.post_json(
                    f"/api/v1/battles/{battle_id}/vote", {"winner": rng.choices(WINNERS, WINNER_WEIGHTS)[0]}
                )
                status = str(reply.status)
            except Exception as exc:  # noqa: BLE001 -- a failure or timeout is an error of the run
                status = type(exc).__name__
            latencies.append(time.perf_counter() - now)
            statuses[status] += 1
            if status.startswith("2"):
                acknowledged.append(battle_id)
            if MIN_VOTE_INTERVAL_S:
                await asyncio.sleep(MIN_VOTE_INTERVAL_S)


async def _measure(target: StackInfo, *, voters: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    gate = StartGate(len(voters))
    acknowledged: list[str] = []
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    exhausted = [0]
    tasks = [
        asyncio.create_task(
            _voter(
                target,
                voter,
                gate=gate,
                acknowledged=acknowledged,
                latencies=latencies,
                statuses=statuses,
                exhausted=exhausted,
            )
        )
        for voter in voters
    ]
    elapsed, resources = await people_run(target, gate=gate, tasks=tasks, duration=duration)
    errors = sum(count for status, count in statuses.items() if not status.startswith("2"))
    return {
        "votes_acknowledged": len(acknowledged),
        "votes_per_s": round(len(acknowledged) / elapsed, 1),
        "errors": errors,
        **latency_summary(latencies),
        "statuses": dict(statuses),
        "voters_out_of_battles": exhausted[0],
        "acknowledged_ids": acknowledged,
        "resources": resources,
    }


def run(
    target: StackInfo,
    *,
    duration: float = 60.0,
    voters: int = 32,
    expected_votes_per_s: float = 800.0,
) -> dict[str, Any]:
    battles_per_voter = math.ceil(expected_votes_per_s * duration * 1.2 / voters)
    seeded_at = time.perf_counter()
    made = voters_prepare(target, voters=voters, battles_per_voter=battles_per_voter)
    seeding_s = time.perf_counter() - seeded_at
    result = asyncio_run(_measure(target, voters=made, duration=duration))
    acknowledged = result.pop("acknowledged_ids")
    return {
        "settings": {"duration_s": duration, "voters": voters, "battles_seeded": voters * battles_per_voter},
        "seeding_s": round(seeding_s, 1),
        **result,
        **votes_lost(target, acknowledged=acknowledged, name="votes"),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--voters", type=int, default=32)
    parser.add_argument(
        "--expected-votes-per-s",
        type=float,
        default=800.0,
        help="sizes the seeded battles (1.2 × this × duration); a voter that runs out stops",
    )


if __name__ == "__main__":
    cli(description=__doc__ or "", run=run, add_arguments=add_arguments)
