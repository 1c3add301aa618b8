"""Cookie-authenticated API writes must say they come from this site (SECURITY.md "Origin check").

Django's CSRF check compares the `Referer` only over HTTPS, and lets a request with neither `Origin` nor
`Referer` through over plain HTTP on the token alone. Here, every unsafe request under /api/ that
carries the session cookie must also name a trusted origin, whatever the scheme: its `Origin` header,
or else its `Referer`'s origin, is the request's own (scheme and host) or one of CSRF_TRUSTED_ORIGINS
(`https://*.example.org` covers the subdomains, as for Django). Browsers send `Origin` on every
`fetch` POST and form post, so the site's own pages pass; a page elsewhere cannot forge it.

Exempt: a request with `Authorization: Bearer …` (the portal's API tokens). A browser never attaches
that header by itself, and another site cannot make it send one (it is not a CORS-safelisted header,
and writes are not opened to other origins), so such a request was composed by the token's holder; a
bad token is refused by the endpoint (401). A request without the session cookie has no session to
abuse and goes on to the endpoint's own checks.
"""

from __future__ import annotations

import logging
from typing import Final
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import is_same_domain

from core.middleware import api_error_response, api_request_is

logger = logging.getLogger(__name__)

_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
NO_ORIGIN_DETAIL: Final = (
    "This request changes something with your session but says neither where it comes from (no Origin "
    "or Referer header): send it from this site's pages, or use an API token (Authorization: Bearer)."
)
FOREIGN_ORIGIN_DETAIL: Final = (
    "This request changes something with your session but comes from another site ({origin}), so it "
    "was refused: send it from this site's pages, or use an API token (Authorization: Bearer)."
)


def _origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL, lower-cased; None for anything that is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def origin_trusted(*, request: HttpRequest, origin: str) -> bool:
    """Whether `origin` (`scheme://host[:port]`) is the request's own or one of CSRF_TRUSTED_ORIGINS."""
    if origin == f"{request.scheme}://{request.get_host().lower()}":
        return True
    scheme, _, netloc = origin.partition("://")
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        trusted_scheme, _, trusted_netloc = trusted.lower().partition("://")
        if trusted_scheme != scheme:
            continue
        if trusted_netloc.startswith("*"):
            # "https://*.example.org": as Django's CSRF check reads it, any subdomain (and the domain).
            if is_same_domain(netloc, trusted_netloc[1:]):
                return True
        elif trusted_netloc == netloc:
            return True
    return False


def _bearer(request: HttpRequest) -> bool:
    scheme, _, secret = request.headers.get("Authorization", "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(secret.strip())


class OriginCheckMiddleware(MiddlewareMixin):
    """Refuse (403, `{"detail": ...}`) a cookie-authenticated API write from no origin or a foreign one."""

    def process_request(self, request: HttpRequest) -> HttpResponseBase | None:
        if request.method in _SAFE_METHODS or not api_request_is(request):
            return None
        if not request.COOKIES.get(settings.SESSION_COOKIE_NAME) or _bearer(request):
            return None
        origin_header = request.headers.get("Origin", "").strip()
        if origin_header:
            # "null" (a sandboxed frame, a file: page, some redirects) is no origin anyone can trust.
            origin = _origin_of(origin_header)
        else:
            referer = request.headers.get("Referer", "").strip()
            if not referer:
                return api_error_response(request, 403, detail=NO_ORIGIN_DETAIL)
            origin = _origin_of(referer)
        if origin is not None and origin_trusted(request=request, origin=origin):
            return None
        shown = origin or (origin_header or "an unreadable Referer")[:100]
        logger.warning("Refused a session write to %s from %s", request.path, shown)
        return api_error_response(request, 403, detail=FOREIGN_ORIGIN_DETAIL.format(origin=shown))
