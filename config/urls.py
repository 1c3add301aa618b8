from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.urls import path
from django.views.defaults import page_not_found
from django.views.generic.base import RedirectView

from arena.views import battle_page
from config.api import api
from leaderboard.general_level_views import (
    general_level_fragment,
    general_level_model_page,
    general_level_page,
)
from leaderboard.views import arena_board_fragment, arena_board_page, arena_charts_page

urlpatterns = [
    path("", battle_page, name="battle"),
    path("leaderboard/", arena_board_page, name="leaderboard"),
    path("leaderboard/fragment/", arena_board_fragment, name="leaderboard-fragment"),
    path("leaderboard/charts/", arena_charts_page, name="leaderboard-charts"),
    path("leaderboard/general-level/", general_level_page, name="general-level"),
    path("leaderboard/general-level/fragment/", general_level_fragment, name="general-level-fragment"),
    path("leaderboard/general-level/<str:key>/", general_level_model_page, name="general-level-model"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("favicon.ico", RedirectView.as_view(url=static("arena/favicon.svg"), permanent=True)),
]


def _not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # API clients get the same {"detail": ...} shape as every other API error.
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": f"There is no such API endpoint: {request.path}"}, status=404)
    return page_not_found(request, exception)


handler404 = _not_found
