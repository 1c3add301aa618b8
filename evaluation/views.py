"""The benchmark pages: the board beside the arena and General-Level boards, and a run's drill-down."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from arena.versions import MODELS
from core.errors import NotFound
from core.http import cached_read
from evaluation.scores import (
    RADAR_BENCHMARK,
    benchmark_board,
    category_label,
    evaluation_run_items,
    evaluation_run_readable,
)
from leaderboard.boards.arena.versions import SNAPSHOT
from leaderboard.boards.model.selectors import BENCHMARK_SCORES


# The correlations read the latest rating snapshot: a new one empties this cache too.
@cached_read(BENCHMARK_SCORES, MODELS, SNAPSHOT, anonymous_only=True)
def benchmarks_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "evaluation/benchmarks.html",
        {"board": benchmark_board(), "radar_benchmark": RADAR_BENCHMARK},
    )


def evaluation_run_page(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """A run's items, prediction by prediction; who may not read the run sees a 404."""
    try:
        run = evaluation_run_readable(run_id=run_id, user=request.user)
    except NotFound as error:
        raise Http404(error.message) from None
    shown, rows = evaluation_run_items(run=run, page=request.GET.get("page"))
    overall = run.summary.get("overall") if isinstance(run.summary, dict) else None
    per_category = run.summary.get("per_category") if isinstance(run.summary, dict) else None
    return render(
        request,
        "evaluation/run.html",
        {
            "run": run,
            "page_obj": shown,
            "rows": rows,
            "overall": overall if isinstance(overall, dict) else None,
            "per_category": [
                (key, category_label(key), row)
                for key, row in sorted(per_category.items() if isinstance(per_category, dict) else [])
                if isinstance(row, dict)
            ],
        },
    )
