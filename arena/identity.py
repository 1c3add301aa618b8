"""Who is voting: an anonymous voter id kept in the session, and a salted hash of the IP."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from core.client_ip import request_client_ip

VOTER_SESSION_KEY = "arena_voter_id"
_SESSION_KEY = VOTER_SESSION_KEY


def voter_id_get(*, request: HttpRequest) -> str:
    voter_id = request.session.get(_SESSION_KEY)
    if not voter_id:
        voter_id = uuid.uuid4().hex
        request.session[_SESSION_KEY] = voter_id
    return str(voter_id)


def _salted_hash(value: str) -> str:
    return hmac.new(settings.ARENA_IP_HASH_SALT.encode(), value.encode(), hashlib.sha256).hexdigest()


def ip_hash_get(*, request: HttpRequest) -> str:
    # Only the hash is kept: the address itself (core.client_ip's rule) is never stored.
    return _salted_hash(request_client_ip(request=request))


def voter_hash_get(*, voter_id: str) -> str:
    """How a ban names a voter (`arena.Ban.value_hash`); an IP ban holds the vote's `ip_hash` itself."""
    return _salted_hash(f"voter:{voter_id}")


def rate_client_key(*, user: Any, voter_id: str) -> str:
    """Who a rate limit counts (core.ratelimits): the signed-in user, whatever the session, else the
    session's voter."""
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"voter:{voter_id}"


def rate_client_get(*, request: HttpRequest) -> str:
    return rate_client_key(user=getattr(request, "user", None), voter_id=voter_id_get(request=request))
