"""The read cache in front of Django: cached reads answered by the ASGI server without entering Django.

`core.http.cached_read` marks each response it may share (the `X-Read-Cache` header: the data
version names, the version it read before rendering, and whom it may be shown to: "anyone", or
"anonymous" visitors only). This layer keeps such a response exactly as Django finally sent it
(every middleware's headers, gzip included) under the host, path, canonical query, variant (gzip
or not, CORS or not), data version and code version. The next request for that URL asks Redis
which versions it shows (the alias), reads them, and answers from the entry of the current
version, or 304 if the client's copy is current, without running any Django code: at most three
Redis reads, no query, no thread hop. Aliases and entries are also kept in per-process memory (an
alias changes only with the code, an entry's key names its version), so a hit on a busy URL is one
read of the versions. When many requests miss the same new version at once, one renders and the
others wait for it.

A page shared with anonymous visitors only is never answered here to a request carrying a session
cookie (a voter, a signed-in user); Django answers it, sharing the fragments it can. A Redis that
does not answer sends every request to Django. The mark never leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.utils.http import parse_etags, parse_http_date_safe

from core.versions import code_version, data_versions_join, data_versions_key

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[..., Awaitable[None]]

MARK: Final = b"x-read-cache"
ANYONE: Final = "anyone"
_MEMORY_ENTRIES: Final = 128
_MEMORY_ALIASES: Final = 4096
_RENDER_WAIT_S: Final = 10.0
_REDIS_CONNECTIONS: Final = 64
# Headers a 304 must not carry: it has no body.
_BODY_HEADERS: Final = frozenset({b"content-length", b"content-type", b"content-encoding"})
# Probes and scrapes go straight to Django: never stored, and no Redis read first, so that liveness
# does not wait on Redis and readiness reports a slow Redis within its own deadline.
_PASS_THROUGH: Final = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass(frozen=True)
class _Request:
    method: str
    in_session: bool  # carries a session cookie: a voter or a signed-in user
    target: str  # host, path and canonical query: what the alias is keyed by
    variant: str
    if_none_match: str | None
    if_modified_since: str | None

    @classmethod
    def of(cls, scope: Scope, *, session_cookie: str) -> _Request | None:
        """The request, if the cache may answer it: a GET or HEAD."""
        if scope["method"] not in ("GET", "HEAD"):
            return None
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers[name] = headers[name] + b"," + value if name in headers else value
        cookie = headers.get(b"cookie")
        in_session = bool(cookie) and session_cookie in SimpleCookie(
            cookie.decode("latin-1") if cookie else ""
        )
        query = urlencode(sorted(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)))
        host = headers.get(b"host", b"").decode("latin-1").lower()
        gzip = b"gzip" in headers.get(b"accept-encoding", b"")
        variant = ("gzip" if gzip else "identity") + ("+cors" if b"origin" in headers else "")
        inm, ims = headers.get(b"if-none-match"), headers.get(b"if-modified-since")
        return cls(
            method=scope["method"],
            in_session=in_session,
            target=f"{host}|{scope['path']}|{query}",
            variant=variant,
            if_none_match=inm.decode("latin-1") if inm else None,
            if_modified_since=ims.decode("latin-1") if ims else None,
        )

    @property
    def alias_key(self) -> str:
        return "edge-alias:" + hashlib.sha256(self.target.encode()).hexdigest()

    def entry_key(self, version: str) -> str:
        raw = f"{self.target}|{self.variant}|{version}|{code_version()}"
        return "edge-entry:" + hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class _Entry:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def pack(self) -> bytes:
        headers = [[name.decode("latin-1"), value.decode("latin-1")] for name, value in self.headers]
        head = json.dumps([self.status, headers])
        return head.encode() + b"\n" + self.body

    @classmethod
    def unpack(cls, data: bytes) -> _Entry:
        head, _, body = data.partition(b"\n")
        status, headers = json.loads(head)
        return cls(status, [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers], body)

    def header(self, name: bytes) -> str | None:
        return next((v.decode("latin-1") for n, v in self.headers if n.lower() == name), None)


class _Capture:
    """Passes Django's answer on, without the mark, and keeps it if it was marked and may be shared."""

    def __init__(
        self, send: Send, *, keep: bool, in_session: bool, store: Callable[[_Capture], Awaitable[None]]
    ) -> None:
        self._send = send
        self._keep = keep
        self._in_session = in_session
        self._store = store
        self.mark: str | None = None
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(n, v) for n, v in message.get("headers", []) if n.lower() != MARK]
            if self._keep:
                found = [v.decode("latin-1") for n, v in message.get("headers", []) if n.lower() == MARK]
                shareable = not any(n.lower() == b"set-cookie" for n, _ in headers)
                # A page for anonymous visitors is not learnt from a visitor in a session.
                allowed = bool(found) and (found[0].endswith(";" + ANYONE) or not self._in_session)
                if allowed and shareable and message["status"] in (200, 304):
                    self.mark, self.status, self.headers = found[0], message["status"], headers
            message = {**message, "headers": headers}
        elif message["type"] == "http.response.body" and self.mark is not None:
            self.body.append(message.get("body", b""))
            if not message.get("more_body", False):
                # Stored before the last byte goes out: a client's next request must find it.
                await self._store(self)
        await self._send(message)


