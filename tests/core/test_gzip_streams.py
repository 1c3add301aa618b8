"""A streamed answer compressed under ASGI is one gzip stream, whole for any client: Django 5.2 made
each chunk of an async stream a gzip member of its own, and httpx (like Python's zlib) read only the
first, so a long export arrived cut short without an error."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator

from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from core.middleware import TextGZipMiddleware

LINES = [f'{{"battle": {i}, "winner": "model_a"}}\n' * 50 for i in range(40)]


async def _lines() -> AsyncIterator[str]:
    for line in LINES:
        await asyncio.sleep(0)
        yield line


async def _body(response: StreamingHttpResponse) -> bytes:
    return b"".join([chunk async for chunk in response])


def test_an_async_stream_is_compressed_as_one_gzip_stream_that_decodes_whole():
    request = RequestFactory().get("/api/v1/battles/export", headers={"accept-encoding": "gzip"})
    middleware = TextGZipMiddleware(lambda request: HttpResponse())
    response = middleware.process_response(
        request, StreamingHttpResponse(_lines(), content_type="application/x-ndjson")
    )
    assert response["Content-Encoding"] == "gzip" and "Content-Length" not in response
    body = asyncio.run(_body(response))
    # What a client that reads one gzip member (httpx, zlib) gets: every line, nothing left over.
    reader = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert reader.decompress(body) == "".join(LINES).encode()
    assert reader.eof and reader.unused_data == b""
    assert len(body) < len("".join(LINES)) / 5


def test_a_client_that_does_not_take_gzip_gets_the_stream_as_it_is():
    request = RequestFactory().get("/api/v1/battles/export")
    middleware = TextGZipMiddleware(lambda request: HttpResponse())
    response = middleware.process_response(
        request, StreamingHttpResponse(_lines(), content_type="application/x-ndjson")
    )
    assert not response.has_header("Content-Encoding")
    assert asyncio.run(_body(response)) == "".join(LINES).encode()
