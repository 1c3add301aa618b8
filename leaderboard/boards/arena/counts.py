"""Keeping `leaderboard.VoteCount` right: one row per (category, pair, winner, blind or not).

A vote adds one to its "overall" row and to each of its categories' rows in the vote's own
transaction (`vote_counts_add`, from the `vote_cast` receiver); an invalidation takes the same
rows down by one (`vote_counts_subtract`). Bulk writes (imports, a new database, a repair)
recount the whole table from the votes instead (`vote_counts_rebuild`). Which votes count is
`votes.votes_kept()`'s rule in every case.
"""

from __future__ import annotations

from typing import Final

from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from arena.models import Battle, Vote
from leaderboard.boards.arena.categories import CATEGORIES, OVERALL
from leaderboard.boards.arena.votes import votes_counted_sql, votes_kept, votes_not_kept
from leaderboard.models import ExcludedVoteCount, VoteCount

_TABLE: Final = VoteCount._meta.db_table
_KEY: Final = "category, model_a_id, model_b_id, winner, anony"
_KNOWN: Final = frozenset(CATEGORIES)
_EXCLUDED_TABLE: Final = ExcludedVoteCount._meta.db_table


def vote_counts_add(*, vote: Vote, battle: Battle) -> None:
    """Count a vote just cast (its categories already labelled). Call inside the vote's transaction."""
    # A vote outside votes_kept() (excluded as it was cast: arena.integrity) is not in the counts.
    if vote.is_valid:
        _vote_counts_change(vote=vote, battle=battle, delta=1)


def vote_counts_subtract(*, vote: Vote, battle: Battle) -> None:
    """Take back a vote that has just left `votes_kept()`. Call inside that change's transaction."""
    _vote_counts_change(vote=vote, battle=battle, delta=-1)


def _vote_counts_change(*, vote: Vote, battle: Battle, delta: int) -> None:
    # One statement for all the vote's rows. Rows are written (and locked) in category order, so
    # two votes of the same pair and winner wait for each other instead of deadlocking.
    categories = sorted({OVERALL, *(label for label in vote.categories if label in _KNOWN)})
    params: list[str | int | bool] = []
    for category in categories:
        params += [category, battle.model_a_id, battle.model_b_id, vote.winner, vote.anony, delta, vote.pk]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, now())"] * len(categories))
    sql = f"""
        INSERT INTO {_TABLE} ({_KEY}, count, last_vote_id, updated_at)
        VALUES {values}
        ON CONFLICT ({_KEY}) DO UPDATE
        SET count = {_TABLE}.count + EXCLUDED.count,
            last_vote_id = GREATEST({_TABLE}.last_vote_id, EXCLUDED.last_vote_id),
            updated_at = now()
    """  # noqa: S608 (the table and columns are constants, values are parameters)
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)


def vote_counts_rebuild(*, connection: BaseDatabaseWrapper | None = None) -> int:
    """Recount every row from the votes, in one transaction; returns the rows written.

    For bulk writes (imports), the migration that creates the table (it passes its schema
    editor's connection) and repairs (`manage.py vote_counts_rebuild`). The table is locked
    against writes (EXCLUSIVE: snapshots still read the old rows meanwhile) before the votes are
    read, so a vote cast meanwhile is counted exactly once: either it committed before the lock
    and the recount sees it, or its own increment waits for the lock and lands on the new rows.
    """
    connection = connection or default_connection
    kept, params = votes_counted_sql(
        votes_kept(), "battle__model_a_id", "battle__model_b_id", "winner", "anony", "categories", "id"
    )
    # unnest() turns a vote's labels into one row per label, so one GROUP BY counts every category;
    # DISTINCT keeps a label listed twice from counting twice, as the increment's set does.
    recount = f"""
        INSERT INTO {_TABLE} ({_KEY}, count, last_vote_id, updated_at)
        SELECT c.category, v.a, v.b, v.winner, v.anony, COUNT(*), MAX(v.id), now()
        FROM ({kept}) AS v(a, b, winner, anony, categories, id)
        CROSS JOIN LATERAL (SELECT DISTINCT unnest(array_append(v.categories, %s::varchar))) AS c(category)
        WHERE c.category = ANY(%s)
        GROUP BY 1, 2, 3, 4, 5
    """  # noqa: S608 (the subquery is the ORM's, the table a constant, values are parameters)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # A recount of millions of votes outlasts the web's statement timeout, and its GROUP BY
        # spills to disk with the default 4 MB of work memory.
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(f"LOCK TABLE {_TABLE} IN EXCLUSIVE MODE")
        # DELETE, not TRUNCATE: a snapshot reading in REPEATABLE READ keeps seeing the old rows.
        cursor.execute(f"DELETE FROM {_TABLE}")  # noqa: S608
        cursor.execute(recount, [*params, OVERALL, list(CATEGORIES)])
        return cursor.rowcount


def excluded_counts_add(*, vote: Vote) -> None:
    """Count a vote that has just become excluded (cast excluded, or a counted one invalidated: either
    way every reason it has is new) under each reason and once overall. Call inside that change's
    transaction; a counted vote changes nothing."""
    if vote.is_valid:
        return
    reasons = sorted({ExcludedVoteCount.ALL, *vote.exclusions})
    params: list[str | int | bool] = []
    for reason in reasons:
        params += [reason, vote.anony, vote.pk]
    values = ", ".join(["(%s, %s, 1, %s, now())"] * len(reasons))
    sql = f"""
        INSERT INTO {_EXCLUDED_TABLE} (reason, anony, count, last_vote_id, updated_at)
        VALUES {values}
        ON CONFLICT (reason, anony) DO UPDATE
        SET count = {_EXCLUDED_TABLE}.count + 1,
            last_vote_id = GREATEST({_EXCLUDED_TABLE}.last_vote_id, EXCLUDED.last_vote_id),
            updated_at = now()
    """  # noqa: S608 (the table is a constant, values are parameters)
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)


def excluded_counts_rebuild(*, connection: BaseDatabaseWrapper | None = None) -> int:
    """Recount `leaderboard.ExcludedVoteCount` from the stored votes, in one transaction (locked against
    writes meanwhile, as `vote_counts_rebuild`); returns the rows written."""
    connection = connection or default_connection
    excluded, params = votes_counted_sql(votes_not_kept(), "id", "anony", "exclusions")
    recount = f"""
        INSERT INTO {_EXCLUDED_TABLE} (reason, anony, count, last_vote_id, updated_at)
        SELECT r.reason, v.anony, COUNT(*), MAX(v.id), now()
        FROM ({excluded}) AS v(id, anony, exclusions)
        CROSS JOIN LATERAL (SELECT DISTINCT unnest(array_append(v.exclusions, %s::varchar))) AS r(reason)
        GROUP BY 1, 2
    """  # noqa: S608 (the subquery is the ORM's, the table a constant, values are parameters)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute(f"LOCK TABLE {_EXCLUDED_TABLE} IN EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {_EXCLUDED_TABLE}")  # noqa: S608
        cursor.execute(recount, [*params, ExcludedVoteCount.ALL])
        return cursor.rowcount
