"""REST endpoints for the caller's own personal API tokens (session or bearer token)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from core.api import ErrorOut
from portal.auth import user_require, write_require
from portal.models import ApiToken
from portal.tokens import token_create, token_revoke, tokens_of

router = Router(tags=["tokens"])


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class TokenCreatedOut(TokenOut):
    secret: str


class TokenIn(Schema):
    name: str


def _token_out(token: ApiToken) -> dict[str, object]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
    }


def _no_store(response: HttpResponse) -> None:
    response["Cache-Control"] = "no-store"


@router.get(
    "/tokens",
    response={200: list[TokenOut], 401: ErrorOut},
    summary="Your active personal API tokens (never their secrets)",
)
def tokens_list(request: HttpRequest, response: HttpResponse) -> list[dict[str, object]]:
    _no_store(response)
    return [_token_out(token) for token in tokens_of(user=user_require(request=request))]


@router.post(
    "/tokens",
    response={201: TokenCreatedOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 409: ErrorOut},
    summary="Create a personal API token; its secret is in this answer only",
    description=(
        "Send the secret as `Authorization: Bearer <secret>`. A request authenticated that way needs "
        "no CSRF token; a signed-in browser session sends `X-CSRFToken` as for any other write."
    ),
)
def tokens_create(
    request: HttpRequest, response: HttpResponse, payload: TokenIn
) -> Status[dict[str, object]]:
    _no_store(response)
    token, secret = token_create(user=write_require(request=request), name=payload.name)
    return Status(201, {**_token_out(token), "secret": secret})


@router.delete(
    "/tokens/{token_id}",
    response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Revoke one of your personal API tokens",
)
def tokens_revoke(request: HttpRequest, token_id: int) -> Status[None]:
    token_revoke(user=write_require(request=request), token_id=token_id)
    return Status(204, None)
