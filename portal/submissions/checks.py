"""The checks a submission passes before staff see it, and its evaluation once approved.

Both run in Celery workers: the checks on PORTAL_CHECK_QUEUE (a worker that can read the checkpoints
and reach the endpoints), the evaluation's generation on the model's own queue, through the same
workers, adapters and runner as an arena answer. Evaluating is the Celery task PORTAL_EVALUATION_TASK
names (the evaluation app's tiny-ehub run), or, where that task is not installed, one answer to
PORTAL_SMOKE_PROMPT: the model loads, streams and finishes within the time limit.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from django.conf import settings

from core.celery import app
from portal.submissions import services
from portal.submissions.models import Submission
from workers.adapters.base import GenerationParams, GenerationStats, Message, TextPart
from workers.dispatch import model_queue
from workers.runner import ModelSpec, generation_run

_NO_WORKER = (
    "No worker runs this model: an operator must start a worker whose --models patterns match {slug}."
)


def submission_check(*, submission_id: str) -> Submission | None:
    """Run the checks of the submission's kind and record the verdict."""
    submission = Submission.objects.filter(pk=submission_id).first()
    if submission is None or submission.status != Submission.Status.CHECKING:
        return submission
    problem: str | None
    report: dict[str, Any]
    if submission.kind == Submission.Kind.CHECKPOINT:
        problem, report = _checkpoint_check(submission)
    else:
        problem, report = _endpoint_check(submission)
    return services.submission_checked(submission_id=submission.pk, problem=problem, report=report)


def _checkpoint_check(submission: Submission) -> tuple[str | None, dict[str, Any]]:
    from workers.checks import checkpoint_inspect

    found = checkpoint_inspect(
        source=submission.source, revision=submission.revision or None, max_params=settings.PORTAL_MAX_PARAMS
    )
    if not found.ok:
        return found.reason, {}
    report = {key: value for key, value in dataclasses.asdict(found).items() if key != "ok"}
    same = (
        Submission.objects.filter(
            kind=submission.kind, source=submission.source, commit=report.get("commit") or "-"
        )
        .exclude(pk=submission.pk)
        .exclude(
            status__in=[Submission.Status.REFUSED, Submission.Status.REJECTED, Submission.Status.WITHDRAWN]
        )
        .first()
    )
    if same is not None:
        return (
            f"This commit of {submission.source} has already been submitted (as {same.display_name}).",
            report,
        )
    return None, report


def _endpoint_check(submission: Submission) -> tuple[str | None, dict[str, Any]]:
    from workers.adapters.settings import OpenAISettings, settings_parse
    from workers.checks import endpoint_probe

    kind, config = services.adapter_of(submission=submission)
    parsed = settings_parse(kind=kind, config=config)
    assert isinstance(parsed, OpenAISettings), "an endpoint submission runs on the OpenAI adapter"
    probed = endpoint_probe(settings=parsed, timeout_s=settings.PORTAL_ENDPOINT_TIMEOUT_S)
    if not probed.ok:
        return probed.reason, {}
    return None, {"reason": probed.reason, "elapsed_s": round(probed.elapsed_s, 3), "answer": probed.answer}


def submission_evaluate(*, submission_id: str) -> None:
    """Register the model (paused), then hand its evaluation to a worker that runs it."""
    from portal.submissions.tasks import submission_answer_task
    from workers.presence import queues_unserved

    submission = services.submission_evaluation_start(submission_id=submission_id)
    if submission is None:
        return
    queue = model_queue(slug=submission.slug)
    # Workers add a newly registered model's queue at once when told, or within WORKER_QUEUES_REFRESH_S.
    deadline = time.monotonic() + settings.PORTAL_WORKER_WAIT_S
    while queues_unserved(queues=[queue]):
        if time.monotonic() > deadline:
            services.submission_evaluated(
                submission_id=submission_id, problem=_NO_WORKER.format(slug=submission.slug), log_tail=""
            )
            return
        time.sleep(0.5)
    evaluation_task = settings.PORTAL_EVALUATION_TASK
    if evaluation_task and evaluation_task in app.tasks:
        # By name: the evaluation app sits above the portal. Its run fans out on the model's queue and
        # records the verdict when it ends.
        app.send_task(evaluation_task, args=[submission_id], queue=settings.PORTAL_CHECK_QUEUE)
        return
    submission_answer_task.apply_async(args=[submission_id], queue=queue)


def submission_answer(*, submission_id: str) -> None:
    """The evaluation's generation, on the model's own worker; the verdict with the log's tail."""
    submission = Submission.objects.select_related("model").filter(pk=submission_id).first()
    if submission is None or submission.status != Submission.Status.EVALUATING or submission.model is None:
        return
    model = submission.model
    chunks: list[str] = []
    stats = GenerationStats()
    stats.mark_started()
    outcome = generation_run(
        model=ModelSpec(key=model.slug, kind=model.adapter_kind, config=model.adapter_config),
        conversation=[Message(role="user", content=(TextPart(text=settings.PORTAL_SMOKE_PROMPT),))],
        params=GenerationParams(max_new_tokens=settings.PORTAL_SMOKE_TOKENS, temperature=0.0),
        stats=stats,
        on_chunk=chunks.append,
        time_limit_s=settings.PORTAL_SMOKE_TIME_LIMIT_S,
    )
    answer = "".join(chunks)
    elapsed = (stats.finished_at or time.time()) - (stats.started_at or time.time())
    first = (stats.first_chunk_at - stats.started_at) if stats.first_chunk_at and stats.started_at else None
    lines = [
        f"prompt: {settings.PORTAL_SMOKE_PROMPT}",
        f"answer ({len(answer)} characters): {answer[:1000]}",
        f"first chunk after {first:.2f} s" if first is not None else "no chunk arrived",
        f"finished after {elapsed:.2f} s",
    ]
    problem = outcome.error
    if problem is None and not answer.strip():
        problem = "The model answered with nothing."
    if problem:
        lines.append(f"error: {problem}")
    services.submission_evaluated(submission_id=submission_id, problem=problem, log_tail="\n".join(lines))
