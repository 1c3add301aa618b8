"""Listening to battles' groups on the real channel layer, as their sockets would."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from arena.models import Response
from core.realtime import battle_group


class Battles:
    """Listens to battles' groups on the real channel layer, as their sockets would."""

    def __init__(self, answers: list[Response]) -> None:
        self.layer = get_channel_layer()
        self.channels: dict[object, str] = {}
        self.unread: dict[object, list[dict[str, Any]]] = {}
        for answer in answers:
            battle_id = answer.turn.battle_id
            if battle_id not in self.channels:
                channel = async_to_sync(self.layer.new_channel)()
                async_to_sync(self.layer.group_add)(battle_group(battle_id=battle_id), channel)
                self.channels[battle_id] = channel
                self.unread[battle_id] = []

    def heard(self, answer: Response, timeout: float = 5) -> dict[str, Any]:
        """The next message about this answer (messages about the battle's other side are kept)."""
        battle_id = answer.turn.battle_id
        unread = self.unread[battle_id]
        for message in unread:
            if message["side"] == answer.side:
                unread.remove(message)
                return message

        async def receive() -> dict[str, Any]:
            return await asyncio.wait_for(self.layer.receive(self.channels[battle_id]), timeout=timeout)

        while True:
            message = async_to_sync(receive)()
            if message["side"] == answer.side:
                return message
            unread.append(message)

    def places(self, answer: Response, count: int) -> list[int]:
        messages = [self.heard(answer) for _ in range(count)]
        turn = answer.turn.index
        assert all(message["event"] == "queue" and message["turn"] == turn for message in messages), messages
        return [message["position"] for message in messages]

    def hears_nothing(self, answer: Response, timeout: float = 0.5) -> bool:
        try:
            self.heard(answer, timeout=timeout)
        except TimeoutError:
            return True
        return False
