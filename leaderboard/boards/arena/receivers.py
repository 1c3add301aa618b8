"""What the arena board does when the arena says a vote was cast (`arena.signals.vote_cast`) or
invalidated (`arena.signals.vote_invalidated`).

Connected in `LeaderboardConfig.ready`. The receivers of a vote run inside the vote's transaction,
in this order: the vote is labelled with its categories (read from the battle) and counted under
them (`leaderboard.VoteCount`; a vote cast excluded, under its reasons in `leaderboard.ExcludedVoteCount`
instead), its answers' style is stored (`leaderboard.VoteStyle`), then both models' online Elo moves
(not for an excluded vote) and the change goes back to the voter for the reveal. Open board pages
hear of it once the vote commits. An invalidation takes the vote out of the counts in its own
transaction, and open pages hear of it; the next snapshot shows it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.dispatch import receiver

from arena.models import Battle, Vote
from arena.signals import VoteReveal, vote_cast, vote_committed, vote_invalidated
from leaderboard.boards.arena.categories import battle_categories_label
from leaderboard.boards.arena.counts import excluded_counts_add, vote_counts_add, vote_counts_subtract
from leaderboard.boards.arena.online_elo import online_rating_apply
from leaderboard.boards.arena.services import arena_board_changed
from leaderboard.boards.arena.style import vote_style_remove, vote_style_store
from leaderboard.boards.arena.versions import VOTES


@receiver(vote_cast, dispatch_uid="leaderboard.arena.vote_categories")
def vote_categories_store(sender: type[Vote], *, vote: Vote, battle: Battle, **kwargs: Any) -> None:
    vote.categories = battle_categories_label(battle=battle)
    Vote.objects.filter(pk=vote.pk).update(categories=vote.categories)
    # Here, not in a receiver of its own: the counts need the labels, and one receiver keeps the order.
    vote_counts_add(vote=vote, battle=battle)
    # A vote cast excluded (arena.integrity) is counted among the excluded instead.
    excluded_counts_add(vote=vote)


@receiver(vote_cast, dispatch_uid="leaderboard.arena.vote_style")
def vote_style_record(
    sender: type[Vote], *, vote: Vote, battle: Battle, answers: Any = None, **kwargs: Any
) -> None:
    # The answers are final once the vote is cast; style control reads these counts, not the text.
    texts = None if answers is None else [(answer.side, answer.text) for answer in answers]
    vote_style_store(vote=vote, battle=battle, texts=texts)


# After the vote's transaction, in a short one of its own: the two rating rows are locked for three
# statements instead of until the vote commits (under load, votes of the same models queued on them).
@receiver(vote_committed, dispatch_uid="leaderboard.arena.online_elo")
def vote_online_elo_apply(
    sender: type[Vote], *, vote: Vote, battle: Battle, **kwargs: Any
) -> VoteReveal | None:
    if not vote.is_valid:
        # Stored but not counted (arena.integrity): no rating moves and the reveal shows none, but
        # the board's totals of excluded votes changed.
        arena_board_changed(VOTES)
        return None
    if not vote.anony and settings.LEADERBOARD_ANONY_ONLY:
        # A named vote (the playground's) moves no rating the anonymous board shows, as in a replay.
        return None
    change_a, change_b = online_rating_apply(
        model_a=battle.model_a, model_b=battle.model_b, winner=vote.winner
    )
    arena_board_changed(VOTES)
    return VoteReveal(key="elo", model_a=change_a, model_b=change_b)


@receiver(vote_invalidated, dispatch_uid="leaderboard.arena.vote_counts_invalidated")
def vote_counts_invalidated(sender: type[Vote], *, vote: Vote, battle: Battle, **kwargs: Any) -> None:
    """Take the vote out of the counts; the next snapshot leaves it out.

    The online Elo is not rewound: it is a running value, and undoing one step in the middle of
    the history would not give what a replay without the vote gives. `online_ratings_replay()`
    recomputes it from the counted votes when that matters (after a moderation sweep).
    """
    vote_counts_subtract(vote=vote, battle=battle)
    excluded_counts_add(vote=vote)
    vote_style_remove(vote=vote)
    arena_board_changed(VOTES)
