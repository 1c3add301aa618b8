"""The REST API (django-ninja): one NinjaAPI, a router per app, errors as {"detail": "..."}."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from arena.api import router as arena_router
from arena.errors import ArenaError
from leaderboard.api import router as leaderboard_router
from leaderboard.board_api import router as ratings_router

api = NinjaAPI(
    title="Arena Hub API",
    version="1",
    description="Blind battles between multimodal models, votes and leaderboards.",
    urls_namespace="api-v1",
)
api.add_router("", arena_router)
api.add_router("", ratings_router)
api.add_router("", leaderboard_router)


@api.exception_handler(ArenaError)
def _arena_error(request: HttpRequest, exc: ArenaError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


def _field_name(location: object) -> str:
    parts = (
        [str(part) for part in location if part not in ("body", "query", "path", "form", "payload")]
        if isinstance(location, (list, tuple))
        else [str(location)]
    )
    return ".".join(parts) or "request"


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = [f"{_field_name(error.get('loc', ()))}: {error.get('msg', 'invalid')}" for error in exc.errors]
    detail = "The request is not valid — " + "; ".join(problems)
    return api.create_response(request, {"detail": detail, "errors": exc.errors}, status=422)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)
