"""The battle stream: a browser joins a battle's group and receives its answers as they generate."""

from __future__ import annotations

import uuid

from channels.db import database_sync_to_async

from arena.models import Battle
from core.realtime import GroupStreamConsumer, battle_group


@database_sync_to_async
def _battle_exists(battle_id: uuid.UUID) -> bool:
    return Battle.objects.filter(pk=battle_id).exists()


class BattleConsumer(GroupStreamConsumer):
    async def group_name(self) -> str | None:
        try:
            battle_id = uuid.UUID(self.scope["url_route"]["kwargs"]["battle_id"])
        except ValueError:
            return None
        return battle_group(battle_id=battle_id) if await _battle_exists(battle_id) else None
