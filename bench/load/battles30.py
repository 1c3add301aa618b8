"""Thirty battles at once: 30 people (own session, address, connections) start a battle at the same moment;
for each of the 60 answers, the time from its battle's create request to the first text on the socket.

By default on the paced scripted models (200 tokens/s, ~1 s an answer; the instant ones paused meanwhile),
so that all 60 answers stream at the same time and every one needs a worker thread of its own.
Target: every answer's first chunk within 2 s (max and p50 reported).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench.load.battle_client import BattleSeen, battle_run
from bench.load.common import (
    Meter,
    StartGate,
    address_new,
    asyncio_run,
    cli,
    client_new,
    latency_summary,
    models_activate,
    session_start,
)
from bench.load.streaming import ttft_breakdown
from bench.stack import StackInfo

PROMPT = "Both of you, please answer at the same time as everybody else."


async def _person(target: StackInfo, *, gate: StartGate, seen: list[BattleSeen], failures: list[str]) -> None:
    async with client_new(target, address=address_new(), max_connections=2) as client:
        await session_start(client)
        await gate.ready()
        try:
            seen.append(await battle_run(target, client, prompt=PROMPT, timeout=30))
        except Exception as exc:  # noqa: BLE001 -- a battle that did not run is a failure of the run
            failures.append(f"{type(exc).__name__}: {str(exc)[:100]}")


async def _measure(target: StackInfo, *, battles: int) -> dict[str, Any]:
    gate = StartGate(battles)
    seen: list[BattleSeen] = []
    failures: list[str] = []
    tasks = [
        asyncio.create_task(_person(target, gate=gate, seen=seen, failures=failures)) for _ in range(battles)
    ]
    await gate.all_ready(tasks)
    gate.start(0)
    await asyncio.gather(*tasks)
    first: list[float] = []
    missing = 0
    for battle in seen:
        for side in battle.sides.values():
            if side.first_text_at is None:
                missing += 1
            else:
                first.append(side.first_text_at - battle.sent_at)
    done = [
        side.finished_at - battle.sent_at
        for battle in seen
        for side in battle.sides.values()
        if side.finished_at is not None
    ]
    samples = [
        {
            "battle": battle.battle_id,
            "side": name,
            "sent_epoch": battle.sent_epoch,
            "ttft_s": None if side.first_text_at is None else side.first_text_at - battle.sent_at,
            "created_after_s": battle.created_at - battle.sent_at,
            "socket_open_after_s": None
            if battle.socket_open_at is None
            else battle.socket_open_at - battle.sent_at,
        }
        for battle in seen
        for name, side in battle.sides.items()
    ]
    return {
        "first_chunk_breakdown": ttft_breakdown(target, samples),
        "answers": 2 * battles,
        "answers_without_text": missing + 2 * len(failures),
        "answers_failed": sum(
            1 for battle in seen for side in battle.sides.values() if side.status != "done"
        ),
        "battles_failed": failures,
        **latency_summary(first, prefix="first_chunk_"),
        **latency_summary([battle.created_at - battle.sent_at for battle in seen], prefix="create_"),
        **latency_summary(done, prefix="done_"),
    }


def run(target: StackInfo, *, battles: int = 30, models: str = "streaming") -> dict[str, Any]:
    if models != "instant":
        models_activate(target, models)
    meter = Meter(target)
    meter.start()
    try:
        started = time.perf_counter()
        result = asyncio_run(_measure(target, battles=battles))
        result["wall_s"] = round(time.perf_counter() - started, 2)
    finally:
        resources = meter.stop()
        if models != "instant":
            models_activate(target, "instant")
    return {"settings": {"battles": battles, "models": models}, **result, "resources": resources}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--battles", type=int, default=30)
    parser.add_argument("--models", choices=("streaming", "instant"), default="streaming")


if __name__ == "__main__":
    cli(description=__doc__ or "", run=run, add_arguments=add_arguments)
