"""Changes to leaderboard data."""

from __future__ import annotations

from dataclasses import dataclass

from arena.models import Model
from leaderboard.models import OnlineRating
from leaderboard.ratings.online_elo import elo_step


@dataclass(frozen=True)
class RatingChange:
    before: float
    after: float


def online_rating_apply(*, model_a: Model, model_b: Model, winner: str) -> tuple[RatingChange, RatingChange]:
    """Move both models' online Elo by one battle. Call inside the vote's transaction."""
    for model in (model_a, model_b):
        OnlineRating.objects.get_or_create(model=model)
    # Locking in primary-key order keeps two concurrent votes on the same pair from deadlocking.
    rows = {
        row.model_id: row
        for row in OnlineRating.objects.select_for_update()
        .filter(model_id__in=[model_a.pk, model_b.pk])
        .order_by("model_id")
    }
    row_a, row_b = rows[model_a.pk], rows[model_b.pk]
    before_a, before_b = row_a.rating, row_b.rating
    row_a.rating, row_b.rating = elo_step(rating_a=before_a, rating_b=before_b, winner=winner)
    row_a.battles += 1
    row_b.battles += 1
    OnlineRating.objects.bulk_update([row_a, row_b], ["rating", "battles", "updated_at"])
    return RatingChange(before_a, row_a.rating), RatingChange(before_b, row_b.rating)
