from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from arena.media import ACCEPTED_IMAGE_FORMATS


@ensure_csrf_cookie
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
