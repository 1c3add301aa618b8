from __future__ import annotations

import uuid

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from arena.media import ACCEPTED_IMAGE_FORMATS
from arena.selectors import battle_get
from core.errors import NotFound
from core.http import cached_read


def _battle_page_render(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "arena/battle.html",
        {
            "max_turns": settings.ARENA_MAX_TURNS,
            "max_upload_bytes": settings.ARENA_MAX_UPLOAD_BYTES,
            "accepted_types": ",".join(ACCEPTED_IMAGE_FORMATS.values()),
            "slow_notice_s": settings.ARENA_SLOW_NOTICE_S,
        },
    )


# The same page for every visitor, so it is shared (no data version: only a deploy changes it);
# the page asks GET /api/v1/session for its session and CSRF token.
@cached_read(anonymous_only=True)
def battle_page(request: HttpRequest) -> HttpResponse:
    return _battle_page_render(request)


# The same page again: the script reads the battle's id from the address and asks the API for the
# battle, so the HTML names nothing about it and can be shared. Only 200s are kept: an unknown id is
# asked again each time, and a kept page of a battle deleted since hears 404 from the API and says so.
@cached_read(anonymous_only=True)
def battle_permalink_page(request: HttpRequest, battle_id: uuid.UUID) -> HttpResponse:
    try:
        battle_get(battle_id=battle_id)
    except NotFound as error:
        raise Http404(error.message) from None
    return _battle_page_render(request)
