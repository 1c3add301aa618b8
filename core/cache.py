"""The shared cache, read and written as a helper the site can do without: an unreachable cache is
a miss (logged), never an error, and the caller computes or reads what it wanted."""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)

# While the cache is down every read and write fails: the first failure in a while is logged with its
# traceback, the rest in one line each, so an outage of seconds is not thousands of tracebacks.
_TRACEBACK_EVERY_S: Final = 30.0
_traceback_at = 0.0


class _ClientReused(RedisCacheClient):
    """Django's client builds a redis-py client (hundreds of reply callbacks) for every command; one
    per connection pool does the same work (redis-py's clients are thread-safe, the pool is shared)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django: Any = self  # Django's own private helpers, which its type stubs leave out
        index = django._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = django._get_connection_pool(write)
            client = self._clients[index] = django._client(connection_pool=pool)
        return client


class ReusingRedisCache(RedisCache):
    """Django's Redis cache (CACHES' BACKEND), with one redis-py client per pool, not per command."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ClientReused


def _unanswered(message: str, key: str) -> None:
    global _traceback_at
    now = time.monotonic()
    with_traceback = now - _traceback_at >= _TRACEBACK_EVERY_S
    if with_traceback:
        _traceback_at = now
    logger.warning(message, key, exc_info=with_traceback)


def cache_get(key: str) -> Any:
    """The value under `key`, or None when there is none or the cache does not answer."""
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001 - redis-py's errors, or a backend's own: whatever it is, a miss
        _unanswered("the cache did not answer a read of %s", key)
        return None


def cache_set(key: str, value: Any, timeout: float | None) -> bool:
    """Store `value` under `key`; False (logged) when the cache does not answer."""
    try:
        cache.set(key, value, timeout)
    except Exception:  # noqa: BLE001 - as above
        _unanswered("the cache did not answer a write of %s", key)
        return False
    return True
