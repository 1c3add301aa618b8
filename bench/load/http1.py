"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for the high-rate load generators.

The load generators share the stack's machine, so their own CPU is taken from the server: httpx costs about
1 ms of CPU a request, which at several hundred requests a second made the benchmark process the busiest
one. This client sends the same requests a browser sends (keep-alive, cookies, Accept-Encoding, the
simulated person's X-Forwarded-For) at a fraction of that, and leaves compressed bodies undecoded (only
their size is needed). One connection per client, one request at a time, like a browser tab's fetch().
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names; repeated ones joined with ", " (Set-Cookie: kept apart)
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ConnectionLost(Exception):
    pass


class Http1:
    def __init__(
        self, base_url: str, *, headers: dict[str, str] | None = None, timeout: float = 30.0
    ) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.base_url = base_url.rstrip("/")
        self.headers = {
            "Host": f"{self.host}:{self.port}",
            "Accept-Encoding": "gzip, deflate, br",
            **(headers or {}),
        }
        self.cookies: dict[str, str] = {}
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def __aenter__(self) -> Http1:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _request_bytes(self, method: str, path: str, headers: dict[str, str] | None, body: bytes) -> bytes:
        lines = [f"{method} {path} HTTP/1.1"]
        merged = {**self.headers, **(headers or {})}
        if self.cookies:
            merged["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if body or method in ("POST", "PUT", "PATCH"):
            merged["Content-Length"] = str(len(body))
        lines += [f"{name}: {value}" for name, value in merged.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Reply:
        payload = self._request_bytes(method, path, headers, body)
        for attempt in (1, 2):
            reused = self._writer is not None
            if not reused:
                await self._connect()
            assert self._reader is not None and self._writer is not None
            try:
                self._writer.write(payload)
                return await asyncio.wait_for(self._read(), self.timeout)
            except (ConnectionLost, ConnectionResetError, BrokenPipeError):
                await self.close()
                # The server closes an idle keep-alive connection; a request it never read is sent again.
                if not reused or attempt == 2:
                    raise
            except BaseException:
                await self.close()
                raise
        raise AssertionError("unreachable")

    async def _read(self) -> Reply:
        assert self._reader is not None
        try:
            head = await self._reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise ConnectionLost from None
            raise
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookie = value.split(";", 1)[0]
                key, _, cookie_value = cookie.partition("=")
                self.cookies[key.strip()] = cookie_value.strip()
                continue
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        elif "content-length" in headers:
            body = await self._reader.readexactly(int(headers["content-length"]))
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body = await self._reader.read()
            await self.close()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Reply(status=status, headers=headers, body=body)

    async def _chunked(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    async def get(self, path: str, *, headers: dict[str, str] | None = None) -> Reply:
        return await self.request("GET", path, headers=headers)

    async def post_json(self, path: str, data: Any, *, headers: dict[str, str] | None = None) -> Reply:
        return await self.request(
            "POST",
            path,
            headers={"Content-Type": "application/json", **(headers or {})},
            body=json.dumps(data).encode(),
        )
