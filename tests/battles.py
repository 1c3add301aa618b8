"""A voter's side of a battle in the process tests: a session client, its socket, scripted models."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import httpx
from websockets.sync.client import connect
from websockets.typing import Origin

from arena.services import model_register

WORDS = " ".join(f"word{i}" for i in range(400))


def scripted_models_register(*slugs: str, tokens_per_s: float = 5) -> None:
    for slug in slugs:
        model_register(
            slug=slug,
            display_name=slug,
            adapter_kind="scripted",
            adapter_config={"text": WORDS, "tokens_per_s": tokens_per_s},
        )


def session_client(base_url: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=30)
    client.headers["X-CSRFToken"] = client.get("/api/v1/session").json()["csrf_token"]
    client.headers["Origin"] = base_url
    return client


def session_voter_id(client: httpx.Client) -> str:
    """The voter id the site gave `client`'s session (read from the session store, as the site does)."""
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore(
        session_key=client.cookies[settings.SESSION_COOKIE_NAME]
    )
    return str(store["arena_voter_id"])


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://")


def session_cookies(client: httpx.Client) -> dict[str, str]:
    """The Cookie header of `client`'s session, for its sockets: before the vote a battle's stream is
    its creator's session's alone (arena.visibility)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in client.cookies.items())}


class Events:
    """A battle's socket, read until a condition holds."""

    def __init__(self, base_url: str, stream: str, *, client: httpx.Client) -> None:
        """The socket of `client`'s session (the battle's creator, or anyone once it is voted)."""
        self._open = contextlib.ExitStack()
        self.socket = self._open.enter_context(
            connect(
                ws_url(base_url) + stream,
                origin=Origin(base_url),
                open_timeout=10,
                additional_headers=session_cookies(client),
            )
        )
        self.seen: list[dict[str, Any]] = []

    def until(self, done: Any, *, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not done(self.seen):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; saw {[e['type'] for e in self.seen]}"
            self.seen.append(json.loads(self.socket.recv(timeout=remaining)))
        return self.seen

    def close(self) -> None:
        self._open.close()


def sides_ended(side_count: int = 2) -> Any:
    return lambda seen: len({e["side"] for e in seen if e["type"] in ("done", "error")}) >= side_count


def both_streaming(seen: list[dict[str, Any]]) -> bool:
    return {e["side"] for e in seen if e["type"] == "delta"} >= {"a", "b"}


def side_text(seen: list[dict[str, Any]], side: str) -> str:
    """The answer as the socket told it: the `sync` text a late joiner gets, then the deltas past it."""
    text = next((str(e["text"]) for e in seen if e["type"] == "sync" and e["side"] == side), "")
    for event in seen:
        if event["type"] == "delta" and event["side"] == side:
            assert event["offset"] <= len(text), "no gap"
            text += str(event["text"])[len(text) - int(event["offset"]) :]
    return text
