"""Who is in the playground: the site's own session (its cookie, read with Django's session engine),
so the voter id the arena uses and the signed-in user carry over from the site."""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse

from arena.identity import ip_hash_get, voter_id_get
from core.client_ip import request_client_ip


@dataclass(frozen=True)
class Visitor:
    voter_id: str
    ip_hash: str
    user: AbstractBaseUser | AnonymousUser
    address: str = ""  # for the rate limits per address; only its hash is ever stored


def _session_key(cookie_header: str) -> str | None:
    try:
        cookies = SimpleCookie(cookie_header)
    except CookieError:
        return None
    morsel = cookies.get(settings.SESSION_COOKIE_NAME)
    return morsel.value if morsel is not None and morsel.value else None


def _request(*, cookie_header: str, address: str) -> HttpRequest:
    """A Django request holding the session the cookie names (a new, empty one without it), so that
    the arena's and Django's own helpers read it as they read a page's."""
    store: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(_session_key(cookie_header))
    request = HttpRequest()
    request.session = store
    request.META["REMOTE_ADDR"] = address
    return request


def visitor_session_ensure(*, cookie_header: str, address: str) -> str | None:
    """Give a visitor with no session (or no voter id in it) both, as the site's pages do; the
    Set-Cookie header's value to send, or None when the session was there already."""
    request = _request(cookie_header=cookie_header, address=address)
    voter_id_get(request=request)
    if not request.session.modified:
        return None
    request.session.save()
    response = HttpResponse()
    response.set_cookie(
        settings.SESSION_COOKIE_NAME,
        request.session.session_key or "",
        max_age=request.session.get_expiry_age(),
        domain=settings.SESSION_COOKIE_DOMAIN,
        path=settings.SESSION_COOKIE_PATH,
        secure=bool(settings.SESSION_COOKIE_SECURE),
        httponly=bool(settings.SESSION_COOKIE_HTTPONLY),
        samesite=settings.SESSION_COOKIE_SAMESITE,  # type: ignore[arg-type]  # a str setting, checked by Django
    )
    return response.cookies[settings.SESSION_COOKIE_NAME].OutputString()


def visitor_get(*, cookie_header: str, address: str) -> Visitor | None:
    """The visitor the session cookie names, or None when it names no session with a voter id (the
    page, which gives one, was not loaded through this site, or the session ended meanwhile)."""
    request = _request(cookie_header=cookie_header, address=address)
    voter_id = voter_id_get(request=request)
    if request.session.modified:  # it had none: this new one would be lost, never sent as a cookie
        return None
    return Visitor(
        voter_id=voter_id,
        ip_hash=ip_hash_get(request=request),
        user=get_user(request),
        address=request_client_ip(request=request),
    )
