"""Who is voting: an anonymous voter id kept in the session, and a salted hash of the IP."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from django.conf import settings
from django.http import HttpRequest

_SESSION_KEY = "arena_voter_id"


def voter_id_get(*, request: HttpRequest) -> str:
    voter_id = request.session.get(_SESSION_KEY)
    if not voter_id:
        voter_id = uuid.uuid4().hex
        request.session[_SESSION_KEY] = voter_id
    return str(voter_id)


def ip_hash_get(*, request: HttpRequest) -> str:
    # Behind a proxy the deployment sets the real address into REMOTE_ADDR.
    address = request.META.get("REMOTE_ADDR", "") or ""
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()
