"""Live boards: a browser joins `board.<name>` and hears when the board's numbers change.

Generic on purpose: any leaderboard (the arena's Elo, the General-Level) publishes through
`board_updated_publish` and pages reload their own fragment when told.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from workers.streaming import group_send

logger = logging.getLogger(__name__)

BOARDS: Final = frozenset({"arena", "general-level"})
# A board event is a hint to refetch, so a slow channel layer must not hold up the writer for long.
_PUBLISH_TIMEOUT_S: Final = 5.0


def board_group(*, board: str) -> str:
    return f"board.{board}"


def board_updated_publish(*, board: str, version: str) -> None:
    """Tell every open page of `board` that it changed; call from `transaction.on_commit`.

    Waits for the send (a management command may exit right after), but never raises: the
    data is already committed and the next page load shows it anyway.
    """
    assert board in BOARDS, f"unknown board {board!r}"
    message = {"type": "board.event", "event": "updated", "board": board, "version": version}
    try:
        group_send(group=board_group(board=board), message=message).result(timeout=_PUBLISH_TIMEOUT_S)
    except Exception:
        logger.warning("could not publish the %s board update", board, exc_info=True)


class BoardConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        board = self.scope["url_route"]["kwargs"]["board"]
        if board not in BOARDS:
            await self.close(code=4404)
            return
        self.group = board_group(board=board)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # One-way like the battle stream; a ping keeps proxies from closing an idle socket.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def board_event(self, event: dict[str, Any]) -> None:
        message = {key: value for key, value in event.items() if key not in ("type", "event")}
        await self.send_json({"type": event["event"], **message})
