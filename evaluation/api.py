"""REST endpoints of the benchmark runs: a run's status, progress and results JSON, and its per-item
predictions as JSON lines.

Who may read a run: anyone when its model is active (in the arena, so its scores are public); staff, and
the submitter of the submission it evaluates, otherwise. To anyone else it does not exist (404).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from ninja import Router, Schema
from ninja.decorators import decorate_view

from arena.models import Model
from core.api import ErrorOut
from core.errors import NotAllowed, NotFound
from core.http import Validators, conditional
from evaluation.models import EvaluationRun, ItemPrediction
from evaluation.runs import prediction_dict
from evaluation.scores import benchmark_api_dict, benchmark_board, benchmark_board_version, benchmark_csv
from evaluation.services import evaluation_predictions, evaluation_progress
from portal.auth import caller_get

router = Router(tags=["evaluations"])

_NO_RUN = "No such evaluation run."
_LINES_BATCH = 500


class ProgressOut(Schema):
    done: int
    total: int
    eta_s: float | None


class EvaluationOut(Schema):
    id: uuid.UUID
    model: str
    benchmark: str
    version: str
    items_sha256: str
    limit: int | None
    status: str
    progress: ProgressOut
    chunk_size: int
    chunks_total: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    summary: dict[str, Any]
    error: str
    predictions: str


def _readable(request: HttpRequest, run_id: uuid.UUID) -> EvaluationRun:
    run = EvaluationRun.objects.select_related("model", "submission").filter(pk=run_id).first()
    if run is None:
        raise NotFound(_NO_RUN)
    if run.model.status == Model.Status.ACTIVE:
        return run
    try:
        user = caller_get(request=request).user
    except NotAllowed:
        raise NotFound(_NO_RUN) from None
    if user.is_staff or (run.submission is not None and run.submission.submitter_id == user.pk):
        return run
    raise NotFound(_NO_RUN)


@router.get(
    "/evaluations/{run_id}",
    response={200: EvaluationOut, 404: ErrorOut},
    summary="A benchmark run: status, progress and, once finished, its results JSON",
    description=(
        "`summary` is the results JSON once the run has finished: benchmark, version, items_sha256, model, "
        "revision, recipes, `overall` and `per_category` scores, counts and timings. `progress` counts the "
        "prompts answered of all, with an estimate of the seconds left."
    ),
)
def evaluation_get(request: HttpRequest, run_id: uuid.UUID) -> dict[str, Any]:
    run = _readable(request, run_id)
    return {
        "id": run.pk,
        "model": run.model.slug,
        "benchmark": run.benchmark,
        "version": run.version,
        "items_sha256": run.items_sha256,
        "limit": run.limit,
        "status": run.status,
        "progress": evaluation_progress(run=run),
        "chunk_size": run.chunk_size,
        "chunks_total": run.chunks_total,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "summary": run.summary,
        "error": run.error,
        "predictions": f"/api/v1/evaluations/{run.pk}/predictions.jsonl",
    }


def prediction_line(prediction: ItemPrediction) -> str:
    """One prediction as `manage.py run_benchmark --predictions` writes it (sorted keys), and a newline."""
    row = prediction_dict(condition=prediction.condition, result=prediction.result())
    return json.dumps(row, sort_keys=True) + "\n"


def _lines(run: EvaluationRun) -> Iterator[str]:
    for prediction in evaluation_predictions(run=run):
        yield prediction_line(prediction)


async def _lines_async(run: EvaluationRun) -> AsyncIterator[str]:
    def batch(after: tuple[int, int, int] | None) -> list[ItemPrediction]:
        rows = ItemPrediction.objects.filter(run=run).order_by("item_index", "position", "rotation")
        if after is not None:
            index, position, rotation = after
            rows = rows.filter(
                Q(item_index__gt=index)
                | Q(item_index=index, position__gt=position)
                | Q(item_index=index, position=position, rotation__gt=rotation)
            )
        return list(rows[:_LINES_BATCH])

    after: tuple[int, int, int] | None = None
    while True:
        rows = await sync_to_async(batch, thread_sensitive=True)(after)
        if rows:
            yield "".join(prediction_line(prediction) for prediction in rows)
        if len(rows) < _LINES_BATCH:
            return
        after = (rows[-1].item_index, rows[-1].position, rows[-1].rotation)


@router.get(
    "/evaluations/{run_id}/predictions.jsonl",
    response={200: None, 404: ErrorOut},
    summary="A benchmark run's per-item predictions (JSON lines)",
    description=(
        "One line per asked prompt, in item order (each item's conditions in run order, rotations in "
        "order): item_id, category, prediction, extracted (what the rules read from it; null: nothing), "
        "correct, references, rotation, probabilities, group, option_count, and for a run with analyses "
        "the condition of every prompt but the standard ones. What is stored so far, while the run goes on."
    ),
)
def evaluation_predictions_get(request: HttpRequest, run_id: uuid.UUID) -> HttpResponseBase:
    run = _readable(request, run_id)
    # Under ASGI a synchronous iterator would be read whole before sending; give it an async one.
    lines = _lines_async(run) if isinstance(request, ASGIRequest) else _lines(run)
    streamed = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
    streamed["Content-Disposition"] = f'inline; filename="{run.benchmark}-{run.model.slug}.jsonl"'
    return streamed


class ScoreOut(Schema):
    score: float
    lower: float
    upper: float
    items: int


class BenchmarkModelOut(Schema):
    model: str
    name: str
    version: str
    run: str
    overall: ScoreOut | None
    categories: dict[str, ScoreOut]


class RankCorrelationOut(Schema):
    models: list[str]
    spearman: float
    kendall: float
    spearman_interval: list[float] | None
    kendall_interval: list[float] | None
    confidence: float
    resamples: int


class CorrelationOut(Schema):
    category: str
    correlation: RankCorrelationOut | None
    reason: str | None


class GainOut(Schema):
    items: int
    score_with_image: float
    score_without_image: float
    text_only_score: float | None
    gain: float
    leakage: float | None


class WordingOut(Schema):
    wording: str
    accuracy: float


class StabilityOut(Schema):
    items: int
    wordings: list[WordingOut]
    best_wording: str
    best: float
    mean: float
    std: float


class RobustnessOut(Schema):
    corruption: str
    items: int
    clean: float
    corrupt: float
    chance: float
    relative: float | None


class ModalityShareOut(Schema):
    modality: str
    items: int
    accuracy_without: float
    answered: int
    needed: int
    share: float | None


class ModalityOut(Schema):
    benchmark: str
    items: int
    accuracy_with_all: float
    answered: int
    modalities: list[ModalityShareOut]
    one_modality_share: float | None
    answerable_from_one_modality: bool


class AnalysisOut(Schema):
    model: str
    name: str
    run: str
    gain: GainOut | None
    text_base: str | None
    stability: StabilityOut | None
    robustness: list[RobustnessOut]
    modality: ModalityOut | None


class BenchmarkOut(Schema):
    benchmark: str
    categories: list[str]
    models: list[BenchmarkModelOut]
    arena_correlation: list[CorrelationOut]
    analyses: list[AnalysisOut]


class BenchmarksOut(Schema):
    version: str
    updated_at: datetime | None
    benchmarks: list[BenchmarkOut]


def _benchmarks_validators(request: HttpRequest) -> Validators:
    version, updated_at = benchmark_board_version()
    return Validators.of("benchmarks", version, request.path, last_modified=updated_at)


@router.get(
    "/benchmarks",
    response={200: BenchmarksOut, 304: None},
    summary="The benchmark board: every active model's latest scores on each benchmark",
    description=(
        "Per benchmark, each active model's accuracy overall and per category from its latest finished "
        "run, with a 95% bootstrap interval over the items (`lower`, `upper`) and the item count; best "
        "overall first. `arena_correlation`: per category (overall first), Spearman and Kendall tau-b "
        "between the benchmark's scores and the arena's overall ratings (latest snapshot), with bootstrap "
        "intervals over models, or the reason there is none (fewer than 3 shared models). `analyses`: per "
        "model with a finished run with analyses, MMStar's multimodal gain and leakage (leakage null "
        "without a registered base language model that has run too), instruction stability over the "
        "wordings, ChEF's relative robustness per corruption, and modality importance. "
        "Send the ETag back as If-None-Match: 304 while nothing changed."
    ),
)
@decorate_view(conditional(_benchmarks_validators))
def benchmarks_get(request: HttpRequest) -> dict[str, Any]:
    return benchmark_api_dict(board=benchmark_board())


@router.get(
    "/benchmarks.csv",
    response={200: None, 304: None},
    summary="The benchmark board as CSV",
    description=(
        "One row per benchmark, model, category (`overall` first) and metric: benchmark, version, model, "
        "name, category, metric (`accuracy`, with lower and upper; then the analyses' numbers: "
        "multimodal_gain, multimodal_leakage, stability_mean/std/best, robustness_<corruption>, "
        "needs_<modality>, one_modality_share), score, lower, upper, items, run. With an ETag; "
        "If-None-Match gives 304."
    ),
    openapi_extra={
        "responses": {
            200: {"description": "The board", "content": {"text/csv": {"schema": {"type": "string"}}}}
        }
    },
)
@decorate_view(conditional(_benchmarks_validators))
def benchmarks_csv_get(request: HttpRequest) -> HttpResponseBase:
    response = HttpResponse(benchmark_csv(board=benchmark_board()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="benchmarks.csv"'
    return response
