"""The web process's /playground/ pass-through, when the playground's process is not there."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from django.conf import settings

from portal.playground.proxy import TOO_LARGE, UNAVAILABLE, PlaygroundProxy


def _ask(proxy: PlaygroundProxy, method: str, content: bytes = b"") -> httpx.Response:
    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=proxy)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, "/playground/gradio_api/upload", content=content)

    return asyncio.run(ask())


def test_playground_down_answers_503_with_a_sentence(tmp_path: Path):
    proxy = PlaygroundProxy(upstream=f"unix:{tmp_path / 'nobody.sock'}")

    answer = _ask(proxy, "GET")

    assert answer.status_code == 503
    assert answer.json() == {"detail": UNAVAILABLE}


def test_upload_past_the_limit_answers_413_without_reaching_the_playground(tmp_path: Path):
    proxy = PlaygroundProxy(upstream=f"unix:{tmp_path / 'nobody.sock'}")

    answer = _ask(proxy, "POST", content=b"x" * (settings.ARENA_MAX_UPLOAD_BYTES + 2 * 1024 * 1024))

    assert answer.status_code == 413
    assert answer.json() == {"detail": TOO_LARGE}
