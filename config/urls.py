from django.contrib import admin
from django.templatetags.static import static
from django.urls import path
from django.views.generic.base import RedirectView

from arena.views import battle_page
from config.api import api
from leaderboard.general_level_views import (
    general_level_fragment,
    general_level_model_page,
    general_level_page,
)
from leaderboard.views import online_elo_page

urlpatterns = [
    path("", battle_page, name="battle"),
    path("leaderboard/", online_elo_page, name="leaderboard"),
    path("leaderboard/general-level/", general_level_page, name="general-level"),
    path("leaderboard/general-level/fragment/", general_level_fragment, name="general-level-fragment"),
    path("leaderboard/general-level/<str:key>/", general_level_model_page, name="general-level-model"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("favicon.ico", RedirectView.as_view(url=static("arena/favicon.svg"), permanent=True)),
]
