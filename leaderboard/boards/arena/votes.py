"""The votes the arena board counts, in one place.

`votes_kept()` is the rule for which votes are counted at all (the valid ones), and
`votes_counted()` narrows it by LEADERBOARD_ANONY_ONLY; every replay and export reads through
these (SQL included, by composing their query). Snapshots and the beat check never read the
votes: they read `leaderboard.VoteCount`, kept per (pair, winner, category, blind or not) at vote
time (`counts.py`), through `vote_counts_counted()`, which applies the same setting to the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Max, QuerySet, Sum

from arena.models import Exclusion, Model, Vote
from leaderboard.boards.arena.categories import CATEGORIES, OVERALL
from leaderboard.models import ExcludedVoteCount, VoteCount
from leaderboard.ratings.battle_set import OUTCOME_A, OUTCOME_B, OUTCOME_TIE, WINNER_LABELS
from leaderboard.ratings.pair_counts import PairCounts


def votes_kept() -> QuerySet[Vote]:
    """Every vote the counts hold: the valid ones, blind or not (the setting is applied when read)."""
    return Vote.objects.filter(is_valid=True)


def votes_counted() -> QuerySet[Vote]:
    """The votes the leaderboard counts: valid ones, and only blind ones unless set otherwise."""
    votes = votes_kept()
    if settings.LEADERBOARD_ANONY_ONLY:
        votes = votes.filter(anony=True)
    return votes


def votes_not_kept() -> QuerySet[Vote]:
    """The stored votes the counts leave out (`Vote.exclusions`: decided at vote time by
    arena.integrity, or by a moderator); `leaderboard.ExcludedVoteCount` counts them by reason."""
    return Vote.objects.filter(is_valid=False)


@dataclass(frozen=True)
class VoteTotals:
    """What the board says of the votes: how many it counts, and how many it leaves out and why."""

    counted: int
    excluded: int
    excluded_by_reason: dict[str, int]  # an `Exclusion` value: the excluded votes with that reason


def vote_totals() -> VoteTotals:
    """The counted votes and the excluded ones, by reason (a vote with two reasons is one vote, under
    each reason), under LEADERBOARD_ANONY_ONLY as the board counts: from the counts alone, two small
    queries however many votes there are."""
    excluded = ExcludedVoteCount.objects.filter(count__gt=0)
    if settings.LEADERBOARD_ANONY_ONLY:
        excluded = excluded.filter(anony=True)
    found = dict(excluded.values("reason").annotate(n=Sum("count")).values_list("reason", "n"))
    return VoteTotals(
        counted=vote_counts_state().total,
        excluded=found.pop(ExcludedVoteCount.ALL, 0),
        excluded_by_reason={reason: found[reason] for reason in Exclusion.values if reason in found},
    )


@dataclass(frozen=True)
class VotesChanged:
    """When the vote totals last changed: the newest vote (counted or not) and the counts' last change."""

    last_id: int
    at: datetime | None


def votes_changed() -> VotesChanged:
    """What `vote_totals` is judged fresh by, from the counts: a vote (counted or excluded) raises a
    highest vote id, and an invalidation moves both tables' time."""
    rows = [
        table.objects.aggregate(last_id=Max("last_vote_id"), at=Max("updated_at"))
        for table in (VoteCount, ExcludedVoteCount)
    ]
    times = [row["at"] for row in rows if row["at"] is not None]
    return VotesChanged(last_id=max(row["last_id"] or 0 for row in rows), at=max(times) if times else None)


def vote_counts_counted() -> QuerySet[VoteCount]:
    """The count rows the leaderboard reads: the same setting as `votes_counted`, rows at zero left out."""
    counts = VoteCount.objects.filter(count__gt=0)
    if settings.LEADERBOARD_ANONY_ONLY:
        counts = counts.filter(anony=True)
    return counts


def votes_counted_sql(votes: QuerySet[Any], *columns: str) -> tuple[str, tuple[Any, ...]]:
    """The SQL of `votes` (a refinement of one of the querysets above) selecting `columns`, as a subquery.

    Raw SQL that needs what the ORM cannot say (unnest, json_build_object, ON CONFLICT) selects
    from this, so which votes count is still decided here alone.
    """
    sql, params = votes.values_list(*columns).query.sql_with_params()
    return sql, tuple(params)


