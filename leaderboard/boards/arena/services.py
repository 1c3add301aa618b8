"""Changes behind the arena leaderboard: rating snapshots and live board events.

The online Elo moves with every vote (in the vote's transaction). The Bradley-Terry ratings, their
intervals and ranks are recomputed as a snapshot: by a Celery beat task every few seconds once
enough new votes arrived (LEADERBOARD_SNAPSHOT_MIN_VOTES) or the last snapshot is old
(LEADERBOARD_SNAPSHOT_MAX_AGE_S) and any vote arrived since. Either way open board pages hear of
it on `board.arena` once the change is committed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from arena.models import Model
from leaderboard.boards.arena.categories import OVERALL
from leaderboard.boards.arena.online_elo import online_elo_by_slug
from leaderboard.boards.arena.selectors import arena_board_version, snapshot_latest
from leaderboard.boards.arena.votes import (
    VoteTally,
    pair_counts_by_category,
    votes_counted,
    votes_counted_tally,
)
from leaderboard.live import board_updated_publish
from leaderboard.models import RatingSnapshot
from leaderboard.ratings.leaderboard import leaderboard_compute

logger = logging.getLogger(__name__)

BOARD: Final = "arena"
# Any constant: the key of the PostgreSQL advisory lock that lets one snapshot be computed at a time.
_SNAPSHOT_LOCK_KEY: Final = 0x4152_454E_4153_4E50
_SEED: Final = 0  # a fixed seed: the same votes give the same intervals


def arena_board_updated_publish() -> None:
    """Tell open arena board pages to refetch; scheduled with transaction.on_commit."""
    board_updated_publish(board=BOARD, version=arena_board_version())


def arena_board_publish_on_commit() -> None:
    transaction.on_commit(arena_board_updated_publish)


@dataclass(frozen=True)
class SnapshotDue:
    due: bool
    reason: str
    new_votes: int


def snapshot_due(*, now: datetime | None = None) -> SnapshotDue:
    """Whether a new snapshot should be computed now, and why (or why not)."""
    now = now or timezone.now()
    latest = snapshot_latest()
    if latest is None:
        tally = votes_counted_tally()
        if tally.count:
            return SnapshotDue(True, "there is no snapshot yet", tally.count)
        return SnapshotDue(False, "there are no votes yet", 0)
    new = votes_counted_tally(after_id=latest.last_vote_id).count
    if new >= settings.LEADERBOARD_SNAPSHOT_MIN_VOTES:
        return SnapshotDue(True, f"{new} new votes", new)
    if now - latest.created_at < timedelta(seconds=settings.LEADERBOARD_SNAPSHOT_MAX_AGE_S):
        return SnapshotDue(False, f"{new} new votes, and the snapshot is recent", new)
    if new:
        return SnapshotDue(True, f"{new} new votes, and the snapshot is old", new)
    # Nothing new by id; a vote counted before may have been invalidated since (moderation).
    if votes_counted().count() != latest.vote_count:
        return SnapshotDue(True, "votes were invalidated, and the snapshot is old", 0)
    return SnapshotDue(False, "no new votes", 0)


def snapshot_compute(*, only_if_due: bool = False, now: datetime | None = None) -> RatingSnapshot | None:
    """Compute and store a snapshot of every category from the counted votes; publish it on commit.

    One at a time: returns None when another computation holds the lock, when there are no
    counted votes, or (with `only_if_due`) when `snapshot_due` says it is not time yet.
    """
    isolated = not connection.in_atomic_block
    with transaction.atomic():
        if isolated:
            # The counts, the tally and the online Elo are read from one consistent view.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SNAPSHOT_LOCK_KEY])
            (locked,) = cursor.fetchone() or (False,)
        if not locked:
            return None
        if only_if_due and not snapshot_due(now=now).due:
            return None
        tally = votes_counted_tally()
        if not tally.count:
            return None
        snapshot = _snapshot_build(tally=tally)
        _matrices_prune(keep_from=snapshot.version - max(1, settings.LEADERBOARD_SNAPSHOT_KEEP_MATRICES) + 1)
        transaction.on_commit(arena_board_updated_publish)
    logger.info(
        "snapshot %s: %s votes in %.2f s", snapshot.version, snapshot.vote_count, snapshot.compute_seconds
    )
    return snapshot


def snapshot_check() -> RatingSnapshot | None:
    """The beat task's body: a snapshot when one is due, else nothing."""
    return snapshot_compute(only_if_due=True)


def snapshot_settings() -> dict[str, Any]:
    return {
        "interval": "bootstrap",
        "bootstrap_rounds": settings.LEADERBOARD_BOOTSTRAP_ROUNDS,
        "seed": _SEED,
        "penalty": settings.LEADERBOARD_PENALTY,
        "anony_only": settings.LEADERBOARD_ANONY_ONLY,
        "min_votes": settings.LEADERBOARD_SNAPSHOT_MIN_VOTES,
        "max_age_s": settings.LEADERBOARD_SNAPSHOT_MAX_AGE_S,
    }


def _snapshot_build(*, tally: VoteTally) -> RatingSnapshot:
    started = time.perf_counter()
    counts = pair_counts_by_category(last_vote_id=tally.last_id)
    overall = counts[OVERALL]
    online = online_elo_by_slug(slugs=overall.models)
    results: dict[str, Any] = {}
    for category, category_counts in counts.items():
        # The online Elo is each model's one live rating; every category shows the same value.
        result = leaderboard_compute(
            counts=category_counts,
            online_elo={slug: rating for slug, rating in online.items() if slug in category_counts.models},
            bootstrap_rounds=settings.LEADERBOARD_BOOTSTRAP_ROUNDS,
            seed=_SEED,
            interval="bootstrap",
            penalty=settings.LEADERBOARD_PENALTY,
        )
        results[category] = result.to_dict()
    model_info = {
        model.slug: {
            "name": model.display_name,
            "organization": model.organization,
            "license": model.license,
            "status": model.status,
        }
        for model in Model.objects.filter(slug__in=overall.models)
    }
    latest = RatingSnapshot.objects.order_by("-version").values_list("version", flat=True).first() or 0
    return RatingSnapshot.objects.create(
        version=latest + 1,
        vote_count=overall.total,
        last_vote_id=tally.last_id,
        last_vote_at=tally.last_at,
        results=results,
        category_votes={category: category_counts.total for category, category_counts in counts.items()},
        model_info=model_info,
        settings=snapshot_settings(),
        compute_seconds=round(time.perf_counter() - started, 4),
    )


def _matrices_prune(*, keep_from: int) -> None:
    """Drop the matrices of snapshots older than the last few (they grow with models squared)."""
    table = RatingSnapshot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table}
            SET results = (SELECT COALESCE(jsonb_object_agg(key, value - 'matrices'), '{{}}'::jsonb)
                           FROM jsonb_each(results)),
                matrices_pruned = true
            WHERE version < %s AND NOT matrices_pruned
            """,  # noqa: S608 (the table name comes from the model)
            [keep_from],
        )
