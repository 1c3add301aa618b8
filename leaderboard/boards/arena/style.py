"""Style control's inputs: each vote's answer style, stored when the vote is cast, and read back as
per-battle features for the snapshot.

A side's style is counted over all its answers in the battle (every turn), as LMArena's style control
sums a conversation's assistant turns: the vote judges the whole conversation. Length is in words
(whitespace-separated), a tokenizer-free stand-in for the tokens LMArena counts; the engine turns the
counts into normalised differences (a - b) / (a + b) per feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from django.conf import settings
from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from arena.models import Battle, Response, Vote
from leaderboard.boards.arena.categories import CATEGORIES, OVERALL
from leaderboard.boards.arena.votes import votes_counted_sql, votes_kept
from leaderboard.models import VoteStyle
from leaderboard.ratings.battle_set import OUTCOME_OF_WINNER, BattleSet
from leaderboard.ratings.style_control import STYLE_FEATURES, StyleFeatures, answer_style_count

_COLUMNS_A: Final = ("words_a", "headers_a", "lists_a", "bold_a")
_COLUMNS_B: Final = ("words_b", "headers_b", "lists_b", "bold_b")
_KNOWN: Final = frozenset(CATEGORIES)


def battle_style_count(*, battle: Battle, texts: Sequence[tuple[str, str]] | None = None) -> dict[str, int]:
    """Both sides' style counts over every turn of the battle, keyed by VoteStyle's columns; `texts`:
    every answer's (side, text), when the caller has read them already."""
    totals = {"a": [0, 0, 0, 0], "b": [0, 0, 0, 0]}
    if texts is None:
        texts = list(Response.objects.filter(turn__battle=battle).values_list("side", "text"))
    for side, text in texts:
        # Counted per answer and summed: a header or a list item never spans two answers.
        for position, value in enumerate(answer_style_count(text=text)):
            totals[side][position] += value
    return {
        **dict(zip(_COLUMNS_A, totals["a"], strict=True)),
        **dict(zip(_COLUMNS_B, totals["b"], strict=True)),
    }


def vote_style_store(
    *, vote: Vote, battle: Battle, texts: Sequence[tuple[str, str]] | None = None
) -> VoteStyle | None:
    """Store the vote and its answers' style (`texts`: as `battle_style_count` takes them); call inside
    the vote's transaction.

    A vote outside `votes_kept()` (excluded as it was cast: arena.integrity) gets no row, as in the
    counts.
    """
    if not vote.is_valid:
        return None
    row = VoteStyle(
        vote=vote,
        model_a_id=battle.model_a_id,
        model_b_id=battle.model_b_id,
        winner=vote.winner,
        anony=vote.anony,
        categories=sorted({label for label in vote.categories if label in _KNOWN}),
        **battle_style_count(battle=battle, texts=texts),
    )
    # One upsert, not update_or_create's savepoints and read: a vote's row is written once, as it is cast.
    VoteStyle.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["vote"],
        update_fields=["model_a_id", "model_b_id", "winner", "anony", "categories", *_COLUMNS_A, *_COLUMNS_B],
    )
    return row


def vote_style_remove(*, vote: Vote) -> None:
    """Take an invalidated vote out of style control's sample; call inside that change's transaction."""
    VoteStyle.objects.filter(vote_id=vote.pk).delete()


def vote_styles_rebuild(*, connection: BaseDatabaseWrapper | None = None) -> int:
    """Give every kept vote without a row one with zero counts (after imports); returns rows written.

    Imported votes carry no answers, so no style is known; a vote cast here already has its row,
    which is kept. Rows of votes no longer kept are deleted.
    """
    connection = connection or default_connection
    kept, params = votes_counted_sql(
        votes_kept(), "id", "battle__model_a_id", "battle__model_b_id", "winner", "anony", "categories"
    )
    table = VoteStyle._meta.db_table
    fill = f"""
        INSERT INTO {table} (vote_id, model_a_id, model_b_id, winner, anony, categories,
                             words_a, headers_a, lists_a, bold_a, words_b, headers_b, lists_b, bold_b)
        SELECT v.id, v.a, v.b, v.winner, v.anony,
               ARRAY(SELECT DISTINCT c FROM unnest(v.categories) AS c WHERE c = ANY(%s) ORDER BY c),
               0, 0, 0, 0, 0, 0, 0, 0
        FROM ({kept}) AS v(id, a, b, winner, anony, categories)
        ON CONFLICT (vote_id) DO NOTHING
    """  # noqa: S608 (the subquery is the ORM's, the table a constant, values are parameters)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        # DELETE first: a row whose vote is no longer kept (an invalidation missed) must not count.
        kept_ids, id_params = votes_counted_sql(votes_kept(), "id")
        cursor.execute(f"DELETE FROM {table} WHERE vote_id NOT IN ({kept_ids})", id_params)  # noqa: S608
        cursor.execute(fill, [list(CATEGORIES), *params])
        return cursor.rowcount


@dataclass(frozen=True, eq=False)
class StyledBattles:
    """One category's battles of the style sample, with their answers' style."""

    battles: BattleSet
    features: StyleFeatures


def styled_battles_by_category(*, limit: int) -> tuple[int, dict[str, StyledBattles]]:
    """The newest `limit` counted votes as battles with style features, per category ("overall" holds
    all of them); and how many votes that is. Reads `VoteStyle` alone, never the votes.

    Models are indexed in slug order per category, as `pair_counts_by_category` does. An imported
    vote has zero counts on both sides: it still informs the ratings, not the style coefficients.
    """
    counted = VoteStyle.objects.all()
    if settings.LEADERBOARD_ANONY_ONLY:
        counted = counted.filter(anony=True)
    rows = list(
        counted.order_by("-vote_id").values_list(
            "model_a__slug", "model_b__slug", "winner", "categories", *_COLUMNS_A, *_COLUMNS_B
        )[: max(0, limit)]
    )
    rows.reverse()  # oldest first: the order a battles file of the same votes has
    result: dict[str, StyledBattles] = {}
    if not rows:
        return 0, result
    counts = np.array([row[4:] for row in rows], np.float64)
    outcome = np.array([OUTCOME_OF_WINNER[row[2]] for row in rows], np.int8)
    labels = [{OVERALL, *(label for label in row[3] if label in _KNOWN)} for row in rows]
    for category in CATEGORIES:
        keep = np.array([category in found for found in labels], np.bool_)
        if not keep.any():
            continue
        chosen = [row for row, kept in zip(rows, keep.tolist(), strict=True) if kept]
        names = sorted({row[0] for row in chosen} | {row[1] for row in chosen})
        index = {name: i for i, name in enumerate(names)}
        n = len(chosen)
        battles = BattleSet(
            models=tuple(names),
            model_a=np.array([index[row[0]] for row in chosen], np.int32),
            model_b=np.array([index[row[1]] for row in chosen], np.int32),
            outcome=outcome[keep],
            tstamp=np.full(n, np.nan),
            anony=np.ones(n, np.bool_),
        )
        features = StyleFeatures(names=STYLE_FEATURES, side_a=counts[keep, :4], side_b=counts[keep, 4:])
        result[category] = StyledBattles(battles=battles, features=features)
    return len(rows), result
