"""What the arena board does when the arena says a vote was cast (`arena.signals.vote_cast`).

Connected in `LeaderboardConfig.ready`. Both receivers run inside the vote's transaction, in this
order: the vote is labelled with its categories (read from the battle), then both models' online
Elo moves and the change goes back to the voter for the reveal. Open board pages hear of it once
the vote commits.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from arena.models import Battle, Vote
from arena.signals import VoteReveal, vote_cast
from leaderboard.boards.arena.categories import battle_categories_label
from leaderboard.boards.arena.online_elo import online_rating_apply
from leaderboard.boards.arena.services import arena_board_publish_on_commit


@receiver(vote_cast, dispatch_uid="leaderboard.arena.vote_categories")
def vote_categories_store(sender: type[Vote], *, vote: Vote, battle: Battle, **kwargs: Any) -> None:
    vote.categories = battle_categories_label(battle=battle)
    Vote.objects.filter(pk=vote.pk).update(categories=vote.categories)


@receiver(vote_cast, dispatch_uid="leaderboard.arena.online_elo")
def vote_online_elo_apply(sender: type[Vote], *, vote: Vote, battle: Battle, **kwargs: Any) -> VoteReveal:
    change_a, change_b = online_rating_apply(
        model_a=battle.model_a, model_b=battle.model_b, winner=vote.winner
    )
    arena_board_publish_on_commit()
    return VoteReveal(key="elo", model_a=change_a, model_b=change_b)
