"""Reads behind the arena board: rating snapshots, their rows and history, the board's version."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Max
from django.db.models.fields.json import KeyTransform

from core.errors import NotFound
from leaderboard.models import RatingSnapshot
from leaderboard.ratings.intervals import ranks_compute


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
