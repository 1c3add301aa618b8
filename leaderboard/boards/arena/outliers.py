"""Outlier voters on the arena board (README "Outlier voters"): the sweep that flags them, and the
ranking without their votes.

`voters_outlier_sweep()` (a beat task, every LEADERBOARD_OUTLIER_SWEEP_S) scores every voter's
counted decisive votes against the latest snapshot's overall ratings (the online Elo before the
first snapshot) with `leaderboard.ratings.outliers`, and keeps `arena.FlaggedVoter` in step:
a newly flagged voter gets a row, an unreviewed row is updated, or deleted once the voter no longer
stands out. A row a moderator reviewed stays as they saw it, and comes back to the queue
(reviewed_at cleared) only when the voter's score fell by at least `REQUEUE_DROP` since.

Their votes stay counted until a moderator acts. `board_without_flagged()` is the ranking the
board would show without the votes of the voters in the queue (rows unreviewed): the current vote
counts minus those voters' counted votes, fitted by Bradley-Terry with sandwich intervals (plain
ratings, no style control; one fit, no bootstrap). It is cached under the snapshot's data version
and FLAGGED, so it is recomputed once per snapshot or change of the queue, not per vote.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final, cast

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from arena.models import FlaggedVoter, Model, Vote, Winner
from core.versions import data_versions_bump
from leaderboard.boards.arena.categories import OVERALL, category_check
from leaderboard.boards.arena.online_elo import online_elo_by_slug
from leaderboard.boards.arena.selectors import rows_ranked, snapshot_latest, snapshot_rows
from leaderboard.boards.arena.votes import pair_counts_by_category, votes_counted, votes_counted_sql
from leaderboard.models import OnlineRating
from leaderboard.ratings.leaderboard import leaderboard_compute
from leaderboard.ratings.outliers import voters_agreement
from leaderboard.ratings.pair_counts import PairCounts

# The data version of the moderators' queue of flagged voters: any FlaggedVoter saved or deleted.
FLAGGED: Final = "arena-flagged-voters"
# How far a reviewed voter's Z must fall below the one the moderator saw to be queued again.
REQUEUE_DROP: Final = 1.0


@receiver(post_save, sender=FlaggedVoter, dispatch_uid="leaderboard.arena.flagged_saved")
@receiver(post_delete, sender=FlaggedVoter, dispatch_uid="leaderboard.arena.flagged_deleted")
def _flagged_changed(sender: type[FlaggedVoter], **kwargs: Any) -> None:
    data_versions_bump(FLAGGED)


@dataclass(frozen=True)
class OutlierVoter:
    voter_id: str
    votes: int  # decisive counted votes scored
    agreement: float  # share of them for the pair's expected winner
    expected: float  # the share an honest voter would reach
    z_score: float


def _ratings_current() -> dict[int, tuple[float, int]]:
    """Each rated model's overall rating and comparison component, by model id: the latest
    snapshot's (its plain Bradley-Terry ratings), else the online Elo."""
    snapshot = snapshot_latest()
    if snapshot is None:
        return {
            model_id: (rating, 0)
            for model_id, rating in OnlineRating.objects.filter(battles__gt=0).values_list(
                "model_id", "rating"
            )
        }
    rows = snapshot_rows(snapshot=snapshot, category=OVERALL)
    ids = dict(Model.objects.filter(slug__in=[row["model"] for row in rows]).values_list("slug", "pk"))
    return {
        ids[row["model"]]: (float(row["rating"]), int(row.get("component") or 0))
        for row in rows
        if row["model"] in ids and row.get("rating") is not None and math.isfinite(row["rating"])
    }


