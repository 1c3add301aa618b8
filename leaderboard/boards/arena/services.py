"""Changes behind the arena leaderboard: rating snapshots and live board events.

The online Elo moves with every vote (in the vote's transaction), and so do the vote counts
(`leaderboard.VoteCount`, see `counts.py`). The Bradley-Terry ratings, their intervals and ranks
are recomputed as a snapshot from those counts alone, never from the votes: a Celery beat task
checks every LEADERBOARD_SNAPSHOT_CHECK_S, and computes one once the counts changed since the last
snapshot (a vote or an invalidation) and that snapshot is LEADERBOARD_SNAPSHOT_INTERVAL_S old.
Either way open board pages hear of it on `board.arena` once the change is committed. Snapshots
older than LEADERBOARD_SNAPSHOT_KEEP_ALL_S are thinned to the newest of each hour.
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
from core.metrics import snapshot_duration_observe
from core.versions import data_versions_bump
from leaderboard.boards.arena.categories import OVERALL
from leaderboard.boards.arena.online_elo import online_elo_by_slug
from leaderboard.boards.arena.selectors import snapshot_latest
from leaderboard.boards.arena.style import styled_battles_by_category
from leaderboard.boards.arena.versions import SNAPSHOT, arena_board_version
from leaderboard.boards.arena.votes import VoteCountState, pair_counts_by_category, vote_counts_state
from leaderboard.live import board_updated_publish
from leaderboard.models import RatingSnapshot
from leaderboard.ratings.leaderboard import leaderboard_compute

logger = logging.getLogger(__name__)

BOARD: Final = "arena"
# Any constant: the key of the PostgreSQL advisory lock that lets one snapshot be computed at a time.
_SNAPSHOT_LOCK_KEY: Final = 0x4152_454E_4153_4E50
_SEED: Final = 0  # a fixed seed: the same votes give the same intervals
# Below this many counted votes a style fit (with its bootstrap) takes well under a second: it is
# redone with every snapshot, and LEADERBOARD_STYLE_INTERVAL_S only spaces out the costly ones.
_STYLE_CHEAP_VOTES: Final = 5_000


def arena_board_updated_publish() -> None:
    """Tell open arena board pages to refetch; scheduled with transaction.on_commit."""
    board_updated_publish(board=BOARD, version=arena_board_version())


def arena_board_changed(*versions: str) -> None:
    """Retire the data `versions` (SNAPSHOT, VOTES, MODELS) the change touched, now and on commit,
    and tell open board pages once it commits."""
    data_versions_bump(*versions)
    transaction.on_commit(arena_board_updated_publish)


@dataclass(frozen=True)
class SnapshotDue:
    due: bool
    reason: str
    new_votes: int  # the net change in counted votes since the last snapshot (negative: invalidations)


def snapshot_due(*, now: datetime | None = None) -> SnapshotDue:
    """Whether a new snapshot should be computed now, and why (or why not); reads the counts only.

    Due when the counts changed since the last snapshot (any vote or invalidation: the total, the
    highest vote id or the time of the last change differ from what the snapshot stored) and the
    last snapshot is at least LEADERBOARD_SNAPSHOT_INTERVAL_S old. The first counted vote always
    makes the first snapshot due.
    """
    now = now or timezone.now()
    state = vote_counts_state()
    latest = snapshot_latest()
    if latest is None:
        if state.total:
            return SnapshotDue(True, "there is no snapshot yet", state.total)
        return SnapshotDue(False, "there are no votes yet", 0)
    new = state.total - latest.vote_count
    if state == _snapshot_state(latest):
        return SnapshotDue(False, f"nothing changed since snapshot {latest.version}", 0)
    age = (now - latest.created_at).total_seconds()
    if age < settings.LEADERBOARD_SNAPSHOT_INTERVAL_S:
        return SnapshotDue(
            False, f"the counts changed ({new:+d} votes), but the snapshot is {age:.1f} s old", new
        )
    return SnapshotDue(True, f"the counts changed ({new:+d} votes)", new)


def _snapshot_state(snapshot: RatingSnapshot) -> VoteCountState:
    return VoteCountState(
        total=snapshot.vote_count, last_vote_id=snapshot.last_vote_id, last_at=snapshot.last_vote_at
    )


def snapshot_compute(*, only_if_due: bool = False, now: datetime | None = None) -> RatingSnapshot | None:
    """Compute and store a snapshot of every category from the vote counts; publish it on commit.

    One at a time: returns None when another computation holds the lock, when there are no
    counted votes, or (with `only_if_due`) when `snapshot_due` says it is not time yet. In the
    same transaction, the matrices of older snapshots are dropped and old snapshots thinned.
    """
    isolated = not connection.in_atomic_block
    with transaction.atomic():
        if isolated:
            # The counts, their state and the online Elo are read from one consistent view.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SNAPSHOT_LOCK_KEY])
            (locked,) = cursor.fetchone() or (False,)
        if not locked:
            return None
        if only_if_due and not snapshot_due(now=now).due:
            return None
        state = vote_counts_state()
        if not state.total:
            return None
        snapshot = _snapshot_build(state=state)
        _boosts_lift(rows=snapshot.results[OVERALL]["rows"])
        _matrices_prune(keep_from=snapshot.version - max(1, settings.LEADERBOARD_SNAPSHOT_KEEP_MATRICES) + 1)
        _snapshots_thin(
            before=snapshot.created_at - timedelta(seconds=settings.LEADERBOARD_SNAPSHOT_KEEP_ALL_S)
        )
        arena_board_changed(SNAPSHOT)
    snapshot_duration_observe(seconds=snapshot.compute_seconds)
    logger.info(
        "snapshot %s: %s votes in %.2f s", snapshot.version, snapshot.vote_count, snapshot.compute_seconds
    )
    return snapshot


def _boosts_lift(*, rows: list[dict[str, Any]]) -> None:
    """A new model's sampling boost (arena.Model.sampling_boost, set when the portal enables it) ends
    once it has ARENA_NEW_MODEL_BOOST_VOTES counted votes."""
    enough = [
        row["model"] for row in rows if (row.get("battles") or 0) >= settings.ARENA_NEW_MODEL_BOOST_VOTES
    ]
    if enough:
        Model.objects.filter(slug__in=enough, sampling_boost__gt=1).update(sampling_boost=1.0)


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
        "interval_s": settings.LEADERBOARD_SNAPSHOT_INTERVAL_S,
        "intervals_stored": ["bootstrap", "sandwich"],
        "style_max_votes": settings.LEADERBOARD_STYLE_MAX_VOTES,
        "style_interval_s": settings.LEADERBOARD_STYLE_INTERVAL_S,
    }


def _snapshot_build(*, state: VoteCountState) -> RatingSnapshot:
    started = time.perf_counter()
    counts = pair_counts_by_category()
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
            both_intervals=True,
        )
        results[category] = result.to_dict()
    latest = RatingSnapshot.objects.order_by("-version").only("version", "settings").first()
    version = (latest.version if latest else 0) + 1
    style_results, style_meta = _style_results(
        previous=latest, version=version, total=overall.total, online=online
    )
    model_info = {
        model.slug: {
            "name": model.display_name,
            "organization": model.organization,
            "license": model.license,
            "status": model.status,
        }
        for model in Model.objects.filter(slug__in=overall.models)
    }
    return RatingSnapshot.objects.create(
        version=version,
        vote_count=overall.total,
        last_vote_id=state.last_vote_id,
        last_vote_at=state.last_at,
        results=results,
        category_votes={category: category_counts.total for category, category_counts in counts.items()},
        model_info=model_info,
        style_results=style_results,
        settings={**snapshot_settings(), "style": style_meta},
        compute_seconds=round(time.perf_counter() - started, 4),
    )


def _style_results(
    *, previous: RatingSnapshot | None, version: int, total: int, online: dict[str, float]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every category's style-controlled leaderboard, and where it came from.

    Fitted on the newest LEADERBOARD_STYLE_MAX_VOTES counted votes; between refits (at most every
    LEADERBOARD_STYLE_INTERVAL_S, unless the votes are few) the previous snapshot's fit is kept.
    """
    now = timezone.now()
    before: dict[str, Any] = (previous.settings.get("style") or {}) if previous else {}
    fitted_at = before.get("fitted_at")
    age = (now - datetime.fromisoformat(fitted_at)).total_seconds() if fitted_at else None
    if (
        previous is not None
        and age is not None
        and age < settings.LEADERBOARD_STYLE_INTERVAL_S
        and min(total, settings.LEADERBOARD_STYLE_MAX_VOTES) > _STYLE_CHEAP_VOTES
    ):
        kept = RatingSnapshot.objects.filter(pk=previous.pk).values_list("style_results", flat=True).first()
        return dict(kept or {}), before
    started = time.perf_counter()
    votes, by_category = styled_battles_by_category(limit=settings.LEADERBOARD_STYLE_MAX_VOTES)
    results: dict[str, Any] = {}
    for category, styled in by_category.items():
        result = leaderboard_compute(
            battles=styled.battles,
            style=styled.features,
            online_elo={slug: rating for slug, rating in online.items() if slug in styled.battles.models},
            bootstrap_rounds=settings.LEADERBOARD_BOOTSTRAP_ROUNDS,
            seed=_SEED,
            interval="bootstrap",
            penalty=settings.LEADERBOARD_PENALTY,
            both_intervals=True,
        ).to_dict()
        # The board and the API read rows and coefficients; the charts draw the plain matrices.
        result.pop("matrices", None)
        results[category] = result
    meta = {
        "fitted_in": version,
        "fitted_at": now.isoformat(),
        "votes": votes,
        "seconds": round(time.perf_counter() - started, 4),
    }
    return results, meta


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


def _snapshots_thin(*, before: datetime) -> None:
    """Delete the snapshots made before `before`, except the newest of each (UTC) hour.

    The newest snapshot of all is the newest of its hour, so it always stays; the history keeps
    every snapshot of the last LEADERBOARD_SNAPSHOT_KEEP_ALL_S and one an hour before that.
    """
    table = RatingSnapshot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            DELETE FROM {table} AS old
            WHERE old.created_at < %s
              AND EXISTS (
                  SELECT 1 FROM {table} AS newer
                  WHERE date_trunc('hour', newer.created_at AT TIME ZONE 'UTC')
                        = date_trunc('hour', old.created_at AT TIME ZONE 'UTC')
                    AND newer.version > old.version
              )
            """,  # noqa: S608 (the table name comes from the model)
            [before],
        )
