"""The arena board's data versions (core.versions), and the board's version made of them.

`SNAPSHOT` changes with every rating snapshot, `VOTES` with every vote and invalidation (the online
Elo and the counts move, or the totals of excluded votes); with the models' version they make the
board's, which the live event carries and the fragment answers If-None-Match with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from django.db.models import Max, Sum

from arena.models import Model, Vote
from arena.versions import MODELS
from core.versions import data_versions_get
from leaderboard.boards.arena.selectors import snapshot_version_latest
from leaderboard.models import OnlineRating

SNAPSHOT: Final = "arena-snapshot"
VOTES: Final = "arena-votes"
BOARD: Final = (SNAPSHOT, VOTES, MODELS)


def arena_board_version() -> str:
    """The board's version: from the cache, no query; from the tables while the cache is down."""
    return data_versions_get(*BOARD) or _arena_board_version_read()


def _arena_board_version_read() -> str:
    live = OnlineRating.objects.aggregate(at=Max("updated_at"), n=Sum("battles"))
    edited = Model.objects.aggregate(at=Max("updated_at"))["at"]
    # A vote that is not counted moves no rating, but the board's totals of excluded votes.
    last_vote = Vote.objects.aggregate(n=Max("id"))["n"] or 0

    def stamp(value: datetime | None) -> int:
        return int(value.timestamp() * 1_000_000) if value else 0

    return f"db.{snapshot_version_latest()}.{stamp(live['at'])}.{live['n'] or 0}.{stamp(edited)}.{last_vote}"
