"""Celery tasks of the leaderboard: thin wrappers around its services."""

from __future__ import annotations

from core.celery import app


@app.task(name="leaderboard.snapshot_check", ignore_result=True)
def snapshot_check() -> int | None:
    """Beat, every LEADERBOARD_SNAPSHOT_CHECK_S: a new rating snapshot when one is due."""
    from leaderboard.boards.arena.services import snapshot_check as check

    snapshot = check()
    return None if snapshot is None else snapshot.version