def _decisive_votes() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Every counted decisive vote cast here: voter ids, model_a ids, model_b ids, whether A won."""
    votes = votes_counted().filter(source=Vote.Source.ARENA, winner__in=[Winner.MODEL_A, Winner.MODEL_B])
    counted, params = votes_counted_sql(
        votes, "voter_id", "battle__model_a_id", "battle__model_b_id", "winner"
    )
    sql = f"""
        SELECT array_agg(c.voter), array_agg(c.a), array_agg(c.b), array_agg(c.winner = %s)
        FROM ({counted}) AS c(voter, a, b, winner)
    """  # noqa: S608 (the subquery is the ORM's, values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [Winner.MODEL_A, *params])
        found = cursor.fetchone()
    if not found or found[0] is None:
        empty = np.zeros(0, np.int64)
        return [], empty, empty, np.zeros(0, bool)
    voters, a, b, a_won = found
    return list(voters), np.array(a, np.int64), np.array(b, np.int64), np.array(a_won, bool)


def voters_outliers_find() -> list[OutlierVoter]:
    """The voters the statistic flags now (LEADERBOARD_OUTLIER_MIN_VOTES, LEADERBOARD_OUTLIER_Z), worst first.

    Votes between models without a finite rating, from different comparison components, or of a
    model against itself tell nothing about agreement and are left out.
    """
    ratings = _ratings_current()
    voters, a, b, a_won = _decisive_votes()
    if not voters or not ratings:
        return []
    rated = np.array(sorted(ratings), np.int64)
    rating = np.array([ratings[model_id][0] for model_id in rated.tolist()], np.float64)
    component = np.array([ratings[model_id][1] for model_id in rated.tolist()], np.int64)
    pos_a = np.minimum(np.searchsorted(rated, a), len(rated) - 1)
    pos_b = np.minimum(np.searchsorted(rated, b), len(rated) - 1)
    known = (rated[pos_a] == a) & (rated[pos_b] == b)
    rating_a, rating_b = rating[pos_a], rating[pos_b]
    usable = known & (component[pos_a] == component[pos_b]) & (a != b)
    names, voter_index = np.unique(np.array(voters, dtype=object)[usable], return_inverse=True)
    chosen = np.where(a_won[usable], rating_a[usable], rating_b[usable])
    other = np.where(a_won[usable], rating_b[usable], rating_a[usable])
    scored = voters_agreement(
        voter=voter_index.astype(np.int64),
        rating_chosen=chosen,
        rating_other=other,
        n_voters=len(names),
        min_votes=settings.LEADERBOARD_OUTLIER_MIN_VOTES,
        z_threshold=settings.LEADERBOARD_OUTLIER_Z,
    )
    found = [
        OutlierVoter(
            voter_id=str(names[i]),
            votes=int(scored.votes[i]),
            agreement=float(scored.agreement[i]),
            expected=float(scored.expected[i]),
            z_score=float(scored.z[i]),
        )
        for i in np.flatnonzero(scored.flagged).tolist()
    ]
    return sorted(found, key=lambda voter: voter.z_score)


def voters_outlier_sweep() -> int:
    """Bring `arena.FlaggedVoter` in step with the statistic (see the module docstring); returns how
    many voters it flags now."""
    found = voters_outliers_find()
    flagged = {voter.voter_id: voter for voter in found}
    with transaction.atomic():
        existing = {row.voter_id: row for row in FlaggedVoter.objects.select_for_update()}
        for voter_id, voter in flagged.items():
            numbers = {"votes": voter.votes, "agreement": voter.agreement, "z_score": voter.z_score}
            row = existing.get(voter_id)
            if row is None:
                FlaggedVoter.objects.create(voter_id=voter_id, **numbers)
            elif row.reviewed_at is None or voter.z_score <= row.z_score - REQUEUE_DROP:
                for name, value in numbers.items():
                    setattr(row, name, value)
                row.reviewed_at = None
                row.save()
        for voter_id, row in existing.items():
            if voter_id not in flagged and row.reviewed_at is None:
                row.delete()
    return len(found)


# --- the ranking without the flagged voters ------------------------------------------------------


def voters_flagged_ids() -> list[str]:
    """The voters in the moderators' queue: flagged and not reviewed yet."""
    return list(FlaggedVoter.objects.filter(reviewed_at__isnull=True).values_list("voter_id", flat=True))


