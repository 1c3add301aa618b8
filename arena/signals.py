"""What the arena tells the layers above it: one signal per event, sent from the service that made it.

The arena knows nothing of leaderboards; a higher layer connects receivers here (in its
`AppConfig.ready`). `vote_cast` is sent inside the vote's transaction, after the vote row is
written, so a receiver's writes commit or roll back with the vote, and whatever it returns for the
reveal (a `VoteReveal`) goes back to the voter through `Signal.send`. `vote_committed` follows it
once that transaction is over, for work that must not hold its row locks until the vote commits (the
online Elo: every vote would otherwise queue behind every other vote of the same models).
`vote_invalidated` is sent the same way inside the invalidation's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.dispatch import Signal

# sender=Vote, vote=<Vote>, battle=<Battle> (models selected), answers=<list of
# arena.integrity.BattleAnswer>: every answer of the battle, as the vote read them (so that a receiver
# need not read them again); receivers may return a VoteReveal.
vote_cast = Signal()

# sender=Vote, vote=<Vote>, battle=<Battle>: sent by `arena.services.vote_cast` right after the vote's
# transaction (committed, unless an outer transaction holds it); receivers may return a VoteReveal.
vote_committed = Signal()

# sender=Vote, vote=<Vote> (already is_valid=False), battle=<Battle>, reason=<str>; sent inside the
# transaction of `arena.services.vote_invalidate`, once per vote that was valid until then.
vote_invalidated = Signal()


@dataclass(frozen=True)
class RatingChange:
    before: float
    after: float


@dataclass(frozen=True)
class VoteReveal:
    """A rating that moved with the vote, shown to the voter with the models' names."""

    key: str  # e.g. "elo"
    model_a: RatingChange
    model_b: RatingChange
