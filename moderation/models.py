"""Moderation data: the audit log of every moderator action. What the actions change (bans, hidden
battles, excluded votes, blocked prompts) lives in the arena's tables, which decide what counts."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One moderator action: who, what, when, why, and what it changed. Written once, never edited."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=40, db_index=True)
    target_kind = models.CharField(max_length=40)
    target_id = models.CharField(max_length=200)
    reason = models.TextField()
    # What changed, e.g. {"votes_invalidated": 3, "vote_ids": [...]}: enough to tell and to undo.
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        # Held by the "moderator" group (migration 0002) and by superusers: every console page and action.
        permissions = [("act", "Can use the moderation console and act on votes, battles and voters")]

    def __str__(self) -> str:
        return f"{self.action} {self.target_kind}:{self.target_id} by {self.actor_id}"
