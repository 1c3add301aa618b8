"""The REST API (django-ninja): one NinjaAPI, a router per app, errors as {"detail": "..."}."""

from __future__ import annotations

from arena.api import router as arena_router
from core.api import DocumentedAPI, OfflineSwagger, api_errors_install
from evaluation.api import router as evaluations_router
from leaderboard.boards.arena.api import router as ratings_router
from leaderboard.boards.general_level.api import router as leaderboard_router
from portal.api import router as submissions_router
from portal.auth import api_auth_errors_install
from portal.tokens_api import router as tokens_router

api = DocumentedAPI(
    title="Arena Hub API",
    version="1",
    description="Blind battles between multimodal models, votes and leaderboards.",
    urls_namespace="api-v1",
    docs=OfflineSwagger(),
)
api.add_router("", arena_router)
api.add_router("", ratings_router)
api.add_router("", leaderboard_router)
api.add_router("", tokens_router)
api.add_router("", submissions_router)
api.add_router("", evaluations_router)


api_errors_install(api=api)
api_auth_errors_install(api=api)
