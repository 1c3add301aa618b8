"""The online Elo: moved by every vote right after its transaction, replayed after imports, read live.

A vote commits first, then moves the ratings in a transaction of its own (`arena.signals.vote_committed`):
the rows of two models are locked for three statements, not for the whole vote. A process that dies
between the two leaves the running value one vote behind; the ratings the board shows come from the
snapshots, and `online_ratings_replay()` recomputes this one from the counted votes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from arena.models import Model
from arena.signals import RatingChange
from leaderboard.boards.arena.votes import votes_counted
from leaderboard.models import OnlineRating
from leaderboard.ratings.battle_set import OUTCOME_OF_WINNER
from leaderboard.ratings.online_elo import elo_replay, elo_step

_TABLE = OnlineRating._meta.db_table


def online_rating_apply(*, model_a: Model, model_b: Model, winner: str) -> tuple[RatingChange, RatingChange]:
    """Move both models' online Elo by one battle, in a transaction of its own (see the module's doc)."""
    with transaction.atomic():
        return _online_rating_step(model_a=model_a, model_b=model_b, winner=winner)


def _online_rating_step(*, model_a: Model, model_b: Model, winner: str) -> tuple[RatingChange, RatingChange]:
    rows = _ratings_locked(model_ids=[model_a.pk, model_b.pk])
    if len(rows) < 2:  # a model's first battle: its row is created once, then locked as the others
        OnlineRating.objects.bulk_create(
            [OnlineRating(model_id=pk) for pk in (model_a.pk, model_b.pk) if pk not in rows],
            ignore_conflicts=True,
        )
        rows = _ratings_locked(model_ids=[model_a.pk, model_b.pk])
    before_a, before_b = rows[model_a.pk], rows[model_b.pk]
    after_a, after_b = elo_step(rating_a=before_a, rating_b=before_b, winner=winner)
    # Both rows in one statement, written as SQL: on every vote's path, the ORM's bulk_update
    # (a CASE per column) cost more to build than the rest of the Elo step.
    sql = f"""
        UPDATE {_TABLE} AS r SET rating = v.rating, battles = r.battles + 1, updated_at = %s
        FROM (VALUES (%s, %s::double precision), (%s, %s::double precision)) AS v(model_id, rating)
        WHERE r.model_id = v.model_id
    """  # noqa: S608 (the table is a constant, values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), model_a.pk, after_a, model_b.pk, after_b])
    return RatingChange(before_a, after_a), RatingChange(before_b, after_b)


def _ratings_locked(*, model_ids: list[int]) -> dict[int, float]:
    """The models' ratings, their rows locked until the transaction ends."""
    # Locking in primary-key order keeps two concurrent votes on the same pair from deadlocking.
    sql = f"SELECT model_id, rating FROM {_TABLE} WHERE model_id = ANY(%s) ORDER BY model_id FOR UPDATE"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(model_ids)])
        return {int(model_id): float(rating) for model_id, rating in cursor.fetchall()}


def online_ratings_replay() -> int:
    """Set every model's online Elo to a replay of the counted votes in vote-time order.

    For imports: historical votes land before the live ones, so the live ratings are replayed
    rather than stepped. Holds every OnlineRating row while it runs, so a vote cast meanwhile
    waits and then steps from the replayed value. Returns the number of votes replayed.
    """
    with transaction.atomic():
        return _online_ratings_replay()


def _online_ratings_replay() -> int:
    model_ids = list(Model.objects.values_list("pk", flat=True))
    OnlineRating.objects.bulk_create(
        [OnlineRating(model_id=pk) for pk in model_ids], ignore_conflicts=True, batch_size=1000
    )
    rows = {row.model_id: row for row in OnlineRating.objects.select_for_update().order_by("model_id")}
    votes = (
        votes_counted()
        .order_by("created_at", "id")
        .values_list("battle__model_a_id", "battle__model_b_id", "winner")
    )
    index = {pk: i for i, pk in enumerate(rows)}
    model_a: list[int] = []
    model_b: list[int] = []
    outcome: list[int] = []
    for a_id, b_id, winner in votes.iterator(chunk_size=10_000):
        model_a.append(index[a_id])
        model_b.append(index[b_id])
        outcome.append(OUTCOME_OF_WINNER[winner])
    ratings = elo_replay(n_models=len(index), model_a=model_a, model_b=model_b, outcome=outcome)
    played = np.bincount(np.array(model_a + model_b, np.int64), minlength=len(index))
    now = timezone.now()
    changed = []
    for pk, i in index.items():
        row, rating, battles = rows[pk], float(ratings[i]), int(played[i])
        if (row.rating, row.battles) != (rating, battles):
            row.rating, row.battles, row.updated_at = rating, battles, now
            changed.append(row)
    OnlineRating.objects.bulk_update(changed, ["rating", "battles", "updated_at"], batch_size=1000)
    return len(outcome)


def online_elo_by_slug(*, slugs: Sequence[str]) -> dict[str, float]:
    return dict(
        OnlineRating.objects.filter(model__slug__in=slugs, battles__gt=0).values_list("model__slug", "rating")
    )


def online_ratings_live(*, slugs: Sequence[str] | None = None) -> dict[str, OnlineRating]:
    ratings = OnlineRating.objects.select_related("model").filter(battles__gt=0)
    if slugs is not None:
        ratings = ratings.filter(model__slug__in=slugs)
    return {row.model.slug: row for row in ratings}
