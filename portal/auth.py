"""Who calls an API endpoint: a personal API token (`Authorization: Bearer <secret>`) or a signed-in session.

Endpoints call `user_require` to read and `write_require` to change something. The rule for writes:
a request authenticated by a bearer token skips the CSRF and Origin checks (`core.guards.csrf_require`),
and only such a request. Those checks exist because a browser attaches the session cookie to requests
that other sites make it send; it never attaches an Authorization header by itself, so a request that
carries a valid token was composed by someone holding the secret. A request with an Authorization
header is judged by that header alone: a bad token is refused (401), never retried as the session, so
no header can turn a session write into one that skips CSRF.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from core.errors import NotAllowed
from core.guards import csrf_require
from portal.tokens import token_authenticate

_CALLER_ATTR = "_portal_caller"
_HOW_TO = (
    "sign in at /accounts/login/, or send a personal API token (create one at /account/tokens/) "
    "as the header 'Authorization: Bearer <token>'."
)


class NotAuthenticated(NotAllowed):
    """No credentials, or credentials that are not valid: 401 (NotAllowed's 403 is for a known caller)."""

    status_code = 401


@dataclass(frozen=True)
class Caller:
    user: User
    by_token: bool


def _bearer_caller(request: HttpRequest, header: str) -> Caller:
    scheme, _, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise NotAuthenticated(f"The Authorization header is not a bearer token. To use the API, {_HOW_TO}")
    user = token_authenticate(secret=secret)
    if user is None:
        raise NotAuthenticated(
            "This API token is not valid: it may be mistyped or revoked, or its account disabled. "
            "Create a new one at /account/tokens/."
        )
    # Later checks that read request.user (core.guards.staff_require) see the token's owner.
    request.user = user
    return Caller(user=user, by_token=True)


def caller_get(*, request: HttpRequest) -> Caller:
    """The authenticated caller and how they proved it; NotAuthenticated (401) when there is none."""
    known: Caller | None = getattr(request, _CALLER_ATTR, None)
    if known is not None:
        return known
    header = request.headers.get("Authorization")
    if header is not None:
        caller = _bearer_caller(request, header)
    elif request.user.is_authenticated and isinstance(request.user, User):
        caller = Caller(user=request.user, by_token=False)
    else:
        raise NotAuthenticated(f"You are not signed in. To use this, {_HOW_TO}")
    setattr(request, _CALLER_ATTR, caller)
    return caller


def user_require(*, request: HttpRequest) -> User:
    """The caller, by bearer token or session, for an endpoint that reads."""
    return caller_get(request=request).user


def write_require(*, request: HttpRequest) -> User:
    """The caller, for an endpoint that changes something: a session write must carry a valid CSRF token
    (and pass Django's Origin check); a bearer-token write needs neither (see the module's docstring)."""
    caller = caller_get(request=request)
    if not caller.by_token:
        csrf_require(request=request)
    return caller.user


def api_auth_errors_install(*, api: NinjaAPI) -> None:
    """Answer NotAuthenticated as `{"detail": ...}` 401 with the `WWW-Authenticate` header HTTP asks of it."""

    @api.exception_handler(NotAuthenticated)
    def _not_authenticated(request: HttpRequest, exc: NotAuthenticated) -> HttpResponse:
        response = api.create_response(request, {"detail": exc.message}, status=exc.status_code)
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
