"""A model's public page: `/models/<slug>/`."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from arena.versions import MODELS
from core.errors import InvalidInput, NotFound
from core.http import cached_read
from leaderboard.boards.arena.categories import OVERALL
from leaderboard.boards.arena.versions import SNAPSHOT
from leaderboard.boards.general_level.versions import GENERAL_LEVEL
from leaderboard.boards.model.chart import HEIGHT, WIDTH
from leaderboard.boards.model.selectors import BENCHMARK_SCORES, model_page_get


# What the page shows changes with a model edit, a snapshot or a General-Level change, never with a
# vote alone (the live online Elo is the board's): votes do not empty this cache.
@cached_read(SNAPSHOT, MODELS, GENERAL_LEVEL, BENCHMARK_SCORES, anonymous_only=True)
def model_page(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        page = model_page_get(slug=slug, category=request.GET.get("category") or OVERALL)
    except (NotFound, InvalidInput) as error:
        raise Http404(error.message) from None
    return render(
        request, "leaderboard/model.html", {"page": page, "chart_width": WIDTH, "chart_height": HEIGHT}
    )
