"""A redis-py client on the cache's Redis database, for what Django's cache API cannot do
(sorted sets, NX windows with a TTL in milliseconds).
"""

from __future__ import annotations

from functools import cache
from typing import Final

import redis
from django.conf import settings

# Callers treat Redis as a helper they can do without; two seconds bound how long it can hold them up.
_TIMEOUT_S: Final = 2


@cache
def redis_client_at(url: str) -> redis.Redis:
    """One client per process and Redis address, bounded by the timeouts above (core.broker's too)."""
    return redis.Redis.from_url(url, socket_timeout=_TIMEOUT_S, socket_connect_timeout=_TIMEOUT_S)


def redis_client_get() -> redis.Redis:
    """One client (and connection pool) per process and address, shared by every thread."""
    # Keyed by the address, not cached outright: tests that move the cache get a client there.
    return redis_client_at(str(settings.CACHES["default"]["LOCATION"]))
