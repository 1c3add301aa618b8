"""Streaming overhead: what the platform adds between a model's tokens and the voter's screen.

The paced scripted models (200 tokens/s, 200 one-word tokens, no first-token delay) answer battles one
at a time, with nothing else running; the client measures each answer as a browser would: time to
first token from sending POST /api/v1/battles until the socket shows the answer's first text (sync or
delta), and tokens/s over the rest of the answer ((tokens - those in the first message) / (last text -
first text)). The same adapter is then called in this process (workers.adapters.scripted, its
`stream()` iterated directly) and measured the same way. While it runs, the paced models are the active
ones and the instant ones paused (bench/seed.py activate); the instant ones are active again afterwards.
Target: time to first token at most 50 ms more than in process; throughput ratio at least 0.9.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from typing import Any

from bench.load.battle_client import BattleError, BattleSeen, battle_run, tokens_count
from bench.load.common import (
    Meter,
    address_new,
    asyncio_run,
    cli,
    client_new,
    lines_write,
    models_activate,
    ms,
    scratch_file,
    seed,
    session_start,
)
from bench.stack import StackInfo

PROMPT = "Tell me, word by word, how the arena streams an answer."


def _rate(tokens: int, first_tokens: int, first: float | None, last: float | None) -> float | None:
    if first is None or last is None or last <= first:
        return None
    return (tokens - first_tokens) / (last - first)


def in_process(
    config: dict[str, Any], *, runs: int, max_new_tokens: int = 256
) -> list[dict[str, float | None]]:
    """The adapter alone: `stream()` iterated here, timed from the call."""
    from workers.adapters.base import GenerationParams, GenerationStats, Message, TextPart
    from workers.adapters.scripted import ScriptedAdapter
    from workers.adapters.settings import settings_parse

    settings = settings_parse(kind="scripted", config=config)
    assert not isinstance(settings, str)
    adapter = ScriptedAdapter(settings=settings)  # type: ignore[arg-type]
    conversation = [Message(role="user", content=(TextPart(PROMPT),))]
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        first = last = None
        tokens = 0
        for _chunk in adapter.stream(
            conversation, GenerationParams(max_new_tokens=max_new_tokens), stats=GenerationStats()
        ):
            last = time.perf_counter()
            first = first or last
            tokens += 1
        samples.append(
            {
                "ttft_s": None if first is None else first - started,
                "tokens": tokens,
                "tokens_per_s": _rate(tokens, 1, first, last),
                "total_s": None if last is None else last - started,
            }
        )
    return samples


def _side_samples(seen: BattleSeen) -> list[dict[str, Any]]:
    samples = []
    for name, side in seen.sides.items():
        tokens = tokens_count(side.text)
        samples.append(
            {
                "status": side.status,
                "ttft_s": None if side.first_text_at is None else side.first_text_at - seen.sent_at,
                "tokens": tokens,
                "first_message_tokens": side.first_tokens,
                "tokens_per_s": _rate(tokens, side.first_tokens, side.first_text_at, side.last_text_at),
                "total_s": None if side.last_text_at is None else side.last_text_at - seen.sent_at,
                "messages": side.messages,
                "battle": seen.battle_id,
                "side": name,
                "sent_epoch": seen.sent_epoch,
                "created_after_s": seen.created_at - seen.sent_at,
                "socket_open_after_s": None
                if seen.socket_open_at is None
                else seen.socket_open_at - seen.sent_at,
            }
        )
    return samples


async def _over_socket(target: StackInfo, *, battles: int) -> tuple[list[dict[str, Any]], list[str]]:
    samples: list[dict[str, Any]] = []
    failures: list[str] = []
    async with client_new(target, address=address_new(), max_connections=2) as client:
        await session_start(client)
        with contextlib.suppress(BattleError):  # warm: connections, the adapters, the pool
            await battle_run(target, client, prompt=PROMPT, timeout=15)
        for _ in range(battles):
            try:
                seen = await battle_run(target, client, prompt=PROMPT, timeout=15)
            except BattleError as exc:  # counted, and the figures come from the battles that ended
                failures.append(str(exc)[:200])
                continue
            samples += _side_samples(seen)
    return samples, failures


def ttft_breakdown(target: StackInfo, samples: list[dict[str, Any]]) -> dict[str, float | None]:
    """Where the time to first token goes, from the times the server stored (same machine, same clock):
    the create request until the answer was queued (stored), queued until a worker started it, started
    until its first chunk, and that chunk until the socket showed it."""
    listed = lines_write(
        scratch_file(target, "streaming-battles.txt"), sorted({s["battle"] for s in samples})
    )
    timeline = seed(target, "timeline", "--battles", str(listed))["timeline"]
    parts: dict[str, list[float]] = {
        "create_answered": [],
        "request_to_queued": [],
        "queued_to_started": [],
        "started_to_first_chunk": [],
        "first_chunk_to_socket": [],
        "socket_opened": [],
    }
    for sample in samples:
        times = timeline.get(sample["battle"], {}).get(sample["side"])
        if not times or None in times.values() or sample["ttft_s"] is None:
            continue
        sent = sample["sent_epoch"]
        parts["create_answered"].append(sample["created_after_s"])
        parts["request_to_queued"].append(times["queued"] - sent)
        parts["queued_to_started"].append(times["started"] - times["queued"])
        parts["started_to_first_chunk"].append(times["first_chunk"] - times["started"])
        parts["first_chunk_to_socket"].append(sent + sample["ttft_s"] - times["first_chunk"])
        if sample["socket_open_after_s"] is not None:
            parts["socket_opened"].append(sample["socket_open_after_s"])
    return {f"{name}_p50_ms": ms(_median(values)) for name, values in parts.items()}


def _median(values: list[Any]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def run(target: StackInfo, *, battles: int = 5) -> dict[str, Any]:
    config = target.model_config(target.slugs("streaming")[0])
    models_activate(target, "streaming")
    meter = Meter(target)
    meter.start()
    try:
        socket_samples, failures = asyncio_run(_over_socket(target, battles=battles))
    finally:
        resources = meter.stop()
        models_activate(target, "instant")
    local = in_process(config, runs=max(2, len(socket_samples)))
    ttft_ws, ttft_local = (
        _median([s["ttft_s"] for s in socket_samples]),
        _median([s["ttft_s"] for s in local]),
    )
    rate_ws, rate_local = (
        _median([s["tokens_per_s"] for s in socket_samples]),
        _median([s["tokens_per_s"] for s in local]),
    )
    ttft_all = [s["ttft_s"] for s in socket_samples if s["ttft_s"] is not None]
    return {
        "settings": {
            "battles": battles,
            "answers": len(socket_samples),
            "tokens_per_s": config.get("tokens_per_s"),
        },
        "answers_failed": sum(1 for s in socket_samples if s["status"] != "done"),
        "battles_failed": failures,
        "ttft_socket_p50_ms": ms(ttft_ws),
        "ttft_socket_max_ms": ms(max(ttft_all) if ttft_all else None),
        "ttft_in_process_p50_ms": ms(ttft_local),
        "ttft_overhead_ms": ms(None if ttft_ws is None or ttft_local is None else ttft_ws - ttft_local),
        "tokens_per_s_socket": None if rate_ws is None else round(rate_ws, 1),
        "tokens_per_s_in_process": None if rate_local is None else round(rate_local, 1),
        "throughput_ratio": None if not (rate_ws and rate_local) else round(rate_ws / rate_local, 3),
        "total_socket_p50_ms": ms(_median([s["total_s"] for s in socket_samples])),
        "total_in_process_p50_ms": ms(_median([s["total_s"] for s in local])),
        "first_message_tokens_p50": _median([s["first_message_tokens"] for s in socket_samples]),
        "messages_per_answer_p50": _median([s["messages"] for s in socket_samples]),
        "ttft_breakdown": ttft_breakdown(target, socket_samples),
        "resources": resources,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--battles", type=int, default=5, help="battles, one after the other (2 answers each)"
    )


if __name__ == "__main__":
    cli(description=__doc__ or "", run=run, add_arguments=add_arguments)
