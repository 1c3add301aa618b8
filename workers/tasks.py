"""Celery tasks: thin wrappers around the generation service."""

from __future__ import annotations

from celery import shared_task

from workers.generation import response_generate_run


@shared_task(name="workers.response_generate", ignore_result=True)
def response_generate(response_id: int) -> None:
    response_generate_run(response_id=response_id)


@shared_task(name="workers.responses_expire_stale", ignore_result=True)
def responses_expire_stale() -> int:
    from workers.generation import responses_expire_stale as expire

    return expire()
