"""Reads behind the arena board: rating snapshots, their rows and history, the board's version."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

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


def snapshot_rows(*, snapshot: RatingSnapshot, category: str, style: bool = False) -> list[dict[str, Any]]:
    """One category's rows of a snapshot, plain or with style control (copies: callers may change them).

    A snapshot from before style control has no style rows: it gives none.
    """
    rows = _snapshot_rows_read(snapshot.pk, snapshot.version, category, style)
    return [dict(row) for row in rows]


# A snapshot's rows never change once stored (pruning drops matrices only), so each process keeps
# the latest few: reading them means decompressing the snapshot's whole JSON in PostgreSQL.
@lru_cache(maxsize=64)
def _snapshot_rows_read(pk: int, version: int, category: str, style: bool) -> tuple[dict[str, Any], ...]:
    field = "style_results" if style else "results"
    rows = (
        RatingSnapshot.objects.filter(pk=pk, version=version)
        .annotate(rows=KeyTransform("rows", KeyTransform(category, field)))
        .values_list("rows", flat=True)
        .first()
    )
    return tuple(rows or ())


def snapshot_style_coefficients(*, snapshot: RatingSnapshot, category: str) -> dict[str, float | None]:
    """How much each style feature sways a vote (log-odds per standard deviation), by feature name."""
    found = (
        RatingSnapshot.objects.filter(pk=snapshot.pk)
        .annotate(style=KeyTransform("style", KeyTransform(category, "style_results")))
        .values_list("style", flat=True)
        .first()
    )
    if not found:
        return {}
    return dict(zip(found["feature_names"], found["coefficients"], strict=True))


def snapshot_result(*, snapshot: RatingSnapshot, category: str) -> dict[str, Any] | None:
    """One category's whole result (rows, matrices, settings)."""
    found = (
        RatingSnapshot.objects.filter(pk=snapshot.pk)
        .annotate(result=KeyTransform(category, "results"))
        .values_list("result", flat=True)
        .first()
    )
    return dict(found) if found else None


INTERVAL_KINDS: Final = ("bootstrap", "sandwich")


def rows_ranked(
    *, rows: Sequence[Mapping[str, Any]], min_battles: int, min_votes: int, interval: str
) -> list[dict[str, Any]]:
    """Stored rows as a board shows them: ranked models first, then the provisional ones.

    Rows below `min_battles` are left out. A model with fewer than `min_votes` battles is
    provisional: listed after the ranked ones (best rating first), with no rank, and not counted
    in anyone else's rank, since its interval is too wide to say where it stands. The others are
    ranked among themselves by the `interval` kind's bounds ("bootstrap" or "sandwich"; a snapshot
    stored before sandwich bounds were kept falls back to its bootstrap ones), which become
    `ci_lower`/`ci_upper`; `intervals` holds both kinds.
    """
    if interval not in INTERVAL_KINDS:
        raise ValueError(f"interval must be one of {INTERVAL_KINDS}, got {interval!r}")
    kept = []
    for stored in rows:
        if stored["battles"] < min_battles:
            continue
        row = dict(stored)
        bootstrap = [row.get("ci_lower"), row.get("ci_upper")]
        sandwich = [row.pop("sandwich_lower", None), row.pop("sandwich_upper", None)]
        row["intervals"] = {"bootstrap": bootstrap, "sandwich": sandwich}
        if interval == "sandwich" and sandwich[0] is not None:
            row["ci_lower"], row["ci_upper"] = sandwich
        # A model without a rating (not in the style sample) cannot be placed either.
        row["provisional"] = row["battles"] < min_votes or row.get("rating") is None
        kept.append(row)
    ranked = [row for row in kept if not row["provisional"]]
    provisional = [row for row in kept if row["provisional"]]
    if ranked:
        lower = np.array([_bound_of(row, "ci_lower") for row in ranked], np.float64)
        upper = np.array([_bound_of(row, "ci_upper") for row in ranked], np.float64)
        components = np.array([row["component"] for row in ranked], np.int64)
        ranks = ranks_compute(lower=lower, upper=upper, components=components)
        for i, row in enumerate(ranked):
            row["rank"] = int(ranks.rank[i])
            row["rank_lower"] = int(ranks.rank_lower[i])
            row["rank_upper"] = int(ranks.rank_upper[i])
    for row in provisional:
        row["rank"] = row["rank_lower"] = row["rank_upper"] = None
    provisional.sort(
        key=lambda row: (-(row["rating"] if row["rating"] is not None else -math.inf), row["model"])
    )
    return ranked + provisional


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


def snapshots_history(*, category: str, points: int = 200, style: bool = False) -> list[HistoryPoint]:
    """Up to `points` snapshots spread evenly over all of them (the newest always), oldest first,
    with the category's rows only (the style-controlled ones with `style`)."""
    versions = list(RatingSnapshot.objects.order_by("version").values_list("version", flat=True))
    if len(versions) > points:
        picks = np.unique(np.linspace(0, len(versions) - 1, points).round().astype(np.int64))
        versions = [versions[i] for i in picks.tolist()]
    found = (
        RatingSnapshot.objects.filter(version__in=versions)
        .annotate(rows=KeyTransform("rows", KeyTransform(category, "style_results" if style else "results")))
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


def board_rows(
    *,
    snapshot: RatingSnapshot,
    category: str,
    style: bool,
    min_battles: int,
    min_votes: int,
    interval: str,
) -> list[dict[str, Any]]:
    """A category's rows as every reader shows them (`rows_ranked`), plain or with style control.

    The style fit covers a sample of the newest votes: a model it does not cover (or every model,
    in a snapshot from before style control) is still listed, as provisional and without a rating,
    so that switching style control on never makes a model disappear.
    """
    plain = snapshot_rows(snapshot=snapshot, category=category)
    rows = plain
    if style:
        rows = snapshot_rows(snapshot=snapshot, category=category, style=True)
        covered = {row["model"] for row in rows}
        for row in plain:
            if row["model"] not in covered:
                blank = dict.fromkeys(("rating", "ci_lower", "ci_upper", "sandwich_lower", "sandwich_upper"))
                rows.append({**row, **blank})
    return rows_ranked(rows=rows, min_battles=min_battles, min_votes=min_votes, interval=interval)