def _counts_without(
    *, counts: PairCounts | None, removed: dict[tuple[str, str], list[int]]
) -> PairCounts | None:
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    if counts is not None:
        for a, b, wins_a, wins_b, ties in zip(
            counts.a_idx.tolist(),
            counts.b_idx.tolist(),
            counts.wins_a.tolist(),
            counts.wins_b.tolist(),
            counts.ties.tolist(),
            strict=True,
        ):
            cell = cells[(counts.models[a], counts.models[b])]
            cell[0] += wins_a
            cell[1] += wins_b
            cell[2] += ties
    for key, taken in removed.items():
        cell = cells[key]
        for i in range(3):
            # The counts may have moved since the votes were read: never below zero.
            cell[i] = max(0, cell[i] - taken[i])
    kept = {key: cell for key, cell in cells.items() if sum(cell)}
    if not kept:
        return None
    models = sorted({slug for pair in kept for slug in pair})
    index = {slug: i for i, slug in enumerate(models)}
    pairs = sorted(kept, key=lambda pair: (index[pair[0]], index[pair[1]]))
    return PairCounts(
        models=tuple(models),
        a_idx=np.array([index[a] for a, _ in pairs], np.int64),
        b_idx=np.array([index[b] for _, b in pairs], np.int64),
        wins_a=np.array([kept[pair][0] for pair in pairs], np.int64),
        wins_b=np.array([kept[pair][1] for pair in pairs], np.int64),
        ties=np.array([kept[pair][2] for pair in pairs], np.int64),
    )


def _flagged_votes(*, voters: list[str], category: str) -> tuple[int, dict[tuple[str, str], list[int]]]:
    """How many counted votes the voters cast in `category`, and those votes per (slug a, slug b):
    [A won, B won, ties]."""
    if not voters:
        return 0, {}
    votes = votes_counted().filter(voter_id__in=voters)
    if category != OVERALL:
        votes = votes.filter(categories__contains=[category])
    grouped = votes.values_list("battle__model_a__slug", "battle__model_b__slug", "winner").annotate(
        n=Count("pk")
    )
    removed: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    total = 0
    for slug_a, slug_b, winner, n in grouped:
        column = 0 if winner == Winner.MODEL_A else 1 if winner == Winner.MODEL_B else 2
        removed[(slug_a, slug_b)][column] += n
        total += n
    return total, removed


def board_without_flagged(*, category: str = OVERALL) -> dict[str, Any]:
    """The category's ranking without the votes of the voters in the queue (see the module docstring)."""
    category_check(category=category)
    voters = voters_flagged_ids()
    left_out, removed = _flagged_votes(voters=voters, category=category)
    counts = _counts_without(counts=pair_counts_by_category().get(category), removed=removed)
    min_votes = settings.LEADERBOARD_MIN_VOTES
    base = {
        "category": category,
        "interval": "sandwich",
        "min_votes": min_votes,
        "flagged_voters": len(voters),
        "votes_left_out": left_out,
        "votes": counts.total if counts is not None else 0,
    }
    if counts is None:
        return {**base, "rows": []}
    result = leaderboard_compute(
        counts=counts,
        online_elo=online_elo_by_slug(slugs=counts.models),
        interval="sandwich",
        penalty=settings.LEADERBOARD_PENALTY,
        both_intervals=True,
    )
    # Sandwich bounds only: no bootstrap is drawn for this view.
    fitted = cast(list[dict[str, Any]], result.to_dict()["rows"])
    rows = [{**row, "ci_lower": None, "ci_upper": None} for row in fitted]
    ranked = rows_ranked(rows=rows, min_battles=0, min_votes=min_votes, interval="sandwich")
    info = {model.slug: model for model in Model.objects.filter(slug__in=counts.models)}
    for row in ranked:
        model = info.get(row["model"])
        row["name"] = model.display_name if model else row["model"]
        row["organization"] = model.organization if model else ""
        row["license"] = model.license if model else ""
    return {**base, "rows": ranked}
