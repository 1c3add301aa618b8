"""Sessions read from the cache, written to the cache and the database (Django's cached_db), that
read through to the database while the cache cannot be reached instead of failing the request.

Django's cached_db already treats a failed cache read as a miss, but then refills the cache, and
checks a key's existence there, without catching the error. (SESSION_ENGINE = "core.sessions".)
"""

from __future__ import annotations

import contextlib
from typing import Any

import redis
from django.contrib.sessions.backends import cached_db, db


class SessionStore(cached_db.SessionStore):
    def load(self) -> dict[str, Any]:
        try:
            return super().load()
        except redis.RedisError:
            return db.SessionStore.load(self)

    def exists(self, session_key: str) -> bool:
        try:
            return bool(super().exists(session_key))
        except redis.RedisError:
            return bool(db.SessionStore.exists(self, session_key))

    def delete(self, session_key: str | None = None) -> None:
        # The database row goes first; if the cache is down, its copy expires with the session.
        with contextlib.suppress(redis.RedisError):
            super().delete(session_key)
