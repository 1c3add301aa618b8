"""A battle as the battle page runs it: POST /api/v1/battles, then the battle's WebSocket until both answers
of the first turn have finished (README "REST API": sync, delta, done, error), then the vote."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import connect

from bench.load.common import USER_AGENT, cookie_header
from bench.stack import StackInfo

_WORD = re.compile(r"\S+")
FINISHED = ("done", "failed")


def tokens_count(text: str) -> int:
    """Tokens of the scripted adapter's default chunking: words."""
    return len(_WORD.findall(text))


@dataclass
class SideSeen:
    """One answer as the socket showed it; times are `time.perf_counter()` seconds."""

    status: str = "queued"
    text: str = ""
    error: str | None = None
    first_text_at: float | None = None
    first_tokens: int = 0  # tokens in the first message that carried text
    last_text_at: float | None = None
    finished_at: float | None = None
    messages: int = 0

    def text_add(self, *, text: str, offset: int, now: float) -> None:
        # README: keep the part of the delta past the text already there.
        added = text[len(self.text) - offset :] if offset <= len(self.text) else text
        if not added:
            return
        self.text += added
        if self.first_text_at is None:
            self.first_text_at = now
            self.first_tokens = tokens_count(self.text)
        self.last_text_at = now

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass
class BattleSeen:
    battle_id: str
    sent_at: float  # the create request was sent
    created_at: float  # its 201 arrived
    sent_epoch: float = 0.0  # sent_at as time.time(), to set beside the times the server stores
    sides: dict[str, SideSeen] = field(default_factory=lambda: {"a": SideSeen(), "b": SideSeen()})
    socket_open_at: float | None = None

    @property
    def failed(self) -> bool:
        return any(side.status != "done" for side in self.sides.values())


async def battle_create(client: httpx.AsyncClient, *, prompt: str) -> tuple[str, float, float]:
    """Start a battle (multipart, as the page's form sends it); its id, and when it was sent and answered."""
    sent = time.perf_counter()
    response = await client.post("/api/v1/battles", files={"prompt": (None, prompt)})
    answered = time.perf_counter()
    if response.status_code != 201:
        raise BattleError(f"create answered {response.status_code}: {response.text[:200]}")
    return str(response.json()["id"]), sent, answered


class BattleError(Exception):
    pass


def _handle(seen: BattleSeen, message: dict[str, Any], now: float) -> None:
    if message.get("turn", 0) != 0 or message.get("side") not in seen.sides:
        return
    side = seen.sides[message["side"]]
    side.messages += 1
    kind = message.get("type")
    if kind == "sync":
        side.text_add(text=message.get("text") or "", offset=int(message.get("offset") or 0), now=now)
        side.status = message.get("status") or side.status
        side.error = message.get("error")
    elif kind == "delta":
        side.status = "streaming"
        side.text_add(text=message.get("text") or "", offset=int(message.get("offset") or 0), now=now)
    elif kind == "done":
        side.status = "done"
    elif kind == "error":
        side.status, side.error = "failed", message.get("message")
    if side.finished and side.finished_at is None:
        side.finished_at = now


async def battle_watch(
    target: StackInfo, client: httpx.AsyncClient, seen: BattleSeen, *, timeout: float = 60.0
) -> BattleSeen:
    """Follow the battle's socket until both answers have finished (or `timeout`)."""
    deadline = time.perf_counter() + timeout
    headers = {
        "Cookie": cookie_header(client),
        "User-Agent": USER_AGENT,
        "X-Forwarded-For": client.headers["X-Forwarded-For"],
    }
    async with connect(
        f"{target.ws_url}/ws/battles/{seen.battle_id}/",
        origin=target.base_url,  # type: ignore[arg-type]
        additional_headers=headers,
        proxy=None,
        open_timeout=timeout,
        max_size=None,
    ) as socket:
        seen.socket_open_at = time.perf_counter()
        while not all(side.finished for side in seen.sides.values()):
            remaining = deadline - time.perf_counter()
            try:
                if remaining <= 0:
                    raise TimeoutError
                raw = await asyncio.wait_for(socket.recv(), remaining)
            except TimeoutError:
                raise BattleError(await _silence_explained(client, seen, timeout)) from None
            _handle(seen, json.loads(raw), time.perf_counter())
    return seen


async def _silence_explained(client: httpx.AsyncClient, seen: BattleSeen, timeout: float) -> str:
    """Why the socket did not finish: the answers as the API has them (a lost message, or a slow answer)."""
    socket_says = ", ".join(f"{name}={side.status}" for name, side in seen.sides.items())
    try:
        response = await client.get(f"/api/v1/battles/{seen.battle_id}")
        stored = response.json()["turns"][0]["responses"]
        api_says = ", ".join(f"{name}={stored[name]['status']}" for name in sorted(stored))
    except Exception as exc:  # noqa: BLE001 -- the explanation is best effort
        api_says = f"unknown ({type(exc).__name__})"
    lost = all(stored[name]["status"] in FINISHED for name in stored) if "stored" in locals() else False
    kind = "socket missed the end" if lost else "answers unfinished"
    return f"{kind} after {timeout:.0f} s (socket: {socket_says}; API: {api_says})"


async def battle_run(
    target: StackInfo, client: httpx.AsyncClient, *, prompt: str, timeout: float = 60.0
) -> BattleSeen:
    epoch_offset = time.time() - time.perf_counter()
    battle_id, sent, created = await battle_create(client, prompt=prompt)
    seen = BattleSeen(battle_id=battle_id, sent_at=sent, created_at=created, sent_epoch=sent + epoch_offset)
    return await battle_watch(target, client, seen, timeout=timeout)


async def vote(client: httpx.AsyncClient, *, battle_id: str, winner: str) -> httpx.Response:
    return await client.post(f"/api/v1/battles/{battle_id}/vote", json={"winner": winner})
