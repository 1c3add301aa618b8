"""HTTP caching for read endpoints: ETag, Last-Modified and 304 (`conditional`), and whole responses
kept in the shared cache under the data versions they show (`cached_read`).

Django's own `get_conditional_response` judges the request (If-None-Match first, weakly compared;
else If-Modified-Since, to the second), so our code only says what a response's validators are.
CORS for the public read endpoints is django-cors-headers' (settings `CORS_*`).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe, urlencode

from core.cache import cache_get, cache_set
from core.errors import ServiceError
from core.versions import code_version, data_versions_get


@dataclass(frozen=True)
class Validators:
    """What a response's freshness is judged by: an ETag value (unquoted) and the last change."""

    etag: str
    last_modified: datetime | None = None
    # What the validators were read from (a version, a snapshot), handed on to the view so that it
    # need not read it again: see `validators_found`.
    found: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, *parts: object, last_modified: datetime | None = None, found: Any = None) -> Validators:
        """Validators whose ETag is a digest of `parts`: equal parts, equal tag."""
        digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()[:32]
        return cls(etag=digest, last_modified=last_modified, found=found)

    @property
    def etag_header(self) -> str:
        # Weak: the same data may be serialised by different processes, byte for byte or not.
        return f'W/"{self.etag}"'


ValidatorsOf = Callable[..., Validators | None]
_FOUND = "_conditional_found"


def validators_found(request: HttpRequest) -> Any:
    """What this request's `validators_of` read (its `Validators.found`), or None if it read nothing."""
    return getattr(request, _FOUND, None)


def _headers_apply(response: HttpResponseBase, validators: Validators) -> None:
    response["ETag"] = validators.etag_header
    if validators.last_modified is not None:
        response["Last-Modified"] = http_date(validators.last_modified.timestamp())
    # Clients may keep a copy but must ask again, cheaply, with the validators above.
    response["Cache-Control"] = "no-cache"


def conditional(validators_of: ValidatorsOf) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer 304 while the client's copy is current; send ETag and Last-Modified with every 2xx.

    `validators_of(request, **url_kwargs)` reads only what it needs (a version, a count). It sees
    the raw request, before the view checks it: when it cannot tell (returns None, or raises a
    `ServiceError` or `ValueError` on bad input) the view answers as it would, with its own 4xx.
    The view reads what `validators_of` loaded through `validators_found(request)`. Works on Django
    views and, through `ninja.decorators.decorate_view`, on django-ninja operations.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                validators = validators_of(request, *args, **kwargs)
            except (ServiceError, ValueError):
                validators = None
            setattr(request, _FOUND, None if validators is None else validators.found)
            if validators is not None and request.method in ("GET", "HEAD"):
                shell = HttpResponse()
                _headers_apply(shell, validators)
                modified = validators.last_modified
                answer = get_conditional_response(
                    request,
                    etag=validators.etag_header,
                    last_modified=int(modified.timestamp()) if modified is not None else None,
                    response=shell,
                )
                if answer is not None and answer is not shell:
                    return answer
            response: HttpResponseBase = view(request, *args, **kwargs)
            if validators is not None and 200 <= response.status_code < 300:
                _headers_apply(response, validators)
            return response

        return inner

    return decorator


EDGE_MARK = "X-Read-Cache"
# What a cached response keeps besides its body: the headers a client or a later layer reads.
_KEPT_HEADERS = frozenset(
    {"content-type", "etag", "last-modified", "cache-control", "content-disposition", "x-board-version"}
)


def cached_read(
    *versions: str, anonymous_only: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Keep the view's 200 answers in the shared cache under the data versions `versions` name.

    While none of them changed, a GET or HEAD is answered from the cache with no query at all: the
    versions and the response are two cache reads, and a client whose copy is current (its
    If-None-Match or If-Modified-Since against the stored ETag / Last-Modified) gets a 304. Put it
    above `conditional`, whose validators then apply to the stored copy too. `anonymous_only`: a
    page that greets signed-in users is shared between anonymous visitors only (with
    `SESSION_ENGINE` cached_db, telling costs no query either). A response that sets a cookie, or
    a cache that cannot be reached, is simply not cached.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        name = f"{view.__module__}.{view.__qualname__}"

        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in ("GET", "HEAD") or (anonymous_only and request.user.is_authenticated):
                return view(request, *args, **kwargs)
            version = data_versions_get(*versions)
            if version is None:
                return view(request, *args, **kwargs)
            # The query string in a canonical order, so ?a=1&b=2 and ?b=2&a=1 share one entry.
            query = urlencode(sorted(request.GET.lists()), doseq=True)
            raw = f"{name}|{version}|{code_version()}|{request.path}|{query}"
            key = "read:" + hashlib.sha256(raw.encode()).hexdigest()
            stored = cache_get(key)
            if stored is not None:
                response = _response_of(stored)
            else:
                produced: HttpResponseBase = view(request, *args, **kwargs)
                if produced.status_code == 304:
                    # Nothing to keep, but the edge learns which versions this URL shows: pages that
                    # only ever revalidated (a live board's) then share one rendering of the next.
                    produced[EDGE_MARK] = _edge_mark(versions, version, anonymous_only=anonymous_only)
                if not isinstance(produced, HttpResponse) or not _storable(produced):
                    return produced
                response = produced
                cache_set(key, _stored_of(response), settings.READ_CACHE_S)
            response[EDGE_MARK] = _edge_mark(versions, version, anonymous_only=anonymous_only)
            return _conditional_or(request, response)

        return inner

    return decorator


def _edge_mark(versions: tuple[str, ...], version: str, *, anonymous_only: bool) -> str:
    """For the edge cache (core.edge_cache), which strips it: what the response shows, as of when,
    and to whom it may be shown."""
    return f"{','.join(versions)};{version};{'anonymous' if anonymous_only else 'anyone'}"


def _storable(response: HttpResponse) -> bool:
    return (
        response.status_code == 200
        and not response.cookies
        and "private" not in response.get("Cache-Control", "")
    )


def _stored_of(response: HttpResponse) -> tuple[bytes, list[tuple[str, str]]]:
    headers = [(name, value) for name, value in response.items() if name.lower() in _KEPT_HEADERS]
    return response.content, headers


def _response_of(stored: tuple[bytes, list[tuple[str, str]]]) -> HttpResponse:
    content, headers = stored
    response = HttpResponse(content)
    for name, value in headers:
        response[name] = value
    return response


def _conditional_or(request: HttpRequest, response: HttpResponse) -> HttpResponseBase:
    etag = response.get("ETag")
    modified = response.get("Last-Modified")
    if etag is None and modified is None:
        return response
    answer = get_conditional_response(
        request,
        etag=etag,
        last_modified=parse_http_date_safe(modified) if modified else None,
        response=response,
    )
    return answer if answer is not None else response
