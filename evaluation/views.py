"""The benchmark pages: the board beside the arena and General-Level boards, and a run's drill-down."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from arena.versions import MODELS
from core.errors import NotFound, ServiceError
from core.http import cached_read
from evaluation.forms import RunStartForm
from evaluation.models import EvaluationRun
from evaluation.scores import (
    RADAR_BENCHMARK,
    benchmark_board,
    category_label,
    evaluation_run_items,
    evaluation_run_readable,
)
from evaluation.services import (
    ENDED,
    evaluation_progress,
    evaluation_run_cancel,
    evaluation_run_resume,
    evaluation_run_start,
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
            "ended": run.status in ENDED,
            "progress": evaluation_progress(run=run),
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


RUNS_SHOWN = 50


def _staff_only(request: HttpRequest) -> None:
    # The page is staff's tool; to anyone else it does not exist.
    if not request.user.is_staff:
        raise Http404("No such page.")


def _runs_page(
    request: HttpRequest, form: RunStartForm, *, status: int = 200, refusal: str = ""
) -> HttpResponse:
    runs = list(EvaluationRun.objects.select_related("model").order_by("-created_at")[:RUNS_SHOWN])
    rows = [(run, run.status in ENDED, evaluation_progress(run=run)) for run in runs]
    context = {"form": form, "rows": rows, "refusal": refusal, "live": any(not ended for _, ended, _ in rows)}
    return render(request, "evaluation/runs.html", context, status=status)


@login_required
def evaluation_runs_page(request: HttpRequest) -> HttpResponse:
    """Staff's runs: the latest with their progress (live while running), and a form to start one."""
    _staff_only(request)
    if request.method != "POST":
        return _runs_page(request, RunStartForm())
    form = RunStartForm(request.POST)
    if not form.is_valid():
        return _runs_page(request, form, status=400)
    try:
        run = evaluation_run_start(
            model=form.cleaned_data["model"],
            benchmark=form.cleaned_data["benchmark"],
            limit=form.cleaned_data["limit"],
            analyses=form.cleaned_data["analyses"],
        )
    except ServiceError as error:
        return _runs_page(request, form, status=error.status_code, refusal=error.message)
    return HttpResponseRedirect(reverse("evaluation-run", args=[run.pk]))


@login_required
@require_POST
def evaluation_run_action(request: HttpRequest, run_id: uuid.UUID, action: str) -> HttpResponse:
    """Cancel or resume a run (staff), back to the runs page, or its sentence when refused."""
    _staff_only(request)
    act = {"cancel": evaluation_run_cancel, "resume": evaluation_run_resume}.get(action)
    if act is None:
        raise Http404("No such action.")
    try:
        act(run_id=run_id)
    except ServiceError as error:
        return _runs_page(request, RunStartForm(), status=error.status_code, refusal=error.message)
    return HttpResponseRedirect(reverse("evaluation-runs"))
