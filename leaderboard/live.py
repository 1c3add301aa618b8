"""Live boards: a browser joins `board.<name>` and hears when the board's numbers change.

Generic on purpose: any leaderboard (the arena's Elo, the General-Level) publishes through
`board_updated_publish` and pages reload their own fragment when told.

Events are coalesced across every process, through Redis: the first change after a quiet second
is sent at once; the changes within the next second wait and are sent as one event, carrying
the latest version, when that second ends. So a thousand votes a second cost every open page one
refetch a second, not a thousand, and the last change is never held back for more than a second.
"""

from __future__ import annotations

import atexit
import logging
import threading
from concurrent import futures
from concurrent.futures import Future
from typing import Final

import redis

from core.realtime import STREAM_EVENT, GroupStreamConsumer, board_group, group_send
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
            _pending_send_schedule(board=board, delay_s=wait_ms / 1000 + 0.01)
            return
    except redis.RedisError:
        logger.warning("could not coalesce the %s board update; sending it now", board, exc_info=True)
    _send(board=board, version=version)


_timers: dict[str, threading.Timer] = {}
_timers_lock = threading.Lock()


def _pending_send_schedule(*, board: str, delay_s: float) -> None:
    """One timer per board and process, however many changes arrive within the window."""
    with _timers_lock:
        timer = _timers.get(board)
        if timer is not None and timer.is_alive():
            return
        # Not a daemon: a command that exits right after still sends its change.
        timer = threading.Timer(delay_s, _pending_send, kwargs={"board": board})
        _timers[board] = timer
        timer.start()


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


_sent: set[Future[None]] = set()


def _send(*, board: str, version: str) -> None:
    """Hand the event to the channel layer's loop and return: a thousand open pages must not hold up
    the vote or the snapshot whose commit called this. A process that exits waits for it (atexit)."""
    message = {"type": STREAM_EVENT, "event": "updated", "board": board, "version": version}
    sent = group_send(group=board_group(board=board), message=message)
    _sent.add(sent)
    sent.add_done_callback(_sent_check)


def _sent_check(sent: Future[None]) -> None:
    _sent.discard(sent)
    error = None if sent.cancelled() else sent.exception()
    if error is not None:
        logger.warning("could not publish a board update", exc_info=error)


@atexit.register
def _sent_wait() -> None:
    futures.wait(list(_sent), timeout=_PUBLISH_TIMEOUT_S)


class BoardConsumer(GroupStreamConsumer):
    async def group_name(self) -> str | None:
        board = self.scope["url_route"]["kwargs"]["board"]
        return board_group(board=board) if board in BOARDS else None
