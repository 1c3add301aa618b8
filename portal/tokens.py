"""Personal API tokens: created, listed and revoked by their owner, stored as a hash.

A secret looks like `ahp_<43 url-safe characters>`: the fixed start lets secret scanners (and people)
recognise a leaked one, and makes a malformed header cheap to refuse before any query.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from datetime import timedelta
from typing import Final

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import Conflict, InvalidInput, NotFound
from portal.models import ApiToken

SECRET_START: Final = "ahp_"  # noqa: S105 -- not a secret: how every secret starts
_SECRET_BYTES: Final = 32
# The start and 8 random characters: enough to tell a user's tokens apart, far too few to guess from.
_PREFIX_CHARS: Final = len(SECRET_START) + 8
_SECRET_MAX_CHARS: Final = 200
NAME_MAX_CHARS: Final = ApiToken._meta.get_field("name").max_length or 100
# A user who needs more is better served by revoking the ones no pipeline uses any longer.
TOKENS_MAX_ACTIVE: Final = 50
# last_used_at is a hint ("used 3 minutes ago"), not an audit log: written at most this often, so a busy
# pipeline does not cost a database write per request.
_LAST_USED_RESOLUTION: Final = timedelta(minutes=1)
_BIGINT_MAX: Final = 2**63 - 1


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """The user's active (unrevoked) tokens, newest first."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at", "-id")


def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user` and its secret, which is never stored and cannot be shown again."""
    name = " ".join(str(name).split())
    if not name:
        raise InvalidInput("Give the token a name, such as the script or pipeline that will use it.")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise InvalidInput("A token's name cannot contain control or invisible formatting characters.")
    if len(name) > NAME_MAX_CHARS:
        raise InvalidInput(f"A token's name can be at most {NAME_MAX_CHARS} characters long.")
    with transaction.atomic():
        # The owner's row, locked: two concurrent creations cannot both pass the count below.
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
        if tokens_of(user=user).count() >= TOKENS_MAX_ACTIVE:
            raise Conflict(
                f"You already have {TOKENS_MAX_ACTIVE} active tokens; revoke one you no longer use first."
            )
        secret = SECRET_START + secrets.token_urlsafe(_SECRET_BYTES)
        token = ApiToken.objects.create(
            user=user, name=name, prefix=secret[:_PREFIX_CHARS], hash=_hash(secret)
        )
    return token, secret


def token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of `user`'s tokens; revoking it again changes nothing. Another user's is not found."""
    missing = NotFound("You have no API token with that id.")
    if not 0 < token_id <= _BIGINT_MAX:
        raise missing
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(user=user, pk=token_id).first()
        if token is None:
            raise missing
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(*, secret: str) -> User | None:
    """The active user whose active token this is, or None (malformed, unknown or revoked)."""
    if not secret.startswith(SECRET_START) or len(secret) > _SECRET_MAX_CHARS:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(hash=_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user
