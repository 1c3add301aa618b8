"""Benchmark runs on the Celery workers: started, asked chunk by chunk, resumed, cancelled, finished.

A run's items (the benchmark's, `items_spread` over the categories when limited) are cut into chunks by
item index, `EVALUATION_CHUNK_ITEMS` each, and each chunk is one task on the model's own queue, so every
worker hosting the model takes chunks. Because a chunk is fixed by index, not by which worker is free, a
re-run chunk asks exactly the prompts the first one did; it skips those already stored, and each answer
is stored as soon as it is scored (`evaluation.runs.item_ask` and `item_score`, as the synchronous run
asks), so a killed worker's chunk continues where it stopped and gives what an uninterrupted run gives.
The chunk that stores the last prediction computes the summary from the stored predictions.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from arena.models import Model
from core.errors import Conflict, InvalidInput, NotFound, ServiceError
from core.realtime import event_send
from core.versions import data_versions_bump
from evaluation.benchmarks import Benchmark, benchmark_get
from evaluation.conditions import STANDARD, Condition, conditions_of, questions_count
from evaluation.items import Item, items_sha256
from evaluation.judge import choice_judge_for
from evaluation.models import EvaluationRun, ItemPrediction, LanguageBase
from evaluation.runs import (
    Ask,
    BenchmarkRun,
    analyses_lines,
    asks_batched,
    asks_of,
    item_score,
    items_ask,
    items_spread,
    run_conditions,
)
from evaluation.scores import benchmark_scores_store, general_level_scores_store
from leaderboard.boards.model.selectors import BENCHMARK_SCORES
from workers.dispatch import EVALUATION_PRIORITY, model_queue

logger = logging.getLogger(__name__)

Status = EvaluationRun.Status
ENDED: Final = frozenset({Status.FINISHED, Status.FAILED, Status.CANCELLED})
# How `item_ask` writes a failed answer: a wrong answer to the benchmark, a failure to the run's verdict.
ERROR_PREFIX: Final = "[error: "


def evaluation_group(*, run_id: uuid.UUID | str) -> str:
    return f"evaluation.{run_id}"


def _conditions(*, run: EvaluationRun, benchmark: Benchmark) -> tuple[Condition, ...]:
    return conditions_of(names=run.conditions or [STANDARD], recipes=benchmark.recipes)


def _questions_count(*, benchmark: Benchmark, item: Item, conditions: tuple[Condition, ...]) -> int:
    # Counting needs no corrupted images: a run's start and resume only count what a chunk asks.
    return questions_count(item=item, recipe=benchmark.recipes[item.answer_type], conditions=conditions)


def _run_items(*, run: EvaluationRun, benchmark: Benchmark) -> tuple[Item, ...]:
    """The run's items in run order; a run whose benchmark's items have changed since it started fails."""
    items = items_spread(items=benchmark.items(), limit=run.limit)
    if items_sha256(items=items) != run.items_sha256:
        raise Conflict(f"The items of {run.benchmark} have changed since this run started; start a new run.")
    return items


def _chunk(items: Sequence[Item], *, run: EvaluationRun, chunk: int) -> Sequence[Item]:
    return items[chunk * run.chunk_size : (chunk + 1) * run.chunk_size]


def _chunks_enqueue(*, run: EvaluationRun, chunks: Sequence[int]) -> None:
    from evaluation.tasks import evaluation_chunk_task

    queue = model_queue(slug=run.model.slug)
    run_id = str(run.pk)

    def enqueue() -> None:
        for chunk in chunks:
            # Behind every answer waiting on the model's workers (workers.dispatch): battles go first.
            evaluation_chunk_task.apply_async(args=[run_id, chunk], queue=queue, priority=EVALUATION_PRIORITY)

    transaction.on_commit(enqueue)


def evaluation_run_start(
    *,
    model: Model,
    benchmark: str,
    limit: int | None = None,
    analyses: bool = False,
    submission_id: uuid.UUID | str | None = None,
) -> EvaluationRun:
    """A stored run of `benchmark` on `model` (at most `limit` items, spread over the categories; with
    `analyses`, each also asked under every condition the analyses compare), its chunks queued on the
    model's queue once the transaction commits."""
    if limit is not None and limit < 1:
        raise InvalidInput("A run needs at least one item; leave the limit out to ask them all.")
    try:
        found = benchmark_get(name=benchmark)
    except LookupError as error:
        raise NotFound(str(error)) from None
    items = items_spread(items=found.items(), limit=limit)
    conditions = run_conditions(benchmark=found, analyses=analyses)
    size = max(1, int(settings.EVALUATION_CHUNK_ITEMS))
    with transaction.atomic():
        run = EvaluationRun.objects.create(
            model=model,
            submission_id=submission_id,
            benchmark=found.name,
            version=found.version(),
            items_sha256=items_sha256(items=items),
            limit=limit,
            conditions=[condition.name for condition in conditions],
            chunk_size=size,
            chunks_total=math.ceil(len(items) / size),
            items_total=len(items),
            prompts_total=sum(
                _questions_count(benchmark=found, item=item, conditions=conditions) for item in items
            ),
        )
        _chunks_enqueue(run=run, chunks=range(run.chunks_total))
    return run


