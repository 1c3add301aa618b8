"""The battle stream: a browser joins a battle's group and receives its answers as they generate.

On joining, the socket first gets one `sync` message per answer of the latest turn, with the whole
text so far, then a `queue` message with the place of each answer still waiting for a worker
(`arena.waiting`); the deltas that follow carry their `offset`, so a client that joined late keeps
the part of each delta past the text it has (README "REST API").
"""

from __future__ import annotations

import uuid
from typing import Any

from channels.db import database_sync_to_async

from arena.answers import answer_stream_key
from arena.models import Response, Side
from arena.visibility import battle_readable_check, session_voter_id
from arena.waiting import waiting_places_of_battle
from core.errors import NotFound
from core.realtime import GroupStreamConsumer, battle_group
from workers.streaming import stream_state_get


@database_sync_to_async
def _battle_readable(battle_id: uuid.UUID, scope: dict[str, Any]) -> bool:
    """Whether the socket's session may read the battle (arena.visibility): its creator's before the
    vote, anyone's after it unless hidden; staff and moderators always."""
    try:
        battle_readable_check(
            battle_id=battle_id,
            viewer_id=session_voter_id(session=scope.get("session")),
            user=scope.get("user"),
        )
    except NotFound:
        return False
    return True


@database_sync_to_async
def _answers_so_far(battle_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each answer of the latest turn as it stands: a streaming one from the stream's own record
    (the stored text lags it by up to ARENA_PERSIST_INTERVAL_S), a finished one as stored."""
    # Every turn has one answer per side, so the latest turn's are the first two.
    latest = Response.objects.filter(turn__battle_id=battle_id).order_by("-turn__index", "side")
    answers = []
    for turn, side, status, text, error in latest.values_list(
        "turn__index", "side", "status", "text", "error"
    )[: len(Side.values)]:
        if status == Response.Status.STREAMING:
            streamed = stream_state_get(
                state_key=answer_stream_key(battle_id=battle_id, turn=turn, side=side)
            )
            text = streamed if streamed is not None and len(streamed) >= len(text) else text
        answers.append(
            {
                "type": "sync",
                "turn": turn,
                "side": side,
                "status": status,
                "offset": 0,
                "text": text,
                "error": error or None,
            }
        )
    return answers


class BattleConsumer(GroupStreamConsumer):
    async def group_name(self) -> str | None:
        try:
            battle_id = uuid.UUID(self.scope["url_route"]["kwargs"]["battle_id"])
        except ValueError:
            return None
        # Refused as an unknown battle would be: the socket tells nothing about whether it exists.
        if not await _battle_readable(battle_id, self.scope):
            return None
        self.battle_id = battle_id
        return battle_group(battle_id=battle_id)

    async def joined(self) -> None:
        for answer in await _answers_so_far(self.battle_id):
            await self.send_json(answer)
        for place in await database_sync_to_async(waiting_places_of_battle)(battle_id=self.battle_id):
            await self.send_json(place)
