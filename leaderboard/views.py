from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leaderboard.selectors import online_elo_rows, online_elo_updated_at


def online_elo_page(request: HttpRequest) -> HttpResponse:
    return render(
        request, "leaderboard/elo.html", {"rows": online_elo_rows(), "updated_at": online_elo_updated_at()}
    )
