"""core.edge_cache through the live stack (uvicorn, as in production): anonymous reads answered from
Redis without entering Django, every change seen by the next read, sessions and writes passed on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from arena.models import Model
from core.edge_cache import EdgeCache
from core.versions import data_versions_bump, data_versions_get
from tests.conftest import LiveStack
from tests.factories import model_make

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(live_stack: LiveStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_stack.base_url, timeout=30) as client:
        yield client


@pytest.mark.stack
def test_a_repeated_anonymous_read_is_answered_by_the_edge(web: httpx.Client) -> None:
    for number in range(4):
        model_make(slug=f"edge-model-{number}", display_name=f"Edge VL number {number}")
    first = web.get("/api/v1/models", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and "x-cache" not in first.headers
    assert first.headers["content-encoding"] == "gzip"
    assert "x-read-cache" not in first.headers, "the mark never leaves the server"
    again = web.get("/api/v1/models", headers={"Accept-Encoding": "gzip"})
    assert again.headers["x-cache"] == "hit" and again.content == first.content
    assert again.headers["content-encoding"] == "gzip", "stored as Django sent it, compressed"
    for name in ("x-content-type-options", "x-frame-options", "referrer-policy"):
        assert again.headers.get(name) == first.headers.get(name), name


@pytest.mark.stack
def test_a_model_edit_is_seen_by_the_next_read_and_then_cached_again(web: httpx.Client) -> None:
    model = model_make(slug="edge-model", display_name="Before")
    web.get("/api/v1/models")
    assert web.get("/api/v1/models").headers.get("x-cache") == "hit"
    Model.objects.filter(pk=model.pk).update(display_name="After")  # no signal: nothing bumps
    assert "Before" in web.get("/api/v1/models").text, "an unannounced change waits for READ_CACHE_S"
    model.display_name = "After"
    model.save()
    changed = web.get("/api/v1/models")
    assert "After" in changed.text and "x-cache" not in changed.headers
    assert web.get("/api/v1/models").headers.get("x-cache") == "hit"


def test_a_current_copy_gets_304_from_the_edge(web: httpx.Client) -> None:
    model_make(slug="edge-model")
    web.get("/leaderboard/")
    page = web.get("/leaderboard/")
    assert page.headers.get("x-cache") == "hit"
    etag = web.get("/api/v1/leaderboard").headers["etag"]
    answer = web.get("/api/v1/leaderboard", headers={"If-None-Match": etag})
    assert answer.status_code == 304 and answer.headers.get("x-cache") == "hit" and answer.content == b""


@pytest.mark.stack
def test_variants_are_kept_apart(web: httpx.Client) -> None:
    model_make(slug="edge-model")
    plain = web.get("/api/v1/models", headers={"Accept-Encoding": "identity"})
    web.get("/api/v1/models", headers={"Accept-Encoding": "gzip"})
    assert (
        "content-encoding" not in web.get("/api/v1/models", headers={"Accept-Encoding": "identity"}).headers
    )
    cors = web.get("/api/v1/models", headers={"Origin": "https://elsewhere.example"})
    assert cors.headers["access-control-allow-origin"] == "*" and "x-cache" not in cors.headers
    assert "access-control-allow-origin" not in plain.headers
    other_host = web.get("/api/v1/models", headers={"Host": "evil.example"})
    assert other_host.status_code == 400 and "x-cache" not in other_host.headers


@pytest.mark.stack
def test_a_visitor_in_a_session_shares_the_api_but_not_the_anonymous_pages(web: httpx.Client) -> None:
    model_make(slug="edge-model")
    for path in ("/api/v1/models", "/leaderboard/"):
        web.get(path)
    web.get("/api/v1/session")  # the client now holds a session cookie
    assert "sessionid" in web.cookies
    assert web.get("/api/v1/models").headers.get("x-cache") == "hit", "the same for anyone"
    assert "x-cache" not in web.get("/leaderboard/").headers, "a page may greet a signed-in user"
    assert "x-cache" not in web.get("/leaderboard/").headers, "nor is it learnt from one"


def _scope(path: str = "/board/", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, object]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": headers or [(b"host", b"testserver")],
    }


async def _get(app: EdgeCache, headers: list[tuple[bytes, bytes]] | None = None) -> list[Any]:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(_scope(headers=headers), receive, send)
    return sent


def test_a_crowd_missing_a_new_version_waits_for_one_rendering() -> None:
    renders = []

    async def board(scope: object, receive: object, send: Any) -> None:
        """A stand-in for Django: a slow page marked as showing the "test-board" version."""
        renders.append(1)
        await asyncio.sleep(0.2)
        version = data_versions_get("test-board")
        mark = f"test-board;{version};anyone".encode()
        headers = [(b"content-type", b"text/html"), (b"X-Read-Cache", mark)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": f"board {version}".encode()})

    async def crowd() -> list[list[Any]]:
        app = EdgeCache(board)
        await _get(app)  # the first visit teaches the edge which version the page shows
        data_versions_bump("test-board")
        renders.clear()
        return await asyncio.gather(*(_get(app) for _ in range(50)))

    answers = asyncio.run(crowd())
    assert len(renders) == 1, "one rendering of the new version for fifty visitors"
    bodies = {bytes(sent[-1]["body"]) for sent in answers}
    assert bodies == {f"board {data_versions_get('test-board')}".encode()}
    for sent in answers:
        assert all(name.lower() != b"x-read-cache" for name, _ in sent[0]["headers"])


def test_pages_that_only_revalidated_still_share_one_rendering_of_the_next_version() -> None:
    renders = []

    async def board(scope: Any, receive: object, send: Any) -> None:
        """A stand-in for Django: 304 to a page that shows the current version, else the page."""
        version = data_versions_get("test-board")
        mark = (b"X-Read-Cache", f"test-board;{version};anyone".encode())
        if dict(scope["headers"]).get(b"if-none-match") == f'"{version}"'.encode():
            await send({"type": "http.response.start", "status": 304, "headers": [mark]})
            await send({"type": "http.response.body", "body": b""})
            return
        renders.append(1)
        await asyncio.sleep(0.2)
        await send({"type": "http.response.start", "status": 200, "headers": [mark]})
        await send({"type": "http.response.body", "body": f"board {version}".encode()})

    async def crowd() -> None:
        app = EdgeCache(board)
        shown = data_versions_get("test-board")
        revalidate = [(b"host", b"testserver"), (b"if-none-match", f'"{shown}"'.encode())]
        await _get(app, headers=revalidate)  # a 304: no page kept, but the versions it shows are learnt
        data_versions_bump("test-board")
        await asyncio.gather(*(_get(app, headers=revalidate) for _ in range(50)))

    asyncio.run(crowd())
    assert len(renders) == 1
