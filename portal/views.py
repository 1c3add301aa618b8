"""The personal API tokens page: list, create (the secret shown once) and revoke, for signed-in users."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ServiceError
from portal.tokens import NAME_MAX_CHARS, token_create, token_revoke, tokens_of


def _signed_in(request: HttpRequest) -> User:
    # login_required has let only signed-in users through.
    assert isinstance(request.user, User)
    return request.user


def _page(
    request: HttpRequest, *, created: tuple[str, str] | None = None, error: str = "", name: str = ""
) -> HttpResponse:
    context = {
        "tokens": tokens_of(user=_signed_in(request)),
        "created": created,
        "error": error,
        "name": name,
        "name_max": NAME_MAX_CHARS,
    }
    return render(request, "portal/tokens.html", context, status=400 if error else 200)


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    """GET lists the tokens; POST creates one and answers the page with its secret, never redirecting:
    the secret then travels in this one response only, never through the session or a message."""
    if request.method != "POST":
        return _page(request)
    name = request.POST.get("name", "")
    try:
        token, secret = token_create(user=_signed_in(request), name=name)
    except ServiceError as error:
        return _page(request, error=error.message, name=name[: NAME_MAX_CHARS * 2])
    return _page(request, created=(token.name, secret))


@never_cache
@login_required
@require_POST
def token_revoke_page(request: HttpRequest, token_id: int) -> HttpResponseBase:
    try:
        token = token_revoke(user=_signed_in(request), token_id=token_id)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The token “{token.name}” is revoked; requests that send it are refused.")
    return redirect("portal-tokens")
