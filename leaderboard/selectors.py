"""Reads of leaderboard data."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from django.db.models import Max

from arena.models import Model
from leaderboard.models import OnlineRating


class OnlineEloRow(TypedDict):
    rank: int
    slug: str
    name: str
    organization: str
    license: str
    rating: float
    battles: int


def online_elo_rows() -> list[OnlineEloRow]:
    ratings = (
        OnlineRating.objects.select_related("model")
        .exclude(model__status=Model.Status.RETIRED)
        .filter(battles__gt=0)
        .order_by("-rating", "model__slug")
    )
    return [
        OnlineEloRow(
            rank=position,
            slug=row.model.slug,
            name=row.model.display_name,
            organization=row.model.organization,
            license=row.model.license,
            rating=row.rating,
            battles=row.battles,
        )
        for position, row in enumerate(ratings, start=1)
    ]


def online_elo_updated_at() -> datetime | None:
    value: datetime | None = OnlineRating.objects.aggregate(latest=Max("updated_at"))["latest"]
    return value
