"""Live boards: a browser joins `board.<name>` and hears when the board's numbers change.

Generic on purpose: any leaderboard (the arena's Elo, the General-Level) publishes through
`board_updated_publish` and pages reload their own fragment when told.
"""

from __future__ import annotations

import logging
from typing import Final

from core.realtime import GroupStreamConsumer, board_group, event_send

logger = logging.getLogger(__name__)

BOARDS: Final = frozenset({"arena", "general-level"})
# A board event is a hint to refetch, so a slow channel layer must not hold up the writer for long.
_PUBLISH_TIMEOUT_S: Final = 5.0


def board_updated_publish(*, board: str, version: str) -> None:
    """Tell every open page of `board` that it changed; call from `transaction.on_commit`.

    Waits for the send (a management command may exit right after), but never raises: the
    data is already committed and the next page load shows it anyway.
    """
    assert board in BOARDS, f"unknown board {board!r}"
    try:
        event_send(
            group=board_group(board=board),
            event="updated",
            board=board,
            version=version,
            timeout=_PUBLISH_TIMEOUT_S,
        )
    except Exception:
        logger.warning("could not publish the %s board update", board, exc_info=True)


class BoardConsumer(GroupStreamConsumer):
    async def group_name(self) -> str | None:
        board = self.scope["url_route"]["kwargs"]["board"]
        return board_group(board=board) if board in BOARDS else None
