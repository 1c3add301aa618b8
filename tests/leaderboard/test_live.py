"""The live board socket: joins the board's group and forwards its update events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.layers import get_channel_layer
from channels.routing import URLRouter

from core.realtime import board_group
from leaderboard.live import board_updated_publish
from leaderboard.routing import websocket_urlpatterns


class Socket:
    """A WebSocket client speaking ASGI to the consumer (channels.testing needs daphne, absent here)."""

    def __init__(self, board: str) -> None:
        scope = {"type": "websocket", "path": f"/ws/boards/{board}/", "headers": [], "query_string": b""}
        self.app = ApplicationCommunicator(URLRouter(websocket_urlpatterns), scope)

    async def connect(self) -> tuple[bool, object]:
        await self.app.send_input({"type": "websocket.connect"})
        reply = await self.app.receive_output(timeout=5)
        return reply["type"] == "websocket.accept", reply.get("code")

    async def send_json_to(self, content: Any) -> None:
        await self.app.send_input({"type": "websocket.receive", "text": json.dumps(content)})

    async def receive_json_from(self, timeout: float = 5) -> Any:
        reply = await self.app.receive_output(timeout=timeout)
        assert reply["type"] == "websocket.send", reply
        return json.loads(reply["text"])

    async def disconnect(self) -> None:
        await self.app.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.app.wait(timeout=5)


def _communicator(board: str) -> Socket:
    return Socket(board)


def test_update_events_are_forwarded_to_the_page():
    async def scenario() -> dict[str, object]:
        socket = _communicator("general-level")
        connected, _ = await socket.connect()
        assert connected
        layer = get_channel_layer()
        await layer.group_send(
            board_group(board="general-level"),
            {"type": "stream.event", "event": "updated", "board": "general-level", "version": "v2"},
        )
        message = await socket.receive_json_from(timeout=5)
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=5) == {"type": "pong"}
        await socket.disconnect()
        return message

    assert asyncio.run(scenario()) == {"type": "updated", "board": "general-level", "version": "v2"}


def test_publishing_from_sync_code_reaches_an_open_socket():
    async def scenario() -> dict[str, object]:
        socket = _communicator("arena")
        connected, _ = await socket.connect()
        assert connected
        await asyncio.to_thread(board_updated_publish, board="arena", version="abc")
        message = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return message

    assert asyncio.run(scenario()) == {"type": "updated", "board": "arena", "version": "abc"}


def test_unknown_board_is_refused():
    async def scenario() -> tuple[bool, object]:
        socket = _communicator("nonsense")
        return await socket.connect()

    connected, code = asyncio.run(scenario())
    assert not connected and code == 4404


def test_publishing_an_unknown_board_is_a_programming_error():
    with pytest.raises(AssertionError):
        board_updated_publish(board="nonsense", version="x")


def test_a_burst_of_changes_is_one_event_now_and_one_with_the_latest_version():
    """10 changes within a fraction of a second: the first is sent at once, the rest as one event,
    carrying the last version, when the second is over."""
    from leaderboard import live

    window, pending = live._keys("arena")
    live._redis().delete(window, pending)

    async def scenario() -> list[dict[str, object]]:
        socket = _communicator("arena")
        connected, _ = await socket.connect()
        assert connected
        for number in range(10):
            await asyncio.to_thread(board_updated_publish, board="arena", version=f"v{number}")
        events = [await socket.receive_json_from(timeout=5), await socket.receive_json_from(timeout=5)]
        assert await socket.app.receive_nothing(timeout=1.5), "no third event"
        await socket.disconnect()
        return events

    events = asyncio.run(scenario())
    assert [event["version"] for event in events] == ["v0", "v9"]
