"""Realtime plumbing: group names, the one long-lived `group_send` loop, and the consumer base class.

Publishers send {"type": STREAM_EVENT, "event": "<name>", ...} to a Channels group; every browser
in the group receives {"type": "<name>", ...}. The WebSockets are one way: a browser joins a group
and hears its events (and may ping).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
import logging
import threading
import time
from concurrent.futures import Future
from typing import Any, Final

import redis
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.db import DatabaseError

STREAM_EVENT: Final = "stream.event"
CLOSE_NOT_FOUND: Final = 4404
CLOSE_TRY_AGAIN_LATER: Final = 1013
LIVE_UNAVAILABLE_DETAIL: Final = "Live updates are unavailable for a moment; the page reconnects by itself."

logger = logging.getLogger(__name__)


def battle_group(*, battle_id: object) -> str:
    return f"battle.{battle_id}"


def board_group(*, board: str) -> str:
    return f"board.{board}"


class _LoopThread:
    """A long-lived asyncio loop in a daemon thread; the channel layer's connections live on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or not self._loop.is_running():
                loop = asyncio.new_event_loop()
                started = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(started.set)
                    loop.run_forever()

                threading.Thread(target=run, name="channel-layer-loop", daemon=True).start()
                started.wait()
                self._loop = loop
            return self._loop


_loop_thread = _LoopThread()


# Sends in flight at once on the loop: past the channel layer's Redis pool (redis-py's limit is 100
# connections), sends fail with MaxConnectionsError and the messages are lost.
_SENDS_AT_ONCE: Final = 32
_sending: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


async def _group_send_after(*, group: str, message: dict[str, Any], after: Future[None] | None) -> None:
    if after is not None:
        with contextlib.suppress(Exception):  # the earlier message's failure is reported by its own future
            await asyncio.wrap_future(after)
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    loop = asyncio.get_running_loop()
    sending = _sending.setdefault(loop, asyncio.Semaphore(_SENDS_AT_ONCE))
    async with sending:
        try:
            await layer.group_send(group, message)
        except (redis.RedisError, OSError):
            await _layer_connections_drop(layer)
            raise


def group_send(*, group: str, message: dict[str, Any], after: Future[None] | None = None) -> Future[None]:
    """Send to a Channels group from any thread without starting a loop per message.

    Sends run concurrently on the loop, so one that must arrive after another names it in `after`.
    """
    return asyncio.run_coroutine_threadsafe(
        _group_send_after(group=group, message=message, after=after), _loop_thread.loop()
    )


def event_send(*, group: str, event: str, timeout: float | None = None, **fields: Any) -> None:
    """Send one event to a group and wait for it (at most `timeout` seconds)."""
    group_send(group=group, message={"type": STREAM_EVENT, "event": event, **fields}).result(timeout=timeout)


# When this process last dropped its loop's channel-layer connections (see below), by event loop.
_dropped_at: dict[asyncio.AbstractEventLoop, float] = {}
_DROP_EVERY_S = 5.0


async def _layer_connections_drop(layer: Any) -> None:
    """Close this loop's connections to the channel layer's Redis, so the next use opens fresh ones.

    After Redis restarts, redis-py 8 (RESP3) can hand a command a pooled connection whose reply never
    comes, and every WebSocket connect after it hangs (tests/arena/test_worker_faults.py). channels-redis
    keeps one pool per event loop and offers no public way to drop only that one.

    At most once every _DROP_EVERY_S per loop: dropping the pool fails the commands of every other
    socket of the process that were under way ("Connection closed by server"), and each of those
    dropping it again closed hundreds of healthy sockets in a chain under load (bench/RESULTS.md).
    """
    loop = asyncio.get_running_loop()
    now = time.monotonic()
    if now - _dropped_at.get(loop, -_DROP_EVERY_S) < _DROP_EVERY_S:
        return
    _dropped_at[loop] = now
    per_loop = getattr(layer, "_layers", {}).get(loop)
    if per_loop is not None:
        with contextlib.suppress(Exception):
            await per_loop.flush()


class GroupStreamConsumer(AsyncJsonWebsocketConsumer, abc.ABC):
    group: str | None = None
    _accepted = False
    _client_gone = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """The consumer, ending cleanly when the channel layer (Redis) or the database is unreachable:
        a socket not yet accepted is refused with a 503 and a sentence, an open one is closed with 1013
        ("try again later"). The page's client reconnects with backoff either way."""

        async def receive_tracked() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "websocket.disconnect":
                self._client_gone = True
            return message

        async def send_tracked(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.accept":
                self._accepted = True
            if self._client_gone:
                # The client has left: events already queued for it go nowhere (a send now is an
                # error to the server), and the consumer ends on the disconnect it has received.
                return
            try:
                await send(message)
            except OSError:
                # ASGI: a send on a closed connection raises an OSError subclass (uvicorn's
                # ClientDisconnected). The client is gone, not Redis: taking it for a Redis error
                # dropped the process's channel-layer pool and closed every other socket under load.
                self._client_gone = True

        try:
            await super().__call__(scope, receive_tracked, send_tracked)
        except (redis.RedisError, OSError, DatabaseError) as error:
            logger.warning("live updates unavailable: closing a socket", exc_info=True)
            with contextlib.suppress(Exception):  # the client may be gone as well
                await self._unavailable_close(scope=scope, send=send)
            if isinstance(error, redis.RedisError | OSError):
                await _layer_connections_drop(self.channel_layer)

    async def _unavailable_close(self, *, scope: Any, send: Any) -> None:
        if self._accepted:
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
        elif "websocket.http.response" in scope.get("extensions", {}):
            body = json.dumps({"detail": LIVE_UNAVAILABLE_DETAIL}).encode()
            headers = [(b"content-type", b"application/json"), (b"retry-after", b"5")]
            await send({"type": "websocket.http.response.start", "status": 503, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})

    @abc.abstractmethod
    async def group_name(self) -> str | None:
        """The group to join for this connection's URL, or None to refuse it."""

    async def connect(self) -> None:
        self.group = await self.group_name()
        if self.group is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.joined()

    async def joined(self) -> None:
        """Called once the socket is in its group: a consumer sends here what a late joiner missed.

        Anything published from now on reaches this socket after what is sent here, so the two
        together leave no gap (they may overlap; messages carry what the client needs to merge them).
        """

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # A ping keeps proxies from closing an idle socket.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def stream_event(self, event: dict[str, Any]) -> None:
        message = {key: value for key, value in event.items() if key not in ("type", "event")}
        await self.send_json({"type": event["event"], **message})
