"""People and votes for the moderation tests."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Sum

from arena.models import Battle, Model, Response, Side, Turn, Vote
from leaderboard.boards.arena.counts import vote_counts_add
from leaderboard.boards.arena.style import vote_style_store
from leaderboard.models import VoteCount
from moderation.services import moderator_group_get

_numbers = itertools.count(1)
PASSWORD = "a long test password"


def user_make(*, role: str = "plain") -> User:
    """A user of a role: "plain", "staff" (is_staff, no group), "moderator" (the group) or "superuser"."""
    n = next(_numbers)
    user = User.objects.create_user(
        username=f"mod-user{n}",
        email=f"mod-user{n}@example.org",
        password=PASSWORD,
        is_staff=role in ("staff", "superuser"),
        is_superuser=role == "superuser",
    )
    if role == "moderator":
        user.groups.add(moderator_group_get())
    return user


def counted_vote_make(
    model_a: Model, model_b: Model, winner: str = "model_a", *, voter_id: str = "voter-1", **fields: Any
) -> Vote:
    """A voted one-turn battle, counted as `vote_cast`'s receivers count it (no online Elo step: the
    tests replay it)."""
    battle = Battle.objects.create(model_a=model_a, model_b=model_b, creator_id=voter_id)
    turn = Turn.objects.create(battle=battle, index=0, prompt="What is in the picture?")
    for side in Side.values:
        Response.objects.create(turn=turn, side=side, status=Response.Status.DONE, text=f"answer {side}")
    fields.setdefault("ip_hash", "b" * 64)
    vote = Vote.objects.create(battle=battle, winner=winner, voter_id=voter_id, **fields)
    vote_counts_add(vote=vote, battle=battle)
    vote_style_store(vote=vote, battle=battle)
    return vote


def overall_count() -> int:
    return VoteCount.objects.filter(category="overall").aggregate(n=Sum("count"))["n"] or 0
