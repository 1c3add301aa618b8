"""Celery tasks of the benchmark runs: thin wrappers around evaluation.services."""

from __future__ import annotations

from core.celery import app


@app.task(name="evaluation.run_chunk", ignore_result=True)
def evaluation_chunk_task(run_id: str, chunk: int) -> None:
    from evaluation.services import evaluation_chunk_run

    evaluation_chunk_run(run_id=run_id, chunk=chunk)


@app.task(name="evaluation.submission_evaluate", ignore_result=True)
def submission_evaluate_task(submission_id: str) -> None:
    """The portal's evaluating step (PORTAL_EVALUATION_TASK): a tiny-ehub run of the submitted model."""
    from evaluation.services import submission_evaluation_run

    submission_evaluation_run(submission_id=submission_id)
