"""The socket base class: a client that has left is not taken for an unreachable Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import redis
from asgiref.testing import ApplicationCommunicator
from channels.layers import get_channel_layer
from django.conf import settings

from core.realtime import STREAM_EVENT, GroupStreamConsumer


class _GroupSocket(GroupStreamConsumer):
    async def group_name(self) -> str | None:
        return str(self.scope["path"]).strip("/").replace("/", ".")


class _ClientGone(OSError):
    """What uvicorn raises from `send` once the client has closed its connection (ASGI: an OSError)."""


class _LeavingClient:
    """One socket driven by hand: its sends fail as a vanished client's do once `leave()` is called."""

    def __init__(self, group: str) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.gone = False
        self.app = _GroupSocket.as_asgi()
        self.scope = {"type": "websocket", "path": f"/{group}/", "headers": [], "query_string": b""}

    async def receive(self) -> dict[str, Any]:
        return await self.inbox.get()

    async def send(self, message: dict[str, Any]) -> None:
        if self.gone:
            raise _ClientGone("the client closed its connection")
        self.sent.append(message)

    def leave(self) -> None:
        self.gone = True


def _connections_opened() -> int:
    """Connections the channel layer's Redis has accepted so far."""
    layers: Any = settings.CHANNEL_LAYERS
    address = layers["default"]["CONFIG"]["hosts"][0]["address"]
    with redis.Redis.from_url(address) as client:
        return int(client.info("stats")["total_connections_received"])


async def _event(group: str, number: int) -> None:
    layer = get_channel_layer()
    await layer.group_send(group, {"type": STREAM_EVENT, "event": "tick", "number": number})


def test_an_event_for_a_client_that_left_ends_its_socket_without_closing_the_others() -> None:
    group = f"test.gone.{uuid.uuid4().hex}"

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        leaving = _LeavingClient(group)
        leaving_task = asyncio.create_task(leaving.app(leaving.scope, leaving.receive, leaving.send))
        staying = ApplicationCommunicator(_GroupSocket.as_asgi(), {**leaving.scope})
        for inbox in (leaving.inbox.put, staying.send_input):
            await inbox({"type": "websocket.connect"})
        assert (await staying.receive_output(timeout=5))["type"] == "websocket.accept"
        while not leaving.sent:
            await asyncio.sleep(0.01)

        opened = _connections_opened()
        leaving.leave()
        await _event(group, 1)  # the leaving socket's send fails: its client is gone
        first = await staying.receive_output(timeout=5)
        await asyncio.sleep(0.3)
        await _event(group, 2)  # reaches the socket that stayed: its Redis connection was kept
        second = await staying.receive_output(timeout=5)
        # Taking the gone client for a Redis outage closed the process's channel-layer connections,
        # failing every other socket's commands in flight; the layer had to connect again.
        reconnected = _connections_opened() - opened - 1  # less the one that counted them

        await leaving.inbox.put({"type": "websocket.disconnect", "code": 1006})
        await asyncio.wait_for(leaving_task, timeout=5)  # ends on the disconnect, raising nothing
        await staying.send_input({"type": "websocket.disconnect", "code": 1000})
        # Cancelled in its blocking Redis read, channels-redis's receive may wait that read out (5 s).
        await staying.wait(timeout=1)
        return leaving.sent, [first, second], reconnected

    leaving_sent, staying_got, reconnected = asyncio.run(scenario())
    assert reconnected == 0
    assert [message["type"] for message in leaving_sent] == ["websocket.accept"]
    assert [json.loads(message["text"]) for message in staying_got] == [
        {"type": "tick", "number": 1},
        {"type": "tick", "number": 2},
    ]
