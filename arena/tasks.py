"""Celery tasks of the arena: thin wrappers around its services."""

from __future__ import annotations

from core.celery import app


@app.task(name="arena.response_generate", ignore_result=True)
def response_generate(response_id: int) -> None:
    from arena.answers import answer_generate

    answer_generate(response_id=response_id)


@app.task(name="arena.responses_expire_stale", ignore_result=True)
def responses_expire_stale() -> int:
    from arena.answers import responses_expire_stale as expire

    return expire()


@app.task(name="arena.retention_sweep", ignore_result=True)
def retention_sweep() -> int:
    from arena.retention import retention_sweep as sweep

    return sweep()