def _run_get(run_id: uuid.UUID | str) -> EvaluationRun:
    try:
        return EvaluationRun.objects.select_related("model").get(pk=run_id)
    except (EvaluationRun.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such evaluation run.") from None


def evaluation_run_cancel(*, run_id: uuid.UUID | str) -> EvaluationRun:
    """Cancelled: its chunks stop before their next prompt; what is stored stays. An ended run stays."""
    with transaction.atomic():
        try:
            run = EvaluationRun.objects.select_for_update().select_related("model").get(pk=run_id)
        except (EvaluationRun.DoesNotExist, ValueError, TypeError):
            raise NotFound("No such evaluation run.") from None
        if run.status in ENDED:
            return run
        run.status = Status.CANCELLED
        run.error = "The run was cancelled."
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
    _verdict_tell(run=run)
    _progress_tell(run=run)
    return run


def _chunks_incomplete(*, run: EvaluationRun, items: Sequence[Item], benchmark: Benchmark) -> list[int]:
    stored = dict(
        ItemPrediction.objects.filter(run=run)
        .values_list("item_index")
        .annotate(n=Count("id"))
        .values_list("item_index", "n")
    )
    conditions = _conditions(run=run, benchmark=benchmark)
    incomplete = []
    for chunk in range(run.chunks_total):
        first = chunk * run.chunk_size
        for index, item in enumerate(_chunk(items, run=run, chunk=chunk), start=first):
            if stored.get(index, 0) < _questions_count(benchmark=benchmark, item=item, conditions=conditions):
                incomplete.append(chunk)
                break
    return incomplete


def evaluation_run_resume(*, run_id: uuid.UUID | str) -> EvaluationRun:
    """Queue again every chunk of a queued or running run that lacks predictions (after a restart, or
    when a chunk's task was lost); a run with all of them stored is finished. An ended run stays."""
    run = _run_get(run_id)
    if run.status == Status.CANCELLED:
        raise Conflict("This run was cancelled; start a new one.")
    if run.status in ENDED:
        return run
    try:
        benchmark = benchmark_get(name=run.benchmark)
        items = _run_items(run=run, benchmark=benchmark)
    except (LookupError, Conflict) as error:
        return _run_fail(run_id=run.pk, error=getattr(error, "message", str(error)))
    incomplete = _chunks_incomplete(run=run, items=items, benchmark=benchmark)
    if not incomplete:
        return _run_finish_if_complete(run_id=run.pk) or run
    with transaction.atomic():
        _chunks_enqueue(run=run, chunks=incomplete)
    return run


def _run_fail(*, run_id: uuid.UUID | str, error: str) -> EvaluationRun:
    with transaction.atomic():
        run = EvaluationRun.objects.select_for_update().select_related("model").get(pk=run_id)
        if run.status in ENDED:
            return run
        run.status = Status.FAILED
        run.error = error
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
    _verdict_tell(run=run)
    _progress_tell(run=run)
    return run


def _status_now(run_id: uuid.UUID | str) -> str | None:
    return EvaluationRun.objects.filter(pk=run_id).values_list("status", flat=True).first()


def _stored_key(ask: Ask) -> tuple[str, str, int]:
    return (ask.item.id, ask.question.condition, ask.question.prompt.rotation)


def evaluation_chunk_run(*, run_id: uuid.UUID | str, chunk: int) -> None:
    """Ask the chunk's prompts that have no stored prediction, storing each as soon as it is scored; the
    chunk that completes the run finishes it. Stops before the next prompt once the run has ended."""
    run = EvaluationRun.objects.select_related("model").filter(pk=run_id).first()
    if run is None or run.status in ENDED or not 0 <= chunk < run.chunks_total:
        return
    if run.status == Status.QUEUED:
        EvaluationRun.objects.filter(pk=run.pk, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=timezone.now()
        )
    try:
        benchmark = benchmark_get(name=run.benchmark)
        items = _run_items(run=run, benchmark=benchmark)
        conditions = _conditions(run=run, benchmark=benchmark)
    except (LookupError, ValueError, Conflict) as error:
        _run_fail(run_id=run.pk, error=getattr(error, "message", str(error)))
        return
    first = chunk * run.chunk_size
    chunk_items = _chunk(items, run=run, chunk=chunk)
    done = set(
        ItemPrediction.objects.filter(
            run=run, item_index__gte=first, item_index__lt=first + len(chunk_items)
        ).values_list("item_id", "condition", "rotation")
    )
    started, asked = time.monotonic(), 0
    judges = {kind: choice_judge_for(recipe=recipe) for kind, recipe in benchmark.recipes.items()}
    asks = asks_of(benchmark=benchmark, items=chunk_items, first=first, conditions=conditions)
    for batch in asks_batched(asks=asks, chunk_size=run.chunk_size):
        # A batch with some prompts stored is asked whole again: batches never depend on what is stored.
        wanted = [ask for ask in batch if _stored_key(ask) not in done]
        if not wanted:
            continue
        if _status_now(run.pk) in ENDED:
            return
        if asked and time.monotonic() - started >= settings.EVALUATION_CHUNK_BUDGET_S:
            # The rest of the chunk in a task of its own, so that no task nears Celery's soft time
            # limit (which would store a time-out as an answer) or the broker's visibility timeout.
            _chunks_enqueue(run=run, chunks=[chunk])
            run.refresh_from_db()
            _progress_tell(run=run)
            return
        asked += len(batch)
        recipe = benchmark.recipes[batch[0].item.answer_type]
        answers = items_ask(model=run.model, recipe=recipe, questions=[ask.question for ask in batch])
        predictions = []
        for ask, answer in zip(batch, answers, strict=True):
            if _stored_key(ask) in done:
                continue
            result = item_score(
                item=ask.item,
                prompt=ask.question.prompt,
                prediction=answer.text,
                probabilities=answer.probabilities,
                judge=judges[ask.item.answer_type],
            )
            predictions.append(
                ItemPrediction(
                    run=run,
                    item_index=ask.index,
                    item_id=result.item_id,
                    condition=ask.question.condition,
                    position=ask.position,
                    rotation=result.rotation,
                    category=result.category,
                    prediction=result.prediction,
                    extracted=result.extracted,
                    correct=result.correct,
                    references=list(result.references),
                    probabilities=None if result.probabilities is None else list(result.probabilities),
                    option_count=result.option_count,
                )
            )
        # A chunk delivered twice at once asks the same prompts and gets the same answers: the first
        # stored stays, the other is dropped by the unique constraint.
        ItemPrediction.objects.bulk_create(predictions, ignore_conflicts=True)
    ended = _run_finish_if_complete(run_id=run.pk)
    if ended is None:
        run.refresh_from_db()
        _progress_tell(run=run)


def _seconds(run: EvaluationRun, *, until: datetime) -> float:
    started = run.started_at or run.created_at
    return max(0.0, (until - started).total_seconds())


def evaluation_predictions(*, run: EvaluationRun) -> Iterator[ItemPrediction]:
    """The run's stored predictions in the order the synchronous run asks them."""
    return (
        ItemPrediction.objects.filter(run=run)
        .order_by("item_index", "position", "rotation")
        .iterator(chunk_size=500)
    )


def _run_finish_if_complete(*, run_id: uuid.UUID | str) -> EvaluationRun | None:
    """Finish the run if every prompt is stored (once, under the run's row lock): the summary from the
    stored predictions, failed instead when the model failed every prompt. None: not complete yet."""
    with transaction.atomic():
        run = EvaluationRun.objects.select_for_update().select_related("model").filter(pk=run_id).first()
        if run is None or run.status in ENDED:
            return None
        if ItemPrediction.objects.filter(run=run).count() < run.prompts_total:
            return None
        benchmark = benchmark_get(name=run.benchmark)
        items = _run_items(run=run, benchmark=benchmark)
        asked = tuple((row.condition, row.result()) for row in evaluation_predictions(run=run))
        results = tuple(result for _, result in asked)
        finished_at = timezone.now()
        summary = BenchmarkRun(
            benchmark=benchmark,
            model=run.model,
            items=items,
            asked=asked,
            seconds=_seconds(run, until=finished_at),
        ).summary()
        summary["revision"] = run.model.adapter_config.get("revision") or None
        summary["run"] = str(run.pk)
        run.summary = summary
        run.finished_at = finished_at
        failures = [result.prediction for result in results if result.prediction.startswith(ERROR_PREFIX)]
        if results and len(failures) == len(results):
            run.status = Status.FAILED
            run.error = f"The model failed on every item; the first failure: {failures[0]}"
        else:
            run.status = Status.FINISHED
        run.save(update_fields=["summary", "finished_at", "status", "error"])
        if run.status == Status.FINISHED:
            benchmark_scores_store(run=run)
            general = general_level_scores_store(run=run, benchmark=benchmark)
            if general:
                run.summary["general_level"] = general
                run.save(update_fields=["summary"])
    _verdict_tell(run=run)
    _progress_tell(run=run)
    return run


def evaluation_progress(*, run: EvaluationRun) -> dict[str, Any]:
    """What the run's page and API show of its progress: prompts done of all, and about how long left."""
    done = ItemPrediction.objects.filter(run=run).count()
    eta_s: float | None = None
    if run.status == Status.RUNNING and run.started_at is not None and done:
        elapsed = _seconds(run, until=timezone.now())
        eta_s = round(elapsed / done * (run.prompts_total - done), 1)
    elif run.status in ENDED:
        eta_s = 0.0
    return {"done": done, "total": run.prompts_total, "eta_s": eta_s}


def _progress_tell(*, run: EvaluationRun) -> None:
    progress = evaluation_progress(run=run)
    if run.submission_id is not None and run.status not in ENDED:
        from portal.submissions.services import submission_progress_record

        submission_progress_record(submission_id=run.submission_id, url=f"/evaluations/{run.pk}/", **progress)
    try:
        event_send(
            group=evaluation_group(run_id=run.pk),
            event="progress",
            timeout=5,
            status=run.status,
            **progress,
        )
    except Exception:  # noqa: BLE001 - the channel layer's errors, whatever they are
        # The API shows the progress when asked: a lost live update loses nothing.
        logger.warning("could not tell evaluation run %s's followers its progress", run.pk)


def summary_lines(*, summary: dict[str, Any]) -> list[str]:
    """The summary as a person reads it in a log: the benchmark, overall and per-category accuracy."""
    overall = summary.get("overall", {})
    counts = summary.get("counts", {})
    lines = [
        f"{summary.get('benchmark')} {summary.get('version')}: {counts.get('items', 0)} items, "
        f"{counts.get('unreadable', 0)} answers unreadable",
        f"overall accuracy {overall.get('accuracy', 0.0):.3f}",
    ]
    for category, row in sorted(summary.get("per_category", {}).items()):
        lines.append(f"{category}: accuracy {row.get('accuracy', 0.0):.3f} ({row.get('items', 0)} items)")
    lines += analyses_lines(analyses=summary.get("analyses"))
    seconds = summary.get("timings", {}).get("seconds")
    if seconds is not None:
        lines.append(f"finished after {seconds:.1f} s")
    return lines


def _verdict_tell(*, run: EvaluationRun) -> None:
    """The verdict of the submission this run evaluates, if it evaluates one."""
    if run.submission_id is None:
        return
    from portal.submissions.services import submission_evaluated

    lines = summary_lines(summary=run.summary) if run.summary else [f"{run.benchmark}: no summary"]
    problem = None
    if run.status != Status.FINISHED:
        problem = run.error or f"The {run.benchmark} run ended {run.status}."
        lines.append(f"error: {problem}")
    submission_evaluated(submission_id=run.submission_id, problem=problem, log_tail="\n".join(lines))


SUBMISSION_BENCHMARK: Final = "tiny-ehub"


def submission_evaluation_run(*, submission_id: uuid.UUID | str) -> EvaluationRun | None:
    """The submission's evaluating step: tiny-ehub (`PORTAL_EVALUATION_LIMIT` items) on its model's
    workers; its verdict comes when the run ends. None when the submission is no longer evaluating."""
    from portal.submissions.models import Submission

    submission = Submission.objects.select_related("model").filter(pk=submission_id).first()
    if submission is None or submission.status != Submission.Status.EVALUATING or submission.model is None:
        return None
    try:
        return evaluation_run_start(
            model=submission.model,
            benchmark=SUBMISSION_BENCHMARK,
            limit=settings.PORTAL_EVALUATION_LIMIT,
            analyses=settings.PORTAL_EVALUATION_ANALYSES,
            submission_id=submission.pk,
        )
    except ServiceError as error:
        # A run that cannot start (a misconfigured limit) is the operator's to fix; say so, never hang.
        from portal.submissions.services import submission_evaluated

        submission_evaluated(submission_id=submission.pk, problem=error.message, log_tail="")
        return None


def language_base_set(*, model: Model, base: Model | None) -> LanguageBase | None:
    """Register `base` as the text-only language model `model` was built on (None: register none). The
    board then gives `model`'s leakage against `base`'s score without images, once both have run with
    analyses on the same items."""
    if base is not None and base.pk == model.pk:
        raise InvalidInput("A model cannot be its own base language model.")
    with transaction.atomic():
        LanguageBase.objects.filter(model=model).delete()
        registered = LanguageBase.objects.create(model=model, base=base) if base is not None else None
        data_versions_bump(BENCHMARK_SCORES)
    return registered
