"""The shared cache, read and written as a helper the site can do without: an unreachable cache is
a miss (logged), never an error, and the caller computes or reads what it wanted."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)


def cache_get(key: str) -> Any:
    """The value under `key`, or None when there is none or the cache does not answer."""
    try:
        return cache.get(key)
    except Exception:  # redis-py's errors, or a backend's own: whatever it is, it is a miss
        logger.warning("the cache did not answer a read of %s", key, exc_info=True)
        return None


def cache_set(key: str, value: Any, timeout: float | None) -> bool:
    """Store `value` under `key`; False (logged) when the cache does not answer."""
    try:
        cache.set(key, value, timeout)
    except Exception:
        logger.warning("the cache did not answer a write of %s", key, exc_info=True)
        return False
    return True
