"""The submission portal's data: personal API tokens (portal/tokens.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A personal API token: scripts and CI send its secret as `Authorization: Bearer <secret>`.

    Only the secret's SHA-256 is kept, so a leaked table grants nothing; the secret is shown once, when
    it is created. The secret is random (256 bits), so a fast unsalted hash is enough: there is nothing
    to guess, and the lookup by hash stays one index read per request.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The secret's first characters, shown in lists so that a person can tell their tokens apart.
    prefix = models.CharField(max_length=16)
    hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["user", "revoked_at"], name="portal_token_user_active")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# The submissions' models live with their code; imported here so that Django registers them with the app.
from portal.submissions.models import Submission, SubmissionEvent  # noqa: E402

__all__ = ["ApiToken", "Submission", "SubmissionEvent"]