class EdgeCache:
    def __init__(self, app: App) -> None:
        self.app = app
        self._client: aioredis.Redis | None = None
        self._memory: OrderedDict[str, _Entry] = OrderedDict()
        # Which versions a URL shows changes only with the code, so each process keeps what it learnt.
        self._aliases: OrderedDict[str, str] = OrderedDict()
        # Entry keys being rendered by Django right now: a crowd that misses the same new version
        # at once (a live board's refetch after an event) waits for one rendering, not one each.
        self._rendering: dict[str, asyncio.Future[None]] = {}

    def _redis(self) -> aioredis.Redis:
        # Created on first use, inside the server's event loop (one per uvicorn process).
        if self._client is None:
            # Blocking: a crowd larger than the pool waits its turn for a connection (briefly, one
            # read each), where redis-py's default pool would fail the surplus at once.
            pool = aioredis.BlockingConnectionPool.from_url(
                str(settings.CACHES["default"]["LOCATION"]),
                max_connections=_REDIS_CONNECTIONS,
                timeout=1,
                socket_timeout=1,
                socket_connect_timeout=0.5,
            )
            self._client = aioredis.Redis(connection_pool=pool)
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _PASS_THROUGH:
            await self.app(scope, receive, send)
            return
        request = _Request.of(scope, session_cookie=settings.SESSION_COOKIE_NAME)
        if request is None:
            await self.app(scope, receive, _Capture(send, keep=False, in_session=True, store=_nothing).send)
            return
        entry, key = await self._lookup(request)
        if entry is None and key is not None and key in self._rendering:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._rendering[key]), _RENDER_WAIT_S)
            entry = self._memory.get(key)
        if entry is not None:
            await _answer(entry, request=request, send=send)
            return

        async def store(capture: _Capture) -> None:
            await self._store(request, capture)

        rendering = key is not None and request.method == "GET" and key not in self._rendering
        if rendering and key is not None:
            self._rendering[key] = asyncio.get_running_loop().create_future()
        try:
            capture = _Capture(send, keep=request.method == "GET", in_session=request.in_session, store=store)
            await self.app(scope, receive, capture.send)
        finally:
            if rendering and key is not None:
                self._rendering.pop(key).set_result(None)

    async def _lookup(self, request: _Request) -> tuple[_Entry | None, str | None]:
        """The stored entry for the current version, and that entry's key (None: version unknown)."""
        try:
            client = self._redis()
            alias = self._aliases.get(request.alias_key)
            if alias is None:
                found = await client.get(request.alias_key)
                if found is None:
                    return None, None
                alias = self._alias_remember(
                    request.alias_key, found.decode() if isinstance(found, bytes) else found
                )
            listed, _, audience = alias.partition(";")
            if request.in_session and audience != ANYONE:
                return None, None
            keys = [data_versions_key(name) for name in listed.split(",") if name]
            version = data_versions_join(await client.mget(keys)) if keys else ""
            if version is None:
                return None, None
            key = request.entry_key(version)
            entry = self._memory.get(key)
            if entry is None:
                data = await client.get(key)
                if not isinstance(data, bytes):
                    return None, key
                entry = self._remember(key, _Entry.unpack(data))
            return entry, key
        except (redis.RedisError, OSError, ValueError):
            logger.debug("edge cache lookup failed; asking Django", exc_info=True)
            return None, None

    async def _store(self, request: _Request, capture: _Capture) -> None:
        names, version, audience = (capture.mark or ";;").split(";", 2)
        entry = _Entry(capture.status, capture.headers, b"".join(capture.body))
        key = request.entry_key(version)
        try:
            async with self._redis().pipeline(transaction=False) as pipe:
                if entry.status == 200:  # a 304 teaches the alias only
                    pipe.set(key, entry.pack(), ex=settings.READ_CACHE_S)
                pipe.set(request.alias_key, f"{names};{audience}", ex=settings.READ_CACHE_S)
                await pipe.execute()
            self._alias_remember(request.alias_key, f"{names};{audience}")
        except (redis.RedisError, OSError):
            logger.debug("edge cache store failed", exc_info=True)
            return
        if entry.status == 200:
            self._remember(key, entry)

    def _alias_remember(self, key: str, alias: str) -> str:
        self._aliases[key] = alias
        self._aliases.move_to_end(key)
        while len(self._aliases) > _MEMORY_ALIASES:
            self._aliases.popitem(last=False)
        return alias

    def _remember(self, key: str, entry: _Entry) -> _Entry:
        self._memory[key] = entry
        self._memory.move_to_end(key)
        while len(self._memory) > _MEMORY_ENTRIES:
            self._memory.popitem(last=False)
        return entry


async def _nothing(capture: _Capture) -> None:
    return None


def _not_modified(entry: _Entry, request: _Request) -> bool:
    """Django's rule (`get_conditional_response`): If-None-Match, weakly compared, else If-Modified-Since."""
    etag = entry.header(b"etag")
    if request.if_none_match is not None:
        if etag is None:
            return False
        wanted = parse_etags(request.if_none_match)
        return "*" in wanted or etag.removeprefix("W/") in {tag.removeprefix("W/") for tag in wanted}
    modified, since = entry.header(b"last-modified"), request.if_modified_since
    if modified is None or since is None:
        return False
    modified_at, since_at = parse_http_date_safe(modified), parse_http_date_safe(since)
    return modified_at is not None and since_at is not None and modified_at <= since_at


async def _answer(entry: _Entry, *, request: _Request, send: Send) -> None:
    # As CDNs say it: this answer came from the cache (and no Django code ran for it).
    hit = (b"x-cache", b"hit")
    if _not_modified(entry, request):
        headers = [(n, v) for n, v in entry.headers if n.lower() not in _BODY_HEADERS]
        await send({"type": "http.response.start", "status": 304, "headers": [*headers, hit]})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": entry.status, "headers": [*entry.headers, hit]})
    await send({"type": "http.response.body", "body": b"" if request.method == "HEAD" else entry.body})
