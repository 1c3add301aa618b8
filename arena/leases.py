"""Answer leases: a worker says every few seconds that each answer it is streaming is still alive.

An answer whose worker died (killed, out of memory, its machine gone) stops being renewed, and the
expiry sweep fails it once `ARENA_ANSWER_LEASE_S` has passed without a renewal: the voter hears an
error and can retry within seconds, not after the broker's redelivery timeout.

One thread per worker process renews every answer the process holds, in one UPDATE: the cost is one
statement every `ARENA_ANSWER_HEARTBEAT_S` per process, however many answers stream. The same
statement says which answers are no longer streaming (abandoned by their voter, or failed by the
sweep): their holders' events are set, so their generations stop within a heartbeat.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from arena.models import Response

logger = logging.getLogger(__name__)

_held: dict[int, threading.Event] = {}
_lock = threading.Lock()
_renewer: threading.Thread | None = None


@contextlib.contextmanager
def answer_lease_hold(*, response_id: int) -> Iterator[threading.Event]:
    """Renew the answer's lease for as long as the block runs; the event yielded is set once a renewal
    finds the answer no longer streaming, and whatever the block is generating should stop."""
    lost = threading.Event()
    with _lock:
        _held[response_id] = lost
        _renewer_ensure()
    try:
        yield lost
    finally:
        with _lock:
            if _held.get(response_id) is lost:
                del _held[response_id]


def _renewer_ensure() -> None:
    global _renewer
    if _renewer is None or not _renewer.is_alive():
        # A daemon: a worker that exits stops renewing, which is what a dead worker must look like.
        _renewer = threading.Thread(target=_renew_forever, name="answer-leases", daemon=True)
        _renewer.start()


# The ORM's update() says how many rows it changed, not which: RETURNING does both in one statement.
_RENEW_SQL = "UPDATE arena_response SET heartbeat_at = %s WHERE id = ANY(%s) AND status = %s RETURNING id"


def _streaming_renew(*, response_ids: list[int]) -> set[int]:
    """Renew those of the answers still streaming, and say which they were."""
    with connection.cursor() as cursor:
        cursor.execute(_RENEW_SQL, [timezone.now(), response_ids, Response.Status.STREAMING])
        return {int(row[0]) for row in cursor.fetchall()}


def answer_leases_renew() -> int:
    """Renew the leases this process holds now; how many answers were renewed. The holders of those
    no longer streaming are told to stop."""
    with _lock:
        held = dict(_held)
    if not held:
        return 0
    try:
        renewed = _streaming_renew(response_ids=list(held))
    except DatabaseError:
        # The next renewal tries again; a database down for a whole lease fails the answers, as it should.
        logger.warning("could not renew the leases of %d answers", len(held), exc_info=True)
        return 0
    finally:
        connection.close()  # back to the pool: this thread sleeps far longer than it works
    for response_id, lost in held.items():
        if response_id not in renewed:
            lost.set()
    return len(renewed)


def _renew_forever() -> None:
    stop = threading.Event()
    while not stop.wait(settings.ARENA_ANSWER_HEARTBEAT_S):
        answer_leases_renew()
