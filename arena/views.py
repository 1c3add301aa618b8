from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from arena.media import ACCEPTED_IMAGE_FORMATS
from core.http import cached_read


# The same page for every visitor, so it is shared (no data version: only a deploy changes it);
# the page asks GET /api/v1/session for its session and CSRF token.
@cached_read(anonymous_only=True)
def battle_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "arena/battle.html",
        {
            "max_turns": settings.ARENA_MAX_TURNS,
            "max_upload_bytes": settings.ARENA_MAX_UPLOAD_BYTES,
            "accepted_types": ",".join(ACCEPTED_IMAGE_FORMATS.values()),
        },
    )
