"""A deadline on each HTTP request: one that has not started its answer `REQUEST_DEADLINE_S` seconds
after its body arrived is answered 503 with a sentence.

The database's statement timeout cannot end a query on a server that has stopped (paused, its
machine frozen): that server enforces nothing, and the connection waits for ever. Django cannot
cancel the thread running the view, so the thread is left to finish when the server comes back,
and whatever it answers then is dropped; the person gets the 503 now. A vote caught this way is
either committed whole or not at all (its transaction), never half-written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from django.template.loader import render_to_string

from core.middleware import API_PREFIX, DATABASE_UNAVAILABLE_DETAIL

logger = logging.getLogger(__name__)

Scope = dict[str, Any]


class RequestDeadline:
    """ASGI wrapper for HTTP; a response already started (a slow download, an export) runs on."""

    def __init__(self, app: Any, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        body_received = loop.create_future()
        started = False
        abandoned = False

        async def receive_watched() -> dict[str, Any]:
            message = await receive()
            ended = message["type"] == "http.disconnect" or not message.get("more_body", False)
            if ended and not body_received.done():
                body_received.set_result(None)
            return dict(message)

        async def send_watched(message: dict[str, Any]) -> None:
            nonlocal started
            if abandoned:
                return  # the 503 went out in its place
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        handling = asyncio.ensure_future(self.app(scope, receive_watched, send_watched))
        # The clock starts once the body is in: a slow upload is the client's time, not the server's.
        waiting = asyncio.ensure_future(self._after_body(body_received))
        done, _ = await asyncio.wait({handling, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if handling in done:
            waiting.cancel()
            handling.result()
            return
        if started:
            await handling
            return
        abandoned = True
        handling.cancel()
        logger.warning(
            "%s %s had no answer after %.1f s; answered 503", scope.get("method"), scope["path"], self.seconds
        )
        await _unavailable_send(scope=scope, send=send)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await handling

    async def _after_body(self, body_received: asyncio.Future[None]) -> None:
        await body_received
        await asyncio.sleep(self.seconds)


async def _unavailable_send(*, scope: Scope, send: Any) -> None:
    if scope["path"].startswith(API_PREFIX):
        body = json.dumps({"detail": DATABASE_UNAVAILABLE_DETAIL}).encode()
        content_type = b"application/json"
    else:
        body = render_to_string("503.html").encode()
        content_type = b"text/html; charset=utf-8"
    headers = [(b"content-type", content_type), (b"retry-after", b"5"), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
