"""Live boards: a browser joins `board.<name>` and hears when the board's numbers change.

Generic on purpose: any leaderboard (the arena's Elo, the General-Level) publishes through
`board_updated_publish` and pages reload their own fragment when told.

Events are coalesced across every process, through Redis: the first change after a quiet second
is sent at once; the changes within the next second wait and are sent as one event, carrying
the latest version, when that second ends. So a thousand votes a second cost every open page one
refetch a second, not a thousand, and the last change is never held back for more than a second.
"""

from __future__ import annotations

import logging
import threading
from typing import Final

import redis

from core.realtime import GroupStreamConsumer, board_group, event_send
from core.redis_client import redis_client_get

logger = logging.getLogger(__name__)

BOARDS: Final = frozenset({"arena", "general-level"})
# A board event is a hint to refetch, so a slow channel layer must not hold up the writer for long.
_PUBLISH_TIMEOUT_S: Final = 5.0
_WINDOW_MS: Final = 1000


def _redis() -> redis.Redis:
    return redis_client_get()


def _keys(board: str) -> tuple[str, str]:
    return f"board-event:window:{board}", f"board-event:pending:{board}"


def board_updated_publish(*, board: str, version: str) -> None:
    """Tell every open page of `board` that it changed; call from `transaction.on_commit`.

    At once after a quiet second, else with the next coalesced event (module docstring). Never
    raises: the data is already committed and the next page load shows it anyway; and if Redis
    cannot say whether an event went out in the last second, this one is sent at once.
    """
    assert board in BOARDS, f"unknown board {board!r}"
    window, pending = _keys(board)
    try:
        client = _redis()
        if not client.set(window, 1, nx=True, px=_WINDOW_MS):
            client.set(pending, version, px=10 * _WINDOW_MS)
            wait_ms = max(int(client.pttl(window)), 0)
            # Not a daemon: a command that exits right after still sends its change.
            threading.Timer(wait_ms / 1000 + 0.01, _pending_send, kwargs={"board": board}).start()
            return
    except redis.RedisError:
        logger.warning("could not coalesce the %s board update; sending it now", board, exc_info=True)
    _send(board=board, version=version)


def _pending_send(*, board: str) -> None:
    """At the end of a window: the latest change waiting in it, as one event (one process wins)."""
    window, pending = _keys(board)
    try:
        client = _redis()
        version = client.getdel(pending)
        if version is None:
            return  # another process sent it, or nothing changed
        client.set(window, 1, px=_WINDOW_MS)
    except redis.RedisError:
        logger.warning("could not send the coalesced %s board update", board, exc_info=True)
        return
    _send(board=board, version=version.decode() if isinstance(version, bytes) else str(version))


def _send(*, board: str, version: str) -> None:
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
