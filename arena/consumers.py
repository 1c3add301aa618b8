"""The battle stream: a browser joins a battle's group and receives its answers as they generate."""

from __future__ import annotations

import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from arena.models import Battle
from workers.streaming import battle_group


@database_sync_to_async
def _battle_exists(battle_id: uuid.UUID) -> bool:
    return Battle.objects.filter(pk=battle_id).exists()


class BattleConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        try:
            battle_id = uuid.UUID(self.scope["url_route"]["kwargs"]["battle_id"])
        except ValueError:
            await self.close(code=4404)
            return
        if not await _battle_exists(battle_id):
            await self.close(code=4404)
            return
        self.group = battle_group(battle_id=battle_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The stream is one-way; a ping keeps proxies from closing an idle socket.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def battle_event(self, event: dict[str, Any]) -> None:
        message = {key: value for key, value in event.items() if key not in ("type", "event")}
        await self.send_json({"type": event["event"], **message})
