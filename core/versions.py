"""Data versions: one token per kind of data, kept in the shared cache, replaced on every change.

A cached read names the kinds it shows and is stored under their tokens, so telling whether it is
still current costs one cache round trip and no query. A writer bumps the kinds it changed: at
once, and again when its transaction commits, so a reader that saw the first bump and then read
rows the transaction had not committed yet caches them under a token the second bump retires.

A token missing from the cache (evicted, flushed) is replaced by a fresh one, which every reader
then misses: a lost token costs recomputation, never a stale answer. A cache that cannot be
reached gives no version at all (`None`); callers then read from the database as if nothing were
cached, and a failed bump is logged (cached reads expire after `READ_CACHE_S` at the latest).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import redis
from django.conf import settings
from django.db import transaction

from core.redis_client import redis_client_get

logger = logging.getLogger(__name__)

_PREFIX: Final = "data-version:"


def _token() -> str:
    # Unique across processes without coordination; the time part keeps tokens readable in logs.
    return f"{time.time_ns():x}{secrets.token_hex(3)}"


def data_versions_key(name: str) -> str:
    """The Redis key of a version's token (plain strings, so the ASGI read cache reads them too)."""
    return _PREFIX + name


def data_versions_join(tokens: Sequence[bytes | str | None]) -> str | None:
    """The version that `tokens` (as MGET returns them) make, or None if one is missing."""
    if any(token is None for token in tokens):
        return None
    return ".".join(token.decode() if isinstance(token, bytes) else str(token) for token in tokens)


def data_versions_get(*names: str) -> str | None:
    """The current tokens of `names`, joined (one round trip), or None if the cache is down."""
    keys = [data_versions_key(name) for name in names]
    try:
        client = redis_client_get()
        tokens = client.mget(keys) if keys else []
        if any(token is None for token in tokens):
            with client.pipeline(transaction=False) as pipe:
                for key, token in zip(keys, tokens, strict=True):
                    if token is None:
                        pipe.set(key, _token(), nx=True)  # another process may have won: read it back
                pipe.mget(keys)
                tokens = pipe.execute()[-1]
    except (redis.RedisError, OSError):
        logger.warning("the cache did not answer for data versions %s", names, exc_info=True)
        return None
    return data_versions_join(tokens)


def data_versions_bump(*names: str) -> None:
    """Retire the tokens of `names` now, and again when the current transaction commits."""
    _bump(names)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _bump(names))


def _bump(names: tuple[str, ...]) -> None:
    try:
        redis_client_get().mset({data_versions_key(name): _token() for name in names})
    except (redis.RedisError, OSError):
        logger.warning("could not bump data versions %s; cached reads expire anyway", names, exc_info=True)


@functools.cache
def code_version() -> str:
    """A digest of this process's code, templates and static manifest: cached pages are keyed by it
    too, so a deploy never serves pages that the previous release rendered."""
    base = Path(settings.BASE_DIR)
    paths = [
        path
        for package in ("config", "core", "arena", "leaderboard", "workers", "templates")
        for path in (base / package).rglob("*")
        if path.suffix in (".py", ".html")
    ]
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists():
        paths.append(manifest)
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
