"""Celery tasks of the submissions: thin wrappers around portal.submissions.checks."""

from __future__ import annotations

from core.celery import app


@app.task(name="portal.submission_check", ignore_result=True)
def submission_check_task(submission_id: str) -> None:
    from portal.submissions.checks import submission_check

    submission_check(submission_id=submission_id)


@app.task(name="portal.submission_evaluate", ignore_result=True)
def submission_evaluate_task(submission_id: str) -> None:
    from portal.submissions.checks import submission_evaluate

    submission_evaluate(submission_id=submission_id)


@app.task(name="portal.submission_answer", ignore_result=True)
def submission_answer_task(submission_id: str) -> None:
    from portal.submissions.checks import submission_answer

    submission_answer(submission_id=submission_id)
