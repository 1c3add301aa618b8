from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic.base import RedirectView

from arena.health import MODELS_SERVED_CHECK, model_queues_listed
from arena.views import battle_page, battle_permalink_page
from config.api import api
from core.health import CORE_CHECKS, healthz, readiness_view
from core.metrics import metrics_view
from evaluation.views import benchmarks_page, evaluation_run_action, evaluation_run_page, evaluation_runs_page
from leaderboard.boards.arena.views import (
    arena_board_fragment,
    arena_board_page,
    arena_board_without_flagged_page,
    arena_charts_page,
)
from leaderboard.boards.general_level.views import (
    general_level_fragment,
    general_level_model_page,
    general_level_page,
)
from leaderboard.boards.model.views import model_page
from portal.submissions.views import (
    submission_action,
    submission_new_page,
    submission_page,
    submissions_page,
    submissions_queue_page,
)
from portal.views import token_revoke_page, tokens_page

urlpatterns = [
    path("", battle_page, name="battle"),
    path("battles/<uuid:battle_id>/", battle_permalink_page, name="battle-permalink"),
    path("leaderboard/", arena_board_page, name="leaderboard"),
    path("leaderboard/fragment/", arena_board_fragment, name="leaderboard-fragment"),
    path("leaderboard/charts/", arena_charts_page, name="leaderboard-charts"),
    path(
        "leaderboard/without-flagged/", arena_board_without_flagged_page, name="leaderboard-without-flagged"
    ),
    path("leaderboard/general-level/", general_level_page, name="general-level"),
    path("leaderboard/general-level/fragment/", general_level_fragment, name="general-level-fragment"),
    path("leaderboard/benchmarks/", benchmarks_page, name="benchmarks"),
    path("leaderboard/general-level/<str:key>/", general_level_model_page, name="general-level-model"),
    path("evaluations/", evaluation_runs_page, name="evaluation-runs"),
    path("evaluations/<uuid:run_id>/", evaluation_run_page, name="evaluation-run"),
    path("evaluations/<uuid:run_id>/<str:action>", evaluation_run_action, name="evaluation-run-action"),
    path("models/<slug:slug>/", model_page, name="model-page"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    # Sign-up, sign-in, sign-out, password reset (django-allauth); README "Accounts and API tokens".
    path("accounts/", include("allauth.urls")),
    path("account/tokens/", tokens_page, name="portal-tokens"),
    # The moderation console (README "Moderation"): moderators and superusers only.
    path("moderation/", include("moderation.urls")),
    path("account/tokens/<int:token_id>/revoke/", token_revoke_page, name="portal-token-revoke"),
    # Model submissions (README "Submitting a model").
    path("submit/", submission_new_page, name="submission-new"),
    path("submissions/", submissions_page, name="submissions"),
    path("submissions/queue/", submissions_queue_page, name="submissions-queue"),
    path("submissions/<uuid:submission_id>/", submission_page, name="submission"),
    path("submissions/<uuid:submission_id>/<str:action>/", submission_action, name="submission-action"),
    # Lazy: the hashed name is looked up in the static manifest when asked, not when URLs load.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("arena/favicon.svg"), permanent=True)),
    # Probes and scrapes (README "Health and metrics"); the edge cache lets these through untouched.
    path("healthz", healthz, name="healthz"),
    path("readyz", readiness_view(checks=(*CORE_CHECKS, MODELS_SERVED_CHECK)), name="readyz"),
    path("metrics", metrics_view(queues=model_queues_listed), name="metrics"),
]

# Pages answer errors with our templates (templates/400.html, 404.html, 500.html) through Django's own
# views; under /api/, core.middleware.ApiErrorMiddleware answers every error as {"detail": ...} JSON.
handler400 = "django.views.defaults.bad_request"
handler404 = "django.views.defaults.page_not_found"
handler500 = "django.views.defaults.server_error"