@dataclass(frozen=True)
class VoteCountState:
    """What the counts say at one moment; a snapshot stores it, and the beat check compares it."""

    total: int  # counted votes ("overall")
    last_vote_id: int
    last_at: datetime | None  # when the counts last changed (a vote or an invalidation)


def vote_counts_state() -> VoteCountState:
    """The counted total, the highest vote id and the time of the last change, in one query.

    Read from the "overall" rows only: every vote and every invalidation writes its overall row
    with the same id and time as its category rows, so the maxima over all rows are these.
    """
    found = (
        vote_counts_counted()
        .filter(category=OVERALL)
        .aggregate(total=Sum("count"), last_id=Max("last_vote_id"), at=Max("updated_at"))
    )
    return VoteCountState(total=found["total"] or 0, last_vote_id=found["last_id"] or 0, last_at=found["at"])


def pair_counts_by_category() -> dict[str, PairCounts]:
    """The counted votes as PairCounts per category ("overall" holds them all), from the counts alone.

    Each category lists only the models that played in it, named by slug, and one row per ordered
    pair (its winners, and blind and non-blind rows with LEADERBOARD_ANONY_ONLY off, folded
    together), in slug order: the bootstrap draws over rows, so the same counts give the same
    intervals however the table's rows lie on disk, and the same as a battles file of those votes.
    """
    counted, params = votes_counted_sql(
        vote_counts_counted(), "category", "model_a_id", "model_b_id", "winner", "count"
    )
    # One row of five integer arrays: category and winner as their positions in CATEGORIES and
    # WINNER_LABELS (1-based), so that no Python object is made per count row.
    sql = f"""
        SELECT array_agg(array_position(%s::varchar[], c.category)), array_agg(c.a), array_agg(c.b),
               array_agg(array_position(%s::varchar[], c.winner)), array_agg(c.n)
        FROM ({counted}) AS c(category, a, b, winner, n)
    """  # noqa: S608 (the subquery is the ORM's, values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(CATEGORIES), list(WINNER_LABELS), *params])
        found = cursor.fetchone()
    if not found or found[0] is None:
        return {}
    category, a_ids, b_ids, outcome, count = (np.array(column, np.int64) for column in found)
    category -= 1
    outcome -= 1
    model_ids, a_pos, b_pos = _positions(a_ids, b_ids)
    m = len(model_ids)
    pair_key = (category * m + a_pos) * m + b_pos
    pairs, row = np.unique(pair_key, return_inverse=True)  # sorted: category, then model_a, model_b
    wins_a, wins_b, ties = (
        np.bincount(row, np.where(hit, count, 0), len(pairs)).astype(np.int64)
        for hit in (outcome == OUTCOME_A, outcome == OUTCOME_B, outcome >= OUTCOME_TIE)
    )
    pair_category, pair_a, pair_b = pairs // (m * m), pairs // m % m, pairs % m
    slug_of = dict(Model.objects.filter(pk__in=model_ids.tolist()).values_list("pk", "slug"))
    result: dict[str, PairCounts] = {}
    for index, name in enumerate(CATEGORIES):
        rows = slice(*np.searchsorted(pair_category, [index, index + 1]).tolist())
        if rows.start == rows.stop:
            continue
        present = np.unique(np.concatenate([pair_a[rows], pair_b[rows]]))  # positions in model_ids
        names = [slug_of[pk] for pk in model_ids[present].tolist()]
        # Models are indexed in slug order, as a battles file's names are.
        by_name = np.argsort(np.array(names, dtype=object), kind="stable")
        position = np.empty(len(present), np.int64)
        position[by_name] = np.arange(len(present))
        a_idx = position[np.searchsorted(present, pair_a[rows])]
        b_idx = position[np.searchsorted(present, pair_b[rows])]
        # Rows in (model_a, model_b) slug order: what `battles_aggregate` gives for the same battles.
        order = np.argsort(a_idx * len(present) + b_idx, kind="stable")
        result[name] = PairCounts(
            models=tuple(names[i] for i in by_name.tolist()),
            a_idx=a_idx[order],
            b_idx=b_idx[order],
            wins_a=wins_a[rows][order],
            wins_b=wins_b[rows][order],
            ties=ties[rows][order],
        )
    return result


def _positions(a_ids: np.ndarray, b_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model ids present (sorted), and each row's model_a and model_b as positions among them."""
    model_ids, inverse = np.unique(np.concatenate([a_ids, b_ids]), return_inverse=True)
    return model_ids, inverse[: len(a_ids)], inverse[len(a_ids) :]
