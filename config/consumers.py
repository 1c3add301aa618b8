"""The one shape of our WebSockets: a browser joins a Channels group and hears its events, one way."""

from __future__ import annotations

import abc
from typing import Any, Final

from channels.generic.websocket import AsyncJsonWebsocketConsumer

# Publishers send {"type": STREAM_EVENT, "event": "<name>", ...}; the browser gets {"type": "<name>", ...}.
STREAM_EVENT: Final = "stream.event"
CLOSE_NOT_FOUND: Final = 4404


class GroupStreamConsumer(AsyncJsonWebsocketConsumer, abc.ABC):
    group: str | None = None

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
