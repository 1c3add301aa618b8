"""Celery tasks of the leaderboard: thin wrappers around its services."""

from __future__ import annotations

from core.celery import app


@app.task(name="leaderboard.snapshot_check", ignore_result=True)
def snapshot_check() -> int | None:
    """Beat, every LEADERBOARD_SNAPSHOT_CHECK_S: a new rating snapshot when one is due."""
    from leaderboard.boards.arena.services import snapshot_check as check

    snapshot = check()
    return None if snapshot is None else snapshot.version


@app.task(name="leaderboard.voters_outlier_sweep", ignore_result=True)
def voters_outlier_sweep() -> int:
    """Beat, every LEADERBOARD_OUTLIER_SWEEP_S: flag the voters whose votes go against the ratings."""
    from leaderboard.boards.arena.outliers import voters_outlier_sweep as sweep

    return sweep()
