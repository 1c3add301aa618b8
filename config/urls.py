from django.contrib import admin
from django.urls import path

from arena.views import battle_page
from config.api import api
from leaderboard.views import online_elo_page

urlpatterns = [
    path("", battle_page, name="battle"),
    path("leaderboard/", online_elo_page, name="leaderboard"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
