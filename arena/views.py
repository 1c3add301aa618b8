from __future__ import annotations

import uuid

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from arena.media import ACCEPTED_IMAGE_FORMATS
from arena.media_av import DEMUXERS
from arena.models import Report
from arena.video import FRAMES_DEFAULT, FRAMES_MAX, FRAMES_MIN
from arena.visibility import battle_readable_check, session_voter_id
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
            "video_types": ",".join(t for t in DEMUXERS if t.startswith("video/")),
            "audio_types": ",".join(t for t in DEMUXERS if t.startswith("audio/")),
            "max_video_bytes": settings.ARENA_MAX_VIDEO_BYTES,
            "max_audio_bytes": settings.ARENA_MAX_AUDIO_BYTES,
            "max_video_s": settings.ARENA_MAX_VIDEO_SECONDS,
            "max_audio_s": settings.ARENA_MAX_AUDIO_SECONDS,
            "frames_min": FRAMES_MIN,
            "frames_max": FRAMES_MAX,
            "frames_default": FRAMES_DEFAULT,
            "slow_notice_s": settings.ARENA_SLOW_NOTICE_S,
            "report_reasons": Report.Reason.choices,
        },
    )


# The same page for every visitor, so it is shared (no data version: only a deploy changes it);
# the page asks GET /api/v1/session for its session and CSRF token.
@cached_read(anonymous_only=True)
def battle_page(request: HttpRequest) -> HttpResponse:
    return _battle_page_render(request)


# The same page again: the script reads the battle's id from the address and asks the API for the
# battle, so the HTML names nothing about it. It answers only those who may read the battle (its creator
# before the vote, anyone after it: arena.visibility), others hearing 404 as for an unknown id; so the
# answer depends on the session, and no shared cache keeps it.
def battle_permalink_page(request: HttpRequest, battle_id: uuid.UUID) -> HttpResponse:
    try:
        battle_readable_check(
            battle_id=battle_id, viewer_id=session_voter_id(session=request.session), user=request.user
        )
    except NotFound as error:
        raise Http404(error.message) from None
    response = _battle_page_render(request)
    patch_cache_control(response, private=True)
    return response
