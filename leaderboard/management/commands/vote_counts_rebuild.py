"""`manage.py vote_counts_rebuild`: recount the arena's vote counts from the votes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from leaderboard.boards.arena.counts import excluded_counts_rebuild, vote_counts_rebuild
from leaderboard.boards.arena.style import vote_styles_rebuild
from leaderboard.boards.arena.votes import vote_counts_state


class Command(BaseCommand):
    help = (
        "Recount leaderboard.VoteCount (one row per category, pair, winner and blind or not) from the "
        "valid votes, and leaderboard.ExcludedVoteCount from the excluded ones. Votes cast meanwhile "
        "wait and are counted once. For repairs: votes and imports "
        "keep the counts up to date themselves."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = vote_counts_rebuild()
        # And the excluded votes' counts, by reason (the board's totals).
        excluded = excluded_counts_rebuild()
        # Style control's copy of the votes is repaired with them (missing rows get zero counts).
        styles = vote_styles_rebuild()
        state = vote_counts_state()
        self.stdout.write(
            f"{rows} vote count rows written; {state.total} counted votes; "
            f"{excluded} excluded vote count rows written."
        )
        if styles:
            self.stdout.write(f"{styles} votes without a style row given one.")
