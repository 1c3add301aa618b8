"""The Celery broker's Redis database, read directly: queue lengths, and what workers write beside them.

Celery's Redis transport keeps each queue as a Redis list named after the queue (a message sent
with a priority goes to a list of its own, `<queue>\\x06\\x16<priority>`), so a queue's length is a
few LLENs, with no Celery connection and no declared queue needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import redis
from django.conf import settings

from core.redis_client import redis_client_at

# kombu's default priority steps, and the separator it puts between a queue's name and its priority.
_PRIORITIES: Final = (3, 6, 9)
_PRIORITY_SEP: Final = "\x06\x16"


def broker_redis_get() -> redis.Redis:
    """One client per process and address (settings.BROKER_REDIS_URL), shared by every thread."""
    # The same two-second bounds as the cache's client: readiness and scrapes must not wait longer.
    return redis_client_at(str(settings.BROKER_REDIS_URL))


def queue_lengths(*, queues: Iterable[str]) -> Mapping[str, int]:
    """How many messages wait in each queue; raises redis.RedisError (or OSError) when it cannot tell."""
    names = list(dict.fromkeys(queues))
    pipe = broker_redis_get().pipeline(transaction=False)
    for name in names:
        pipe.llen(name)
        for priority in _PRIORITIES:
            pipe.llen(f"{name}{_PRIORITY_SEP}{priority}")
    lengths = pipe.execute()
    per_queue = 1 + len(_PRIORITIES)
    return {name: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, name in enumerate(names)}
