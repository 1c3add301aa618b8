"""Answer leases: a worker says every few seconds that each answer it is streaming is still alive.

An answer whose worker died (killed, out of memory, its machine gone) stops being renewed, and the
expiry sweep fails it once `ARENA_ANSWER_LEASE_S` has passed without a renewal: the voter hears an
error and can retry within seconds, not after the broker's redelivery timeout.

One thread per worker process renews every answer the process holds, in one UPDATE: the cost is one
statement every `ARENA_ANSWER_HEARTBEAT_S` per process, however many answers stream.
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

_held: set[int] = set()
_lock = threading.Lock()
_renewer: threading.Thread | None = None


@contextlib.contextmanager
def answer_lease_hold(*, response_id: int) -> Iterator[None]:
    """Renew the answer's lease for as long as the block runs."""
    with _lock:
        _held.add(response_id)
        _renewer_ensure()
    try:
        yield
    finally:
        with _lock:
            _held.discard(response_id)


def _renewer_ensure() -> None:
    global _renewer
    if _renewer is None or not _renewer.is_alive():
        # A daemon: a worker that exits stops renewing, which is what a dead worker must look like.
        _renewer = threading.Thread(target=_renew_forever, name="answer-leases", daemon=True)
        _renewer.start()


def answer_leases_renew() -> int:
    """Renew the leases this process holds now; how many answers were renewed."""
    with _lock:
        held = list(_held)
    if not held:
        return 0
    try:
        return Response.objects.filter(pk__in=held, status=Response.Status.STREAMING).update(
            heartbeat_at=timezone.now()
        )
    except DatabaseError:
        # The next renewal tries again; a database down for a whole lease fails the answers, as it should.
        logger.warning("could not renew the leases of %d answers", len(held), exc_info=True)
        return 0
    finally:
        connection.close()  # back to the pool: this thread sleeps far longer than it works


def _renew_forever() -> None:
    stop = threading.Event()
    while not stop.wait(settings.ARENA_ANSWER_HEARTBEAT_S):
        answer_leases_renew()
