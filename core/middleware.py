"""Error answers that never leak: a foreign Host is a plain 400, and every API error is JSON.

Django answers both with its debug pages while DEBUG is on (settings, URL patterns, a traceback) and
the API with HTML pages while it is off; API clients get `{"detail": "<a sentence>"}` in every mode.
"""

from __future__ import annotations

import gzip
import io
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus

from django.core.exceptions import DisallowedHost
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.middleware.gzip import GZipMiddleware
from django.template.loader import render_to_string
from django.urls import get_resolver, get_urlconf
from django.utils.deprecation import MiddlewareMixin

# Django's own logger for this, so that existing log filters keep applying.
security_logger = logging.getLogger("django.security.DisallowedHost")
logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
SERVER_ERROR_DETAIL = "Something went wrong on our side. It has been logged; please try again later."
DATABASE_UNAVAILABLE_DETAIL = (
    "The site is too busy to answer, or its database cannot be reached right now. "
    "Please try again in a moment."
)


def api_request_is(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _detail(request: HttpRequest, status: int, response: HttpResponseBase | None) -> str:
    if status == 404:
        return f"There is no such API endpoint: {request.path}"
    if status == 405 and response is not None and response.has_header("Allow"):
        return f"{request.method} is not allowed here; use {response['Allow']}."
    if status == 500:
        return SERVER_ERROR_DETAIL
    try:
        return f"{HTTPStatus(status).phrase}."
    except ValueError:
        return "The request failed."


def api_error_response(
    request: HttpRequest, status: int, *, detail: str | None = None, original: HttpResponseBase | None = None
) -> JsonResponse:
    """`{"detail": ...}` with `status`, keeping the headers (`Allow`, CORS, `Vary`) of `original`."""
    answer = JsonResponse({"detail": detail or _detail(request, status, original)}, status=status)
    if original is not None:
        for name, value in original.headers.items():
            if name.lower() not in ("content-type", "content-length", "content-encoding"):
                answer.headers[name] = value
        answer.cookies = original.cookies
    return answer


class ForeignHostMiddleware(MiddlewareMixin):
    """Answer a Host outside ALLOWED_HOSTS with a plain 400 before any other code sees the request.

    Django raises `DisallowedHost` later and, with DEBUG on, renders its debug page for it: a page any
    site could read through DNS rebinding.
    """

    def process_request(self, request: HttpRequest) -> HttpResponseBase | None:
        try:
            request.get_host()
        except DisallowedHost as exc:
            security_logger.warning("%s", exc)
            if api_request_is(request):
                detail = "This site is not served under that host name."
                return api_error_response(request, 400, detail=detail)
            handler: Callable[..., HttpResponseBase] = get_resolver(get_urlconf()).resolve_error_handler(400)
            return handler(request, exc)
        return None


class ApiErrorMiddleware(MiddlewareMixin):
    """Under /api/, turn any error answer that is not JSON (Django's 404 and 500 pages, debug or not,
    django-ninja's plain 405) into `{"detail": ...}` with the same status and headers."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if response.status_code < 400 or not api_request_is(request):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        return api_error_response(request, response.status_code, original=response)


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """A database that cannot be reached in time (every pooled connection busy past
    DATABASE_POOL_TIMEOUT_S, or no answer within DATABASE_CONNECT_TIMEOUT_S) is a 503 with a
    sentence, not a 500: nothing is wrong with the request, and trying again later helps."""

    # Sync only, and innermost: Django then runs the whole middleware chain in sync mode under ASGI,
    # in one hop to the sync thread, instead of hopping there and back for each middleware's
    # process_request and process_response (a fifth of a vote request's CPU: bench/vote_profile.py --asgi).
    async_capable = False

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase | None:
        if not isinstance(exception, OperationalError):
            return None
        return database_unavailable_response(request, exception)


def database_unavailable_response(request: HttpRequest, exception: OperationalError) -> HttpResponse:
    """The 503 for a database that did not answer: JSON under /api/, else our page. (django-ninja
    catches its endpoints' exceptions before any middleware sees them, so its handler calls this.)"""
    logger.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
    if api_request_is(request):
        return api_error_response(request, 503, detail=DATABASE_UNAVAILABLE_DETAIL)
    # Rendered without the request: its context processors could need the database too.
    return HttpResponse(render_to_string("503.html"), status=503)


_COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/x-ndjson",
    "application/javascript",
    "image/svg+xml",
)


class TextGZipMiddleware(GZipMiddleware):
    """Django's gzip (with its BREACH mitigation), for text only: an uploaded JPEG or PNG is already
    compressed, and gzipping it again costs CPU for nothing.

    An async stream (the battles export and the predictions JSONL under ASGI) becomes one gzip stream,
    as a sync one does. Django 5.2 compresses each of its chunks as a gzip member of its own, and
    clients that read only the first member (httpx, Python's zlib, many others) lose the rest.
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not response.get("Content-Type", "").startswith(_COMPRESSIBLE):
            return response
        if isinstance(response, StreamingHttpResponse) and response.is_async:
            original = response.streaming_content
            assert isinstance(original, AsyncIterator)
            compressed = super().process_response(request, response)
            if compressed.get("Content-Encoding") == "gzip":
                response.streaming_content = _gzip_stream(original, max_random_bytes=self.max_random_bytes)
            return compressed
        return super().process_response(request, response)


async def _gzip_stream(chunks: AsyncIterator[bytes], *, max_random_bytes: int) -> AsyncIterator[bytes]:
    """Django's compress_sequence for an async iterator: one gzip member, flushed chunk by chunk."""
    buffer = io.BytesIO()
    # The filename's random length is Django's BREACH mitigation (as in django.utils.text).
    filename = b"a" * secrets.randbelow(max_random_bytes) if max_random_bytes else None
    with gzip.GzipFile(filename=filename, mode="wb", compresslevel=6, fileobj=buffer, mtime=0) as zfile:
        async for chunk in chunks:
            zfile.write(chunk)
            data = _drained(buffer)
            if data:
                yield data
    yield _drained(buffer)


def _drained(buffer: io.BytesIO) -> bytes:
    data = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return data
