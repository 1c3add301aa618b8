"""The votes the arena board counts, in one place: `votes_counted()` is the rule, and every count,
snapshot, replay and export reads through it (SQL included, by composing its query).

Votes are aggregated in PostgreSQL (GROUP BY model_a, model_b, winner, category); Python only sees
one row per (pair, result, category), never one per battle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, QuerySet

from arena.models import Model, Vote
from leaderboard.boards.arena.categories import CATEGORIES, OVERALL
from leaderboard.ratings.pair_counts import PairCounts, pair_counts_from_grouped


def votes_counted() -> QuerySet[Vote]:
    """The votes the leaderboard counts: valid ones, and only blind ones unless set otherwise."""
    votes = Vote.objects.filter(is_valid=True)
    if settings.LEADERBOARD_ANONY_ONLY:
        votes = votes.filter(anony=True)
    return votes


def votes_counted_sql(votes: QuerySet[Vote], *columns: str) -> tuple[str, tuple[Any, ...]]:
    """The SQL of `votes` (a `votes_counted()` refinement) selecting `columns`, to use as a subquery.

    Raw SQL that needs what the ORM cannot say (unnest, json_build_object) selects from this, so
    which votes count is still decided by `votes_counted` alone.
    """
    sql, params = votes.values_list(*columns).query.sql_with_params()
    return sql, tuple(params)


@dataclass(frozen=True)
class VoteTally:
    count: int
    last_id: int
    last_at: datetime | None


def votes_counted_tally(*, after_id: int = 0) -> VoteTally:
    found = (
        votes_counted()
        .filter(id__gt=after_id)
        .aggregate(n=Count("id"), last_id=Max("id"), at=Max("created_at"))
    )
    return VoteTally(count=found["n"], last_id=found["last_id"] or 0, last_at=found["at"])


def pair_counts_by_category(*, last_vote_id: int) -> dict[str, PairCounts]:
    """Counted votes up to `last_vote_id`, as PairCounts per category ("overall" holds them all).

    Each category lists only the models that played in it, named by slug.
    """
    counted, params = votes_counted_sql(
        votes_counted().filter(id__lte=last_vote_id),
        "battle__model_a_id",
        "battle__model_b_id",
        "winner",
        "categories",
    )
    # unnest() turns a vote's labels into one row per label, so one GROUP BY counts every category.
    sql = f"""
        SELECT v.a, v.b, v.winner, c.category, COUNT(*)
        FROM ({counted}) AS v(a, b, winner, categories)
        CROSS JOIN LATERAL unnest(array_append(v.categories, %s::varchar)) AS c(category)
        GROUP BY 1, 2, 3, 4
    """  # noqa: S608 (the subquery is the ORM's, values are parameters)
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # The default 4 MB makes the aggregate spill to disk from about a million votes on.
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, [*params, OVERALL])
        grouped = cursor.fetchall()
    if not grouped:
        return {}
    a_ids, b_ids, winners, labels, counts = zip(*grouped, strict=True)
    model_a = np.array(a_ids, np.int64)
    model_b = np.array(b_ids, np.int64)
    count = np.array(counts, np.int64)
    winner = np.array(winners, dtype=object)
    category_of_row = np.array(labels, dtype=object)
    slug_of = dict(Model.objects.filter(pk__in=set(a_ids) | set(b_ids)).values_list("pk", "slug"))
    result: dict[str, PairCounts] = {}
    for category in CATEGORIES:
        rows = category_of_row == category
        if not rows.any():
            continue
        a, b = model_a[rows], model_b[rows]
        present = np.unique(np.concatenate([a, b]))  # model ids, sorted
        names = [slug_of[pk] for pk in present.tolist()]
        # Models are indexed in slug order, as a battles file's names are.
        by_name = np.argsort(np.array(names, dtype=object), kind="stable")
        position = np.empty(len(present), np.int64)
        position[by_name] = np.arange(len(present))
        result[category] = pair_counts_from_grouped(
            models=[names[i] for i in by_name.tolist()],
            a_idx=position[np.searchsorted(present, a)],
            b_idx=position[np.searchsorted(present, b)],
            winner=winner[rows],
            count=count[rows],
        )
    return result
