"""/playground/ in a web process: passed, as it came, to the playground's own process.

Where no proxy stands in front of the site (`make run`), the web process routes /playground/ here
(config/asgi.py, with PLAYGROUND_UPSTREAM). Answers stream through as they come, the queue's
server-sent events included; nothing is buffered but the request's body.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from django.conf import settings
from starlette.types import Receive, Scope, Send

from core.client_ip import scope_client_ip

# Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, not to the request.
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
UNAVAILABLE = "The playground is not running right now; please try again in a minute."
TOO_LARGE = "That upload is too large for the playground."


def playground_path(path: str) -> bool:
    return path == "/playground" or path.startswith("/playground/")


class PlaygroundProxy:
    def __init__(self, *, upstream: str) -> None:
        if upstream.startswith("unix:"):
            self._transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(uds=upstream[len("unix:") :])
            self._base = "http://playground"
        else:
            self._transport = httpx.AsyncHTTPTransport()
            self._base = upstream.rstrip("/")
        self._client: httpx.AsyncClient | None = None
        # Gradio's own limit on uploads is the arena's; its form fields come on top.
        self._body_limit = settings.ARENA_MAX_UPLOAD_BYTES + 1024 * 1024

    def _client_get(self) -> httpx.AsyncClient:
        if self._client is None:
            # No read timeout: the queue's event stream stays open while answers generate.
            timeout = httpx.Timeout(connect=5, read=None, write=30, pool=5)
            self._client = httpx.AsyncClient(transport=self._transport, timeout=timeout)
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self._body_limit:
                await _detail(send, status=413, detail=TOO_LARGE)
                return
            if not message.get("more_body"):
                break
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name.decode("latin-1").lower() not in _HOP
        ]
        # Right-most, so that the playground's server (which believes this process) takes it.
        address = scope_client_ip(scope=scope)
        if address:
            headers.append(("x-forwarded-for", address))
        headers.append(("x-forwarded-proto", scope.get("scheme", "http")))
        target = self._base + scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        http = self._client_get()
        request = http.build_request(scope["method"], target, headers=headers, content=bytes(body))
        try:
            response = await http.send(request, stream=True)
        except httpx.TransportError:
            await _detail(send, status=503, detail=UNAVAILABLE)
            return
        relay = asyncio.ensure_future(_relay(response, send))
        # An event stream (Gradio's heartbeat) never ends by itself: a browser that left ends it.
        gone = asyncio.ensure_future(_disconnect_wait(receive))
        try:
            await asyncio.wait([relay, gone], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (relay, gone):
                task.cancel()
            await asyncio.gather(relay, gone, return_exceptions=True)
            await response.aclose()


async def _relay(response: httpx.Response, send: Send) -> None:
    try:
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [
                    (name, value)
                    for name, value in response.headers.raw
                    if name.decode("latin-1").lower() not in _HOP
                ],
            }
        )
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    except (httpx.TransportError, OSError):
        pass  # the playground or the browser went away mid-answer: nothing more can be sent


async def _disconnect_wait(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _detail(send: Any, *, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
