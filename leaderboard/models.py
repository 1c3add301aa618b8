"""Leaderboard data: the live online Elo (snapshots come with the ratings issue)."""

from __future__ import annotations

from django.db import models

from arena.models import Model
from leaderboard.ratings.online_elo import ELO_START


class OnlineRating(models.Model):
    model = models.OneToOneField(Model, on_delete=models.CASCADE, related_name="online_rating")
    rating = models.FloatField(default=ELO_START)
    battles = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-rating"]

    def __str__(self) -> str:
        return f"{self.model_id}: {self.rating:.1f}"
