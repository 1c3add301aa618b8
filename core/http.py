"""HTTP caching for read endpoints: ETag, Last-Modified and 304, in one decorator.

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

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from core.errors import ServiceError


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
