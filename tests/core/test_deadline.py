"""The request deadline around a stand-in ASGI app (tests/core/test_database_stall.py runs it for real
against a paused PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from core.deadline import RequestDeadline
from core.middleware import DATABASE_UNAVAILABLE_DETAIL


def _scope(path: str) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "headers": []}


async def _call(
    app: Any, path: str, *, body_parts: list[tuple[float, bytes]] | None = None
) -> list[dict[str, Any]]:
    parts = list(body_parts or [(0.0, b"")])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if parts:
            delay, chunk = parts.pop(0)
            await asyncio.sleep(delay)
            return {"type": "http.request", "body": chunk, "more_body": bool(parts)}
        await asyncio.sleep(3600)  # no disconnect while the test runs
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_scope(path), receive, send)
    return sent


def _answering_after(seconds: float, *, started_first: bool = False) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        if started_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(seconds)
        if not started_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"late but whole"})

    return app


def test_an_answer_within_the_deadline_passes_untouched():
    sent = asyncio.run(_call(RequestDeadline(_answering_after(0.01), seconds=1), "/api/v1/models"))
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [200]


@pytest.mark.parametrize("path", ["/api/v1/leaderboard", "/leaderboard/"])
def test_no_answer_by_the_deadline_is_a_503_with_a_sentence(path: str):
    started = time.monotonic()
    sent = asyncio.run(_call(RequestDeadline(_answering_after(30), seconds=0.3), path))
    assert time.monotonic() - started < 2
    assert sent[0]["status"] == 503
    body = sent[1]["body"]
    if path.startswith("/api/"):
        assert json.loads(body) == {"detail": DATABASE_UNAVAILABLE_DETAIL}
    else:
        assert b"too busy" in body
    assert len(sent) == 2, "the abandoned view's late answer is dropped"


def test_a_response_already_started_runs_on_past_the_deadline():
    app = RequestDeadline(_answering_after(0.5, started_first=True), seconds=0.1)
    sent = asyncio.run(_call(app, "/api/v1/battles/export"))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["body"] == b"late but whole"


def test_a_slow_upload_is_the_clients_time_not_the_servers():
    app = RequestDeadline(_answering_after(0.05), seconds=0.3)
    sent = asyncio.run(_call(app, "/api/v1/battles", body_parts=[(0.0, b"a"), (0.4, b"b"), (0.4, b"c")]))
    assert sent[0]["status"] == 200
