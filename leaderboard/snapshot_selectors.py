"""Reads behind the arena leaderboard: the votes that count, their counts per pair and category, snapshots.

Votes are aggregated in PostgreSQL (GROUP BY model_a, model_b, winner, category); Python only sees
one row per (pair, result, category), never one per battle.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.fields.json import KeyTransform

from arena.errors import InvalidInput, NotFound
from arena.models import Battle, Model, Vote
from leaderboard.models import OnlineRating, RatingSnapshot
from leaderboard.ratings.categories import CATEGORY_RULES, MODALITY_LABELS
from leaderboard.ratings.intervals import ranks_compute
from leaderboard.ratings.pair_counts import PairCounts, pair_counts_from_grouped

OVERALL: Final = "overall"
# Every category a snapshot can hold, in tab order: all votes, the modality, then the prompt rules.
CATEGORIES: Final[tuple[str, ...]] = (
    OVERALL,
    "text",
    *(label for label in MODALITY_LABELS if label != "text"),
    *(rule.label for rule in CATEGORY_RULES),
    "non_english",
    "multi_turn",
)
CATEGORY_LABELS: Final[dict[str, str]] = {
    OVERALL: "Overall",
    "text": "Text only",
    "image": "Image",
    "video": "Video",
    "audio": "Audio",
    "ocr": "OCR",
    "counting": "Counting",
    "chart": "Charts & tables",
    "captioning": "Captioning",
    "reasoning": "Reasoning",
    "code": "Code",
    "non_english": "Non-English",
    "multi_turn": "Multi-turn",
}


def category_check(*, category: str) -> str:
    if category not in CATEGORIES:
        raise InvalidInput(f"There is no category {category!r}; choose one of {', '.join(CATEGORIES)}.")
    return category


def votes_counted() -> QuerySet[Vote]:
    """The votes the leaderboard counts: valid ones, and only blind ones unless set otherwise."""
    votes = Vote.objects.filter(is_valid=True)
    if settings.LEADERBOARD_ANONY_ONLY:
        votes = votes.filter(anony=True)
    return votes


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
    vote_table, battle_table = Vote._meta.db_table, Battle._meta.db_table
    anony = "AND v.anony" if settings.LEADERBOARD_ANONY_ONLY else ""
    # unnest() turns a vote's labels into one row per label, so one GROUP BY counts every category.
    sql = f"""
        SELECT b.model_a_id, b.model_b_id, v.winner, c.category, COUNT(*)
        FROM {vote_table} v
        JOIN {battle_table} b ON b.id = v.battle_id
        CROSS JOIN LATERAL unnest(array_append(v.categories, %s::varchar)) AS c(category)
        WHERE v.is_valid {anony} AND v.id <= %s
        GROUP BY 1, 2, 3, 4
    """  # noqa: S608 (table names come from the models, values are parameters)
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # The default 4 MB makes the aggregate spill to disk from about a million votes on.
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, [OVERALL, last_vote_id])
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


def online_elo_by_slug(*, slugs: Sequence[str]) -> dict[str, float]:
    return dict(
        OnlineRating.objects.filter(model__slug__in=slugs, battles__gt=0).values_list("model__slug", "rating")
    )


def snapshot_latest() -> RatingSnapshot | None:
    return RatingSnapshot.objects.defer("results").order_by("-version").first()


def snapshot_version_latest() -> int:
    return RatingSnapshot.objects.aggregate(v=Max("version"))["v"] or 0


def snapshot_get(*, version: int | None = None) -> RatingSnapshot | None:
    """A snapshot without its (large) results; the latest when `version` is None."""
    if version is None:
        return snapshot_latest()
    snapshot = RatingSnapshot.objects.defer("results").filter(version=version).first()
    if snapshot is None:
        raise NotFound(f"There is no snapshot {version}.")
    return snapshot


def snapshot_rows(*, snapshot: RatingSnapshot, category: str) -> list[dict[str, Any]]:
    """One category's rows of a snapshot (copies: callers may change them)."""
    rows = _snapshot_rows_read(snapshot.pk, snapshot.version, category)
    return [dict(row) for row in rows]


# A snapshot's rows never change once stored (pruning drops matrices only), so each process keeps
# the latest few: reading them means decompressing the snapshot's whole JSON in PostgreSQL.
@lru_cache(maxsize=64)
def _snapshot_rows_read(pk: int, version: int, category: str) -> tuple[dict[str, Any], ...]:
    rows = (
        RatingSnapshot.objects.filter(pk=pk, version=version)
        .annotate(rows=KeyTransform("rows", KeyTransform(category, "results")))
        .values_list("rows", flat=True)
        .first()
    )
    return tuple(rows or ())


def snapshot_result(*, snapshot: RatingSnapshot, category: str) -> dict[str, Any] | None:
    """One category's whole result (rows, matrices, settings)."""
    found = (
        RatingSnapshot.objects.filter(pk=snapshot.pk)
        .annotate(result=KeyTransform(category, "results"))
        .values_list("result", flat=True)
        .first()
    )
    return dict(found) if found else None


def rows_min_battles(*, rows: Sequence[Mapping[str, Any]], min_battles: int) -> list[dict[str, Any]]:
    """Rows with at least `min_battles` battles, ranked again among themselves.

    The same rule as `leaderboard_filter`, applied to stored rows: a rank counts only the shown
    models whose interval is surely above.
    """
    kept = [dict(row) for row in rows if row["battles"] >= min_battles]
    if len(kept) == len(rows) or not kept:
        return kept

    lower = np.array([_bound_of(row, "ci_lower") for row in kept], np.float64)
    upper = np.array([_bound_of(row, "ci_upper") for row in kept], np.float64)
    components = np.array([row["component"] for row in kept], np.int64)
    ranks = ranks_compute(lower=lower, upper=upper, components=components)
    for i, row in enumerate(kept):
        row["rank"] = int(ranks.rank[i])
        row["rank_lower"] = int(ranks.rank_lower[i])
        row["rank_upper"] = int(ranks.rank_upper[i])
    return kept


def _bound_of(row: Mapping[str, Any], key: str) -> float:
    # JSON keeps a non-finite bound as null; NaN is what ranks_compute reads as "not surely above
    # or below", which is all a lost infinity still tells.
    value = row.get(key)
    return math.nan if value is None else float(value)


def snapshots_page(*, page: int, page_size: int) -> tuple[int, list[RatingSnapshot]]:
    total = RatingSnapshot.objects.count()
    start = (page - 1) * page_size
    items = list(
        RatingSnapshot.objects.defer("results", "model_info").order_by("-version")[start : start + page_size]
    )
    return total, items


@dataclass(frozen=True)
class HistoryPoint:
    version: int
    created_at: datetime
    rows: list[dict[str, Any]]


def snapshots_history(*, category: str, points: int = 200) -> list[HistoryPoint]:
    """Up to `points` snapshots spread evenly over all of them (the newest always), oldest first,
    with the category's rows only."""
    versions = list(RatingSnapshot.objects.order_by("version").values_list("version", flat=True))
    if len(versions) > points:
        picks = np.unique(np.linspace(0, len(versions) - 1, points).round().astype(np.int64))
        versions = [versions[i] for i in picks.tolist()]
    found = (
        RatingSnapshot.objects.filter(version__in=versions)
        .annotate(rows=KeyTransform("rows", KeyTransform(category, "results")))
        .order_by("version")
        .values_list("version", "created_at", "rows")
    )
    return [HistoryPoint(version=v, created_at=at, rows=list(rows or [])) for v, at, rows in found]


def model_history(*, slug: str, category: str, limit: int) -> list[dict[str, Any]]:
    """The model's row in each of the latest `limit` snapshots (those that rate it), oldest first."""
    table = RatingSnapshot._meta.db_table
    # Only the latest `limit` snapshots are opened, and jsonb_path_query_first picks the model's
    # row inside PostgreSQL: one small row comes back per snapshot.
    sql = f"""
        SELECT version, created_at, row FROM (
            SELECT version, created_at,
                   jsonb_path_query_first(results -> %s -> 'rows', '$[*] ? (@.model == $slug)',
                                          jsonb_build_object('slug', %s::text)) AS row
            FROM (SELECT version, created_at, results FROM {table} ORDER BY version DESC LIMIT %s) latest
        ) found
        WHERE row IS NOT NULL
        ORDER BY version
    """  # noqa: S608 (the table name comes from the model, values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [category, slug, limit])
        found = cursor.fetchall()
    points = []
    for version, created_at, row in found:
        data = json.loads(row) if isinstance(row, str) else row
        points.append({"version": version, "created_at": created_at, **data})
    return points


def arena_board_version() -> str:
    """Changes with every snapshot, every vote (online Elo) and every model edit."""
    live = OnlineRating.objects.aggregate(at=Max("updated_at"), n=Sum("battles"))
    edited = Model.objects.aggregate(at=Max("updated_at"))["at"]

    def stamp(value: datetime | None) -> int:
        return int(value.timestamp() * 1_000_000) if value else 0

    return f"{snapshot_version_latest()}.{stamp(live['at'])}.{live['n'] or 0}.{stamp(edited)}"


def models_by_slug(*, slugs: Sequence[str]) -> dict[str, Model]:
    return {model.slug: model for model in Model.objects.filter(slug__in=slugs)}


def online_ratings_live(*, slugs: Sequence[str] | None = None) -> dict[str, OnlineRating]:
    ratings = OnlineRating.objects.select_related("model").filter(battles__gt=0)
    if slugs is not None:
        ratings = ratings.filter(model__slug__in=slugs)
    return {row.model.slug: row for row in ratings}
