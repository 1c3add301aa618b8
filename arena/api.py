"""REST endpoints of the arena; each one checks input and calls a service or selector."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from ninja import File, Form, Router, Schema, Status, UploadedFile
from ninja.decorators import decorate_view
from pydantic import WithJsonSchema

from arena import sanctions, selectors, services
from arena.audio import audio_asset_create
from arena.identity import ip_hash_get, rate_client_get, voter_id_get
from arena.media import ACCEPTED_IMAGE_FORMATS, image_asset_create, media_asset_read
from arena.media_av import media_size_check
from arena.models import Battle, MediaAsset, Report, TurnAttachment
from arena.signals import RatingChange, VoteReveal
from arena.versions import MODELS
from arena.video import (
    FRAMES_DEFAULT,
    FRAMES_MAX,
    FRAMES_MIN,
    video_asset_create,
    video_frame_read,
    video_frames_check,
)
from arena.visibility import (
    attachment_readable_get,
    battle_readable_check,
    battle_readable_get,
    session_voter_id,
)
from core.api import ErrorOut
from core.errors import InvalidInput, NotFound
from core.guards import csrf_require, upload_size_check
from core.http import cached_read
from core.ratelimits import request_rate_limit_check

router = Router(tags=["arena"])

# A prompt as arena.services takes it, told to clients in the schema: text that is not all blank, within
# the limit. The service itself checks it, so that a person reads what is wrong in a sentence.
Prompt = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "minLength": 1, "pattern": r"\S", "maxLength": settings.ARENA_MAX_PROMPT_CHARS}
    ),
]

# A video's frame count as arena.video reads it (a blank is the default), told to clients in the schema.
Frames = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "integer",
            "minimum": FRAMES_MIN,
            "maximum": FRAMES_MAX,
            "default": FRAMES_DEFAULT,
            "description": "How many frames of the video both models see, sampled uniformly.",
        }
    ),
]

# The form as arena.services reads it, for the schema: the prompt is required (the service, not ninja,
# refuses a missing one, in its own words); the image in one of arena.media's formats, the video and the
# audio file in arena.media_av's (an image and an audio file may go together; a video goes alone).
_PROMPT_FORM_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "required": ["prompt"],
                    "not": {"anyOf": [{"required": ["video", "image"]}, {"required": ["video", "audio"]}]},
                },
                "encoding": {
                    "image": {"contentType": ", ".join(ACCEPTED_IMAGE_FORMATS.values())},
                    "video": {"contentType": "video/mp4, video/webm, video/quicktime"},
                    "audio": {
                        "contentType": "audio/wav, audio/mpeg, audio/mp4, audio/ogg, audio/flac, audio/webm"
                    },
                },
            }
        }
    }
}


class SessionOut(Schema):
    csrf_token: str


class BattleCreatedOut(Schema):
    id: str
    state: str
    stream: str


class ModelOut(Schema):
    slug: str
    name: str
    organization: str
    license: str
    modalities: list[str]


class VoteIn(Schema):
    winner: Literal["model_a", "model_b", "tie", "tie (bothbad)"]


class RatingChangeOut(Schema):
    before: float
    after: float


class VoteOut(Schema):
    model_a: ModelOut
    model_b: ModelOut
    winner: str
    elo: dict[str, RatingChangeOut] | None


def _media_from_upload(
    *, image: UploadedFile | None, video: UploadedFile | None, audio: UploadedFile | None, frames: int
) -> list[MediaAsset]:
    """The uploaded files as stored assets: an image, an audio file, both, or a video alone."""
    if video is not None and (image is not None or audio is not None):
        raise InvalidInput(
            "Send a video on its own (its sound is kept with it), without an image or audio file."
        )
    assets = []
    if image is not None:
        upload_size_check(size=image.size, what="image")
        assets.append(image_asset_create(data=image.read()))
    if video is not None:
        media_size_check(size=video.size, kind="video")
        assets.append(video_asset_create(data=video.read(), frames=frames))
    if audio is not None:
        media_size_check(size=audio.size, kind="audio")
        assets.append(audio_asset_create(data=audio.read()))
    return assets


def _battle_created(battle: Battle) -> dict[str, Any]:
    state = selectors.battle_state_get(battle_id=battle.pk)
    return {"id": str(battle.pk), "state": state, "stream": f"/ws/battles/{battle.pk}/"}


def _battle_seen(request: HttpRequest, battle_id: uuid.UUID) -> dict[str, Any]:
    """The battle as the requesting session's voter may see it (arena.visibility: 404 if they may not)."""
    viewer_id = voter_id_get(request=request)
    battle = battle_readable_get(battle_id=battle_id, viewer_id=viewer_id, user=request.user)
    return selectors.battle_payload(battle=battle, viewer_id=viewer_id)


def _battle_reader_require(request: HttpRequest, battle_id: uuid.UUID) -> None:
    """Before acting: one who may not read the battle hears 404, as for an unknown one (not the 403
    that would tell them it exists)."""
    battle_readable_check(battle_id=battle_id, viewer_id=voter_id_get(request=request), user=request.user)


def _reveal(reveal: VoteReveal | None) -> dict[str, RatingChange] | None:
    return None if reveal is None else {"model_a": reveal.model_a, "model_b": reveal.model_b}


@router.get("/session", response=SessionOut, summary="Start or resume a voting session")
def session_get(request: HttpRequest) -> dict[str, str]:
    voter_id_get(request=request)
    return {"csrf_token": get_token(request)}


@router.get("/models", response=list[ModelOut], summary="The active arena models")
@decorate_view(cached_read(MODELS))
def models_list(request: HttpRequest) -> list[dict[str, Any]]:
    return selectors.models_active_list()


@router.post(
    "/battles",
    response={
        201: BattleCreatedOut,
        400: ErrorOut,
        403: ErrorOut,
        413: ErrorOut,
        415: ErrorOut,
        429: ErrorOut,
        503: ErrorOut,
    },
    summary="Start a battle: two anonymous models answer the prompt",
    openapi_extra=_PROMPT_FORM_DOC,
)
def battle_create(
    request: HttpRequest,
    prompt: Prompt = Form(""),
    image: UploadedFile | None = File(None),
    video: UploadedFile | None = File(None),
    audio: UploadedFile | None = File(None),
    frames: Frames = Form(""),
) -> Status[dict[str, Any]]:
    csrf_require(request=request)
    request_rate_limit_check(request=request, scope="battle", client=rate_client_get(request=request))
    frame_count = video_frames_check(count=frames)
    battle = services.battle_create(
        prompt=prompt,
        attachments=_media_from_upload(image=image, video=video, audio=audio, frames=frame_count),
        creator_id=voter_id_get(request=request),
        ip_hash=ip_hash_get(request=request),
        video_frames=frame_count,
    )
    return Status(201, _battle_created(battle))


@router.get(
    "/battles/{uuid:battle_id}",
    response={200: dict[str, Any], 404: ErrorOut},
    summary="A battle's state: its creator's before the vote, shared after it (unless hidden)",
)
def battle_detail(request: HttpRequest, battle_id: uuid.UUID) -> dict[str, Any]:
    return _battle_seen(request, battle_id)


@router.post(
    "/battles/{uuid:battle_id}/turns",
    response={
        201: dict[str, Any],
        400: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        415: ErrorOut,
        429: ErrorOut,
        503: ErrorOut,
    },
    summary="Ask the same pair a follow-up question",
    openapi_extra=_PROMPT_FORM_DOC,
)
def battle_turn_create(
    request: HttpRequest,
    battle_id: uuid.UUID,
    prompt: Prompt = Form(""),
    image: UploadedFile | None = File(None),
    video: UploadedFile | None = File(None),
    audio: UploadedFile | None = File(None),
    frames: Frames = Form(""),
) -> Status[dict[str, Any]]:
    csrf_require(request=request)
    request_rate_limit_check(request=request, scope="turn", client=rate_client_get(request=request))
    _battle_reader_require(request, battle_id)
    frame_count = video_frames_check(count=frames)
    services.turn_append(
        battle_id=battle_id,
        voter_id=voter_id_get(request=request),
        prompt=prompt,
        attachments=_media_from_upload(image=image, video=video, audio=audio, frames=frame_count),
        video_frames=frame_count,
    )
    return Status(201, _battle_seen(request, battle_id))


@router.post(
    "/battles/{uuid:battle_id}/vote",
    response={200: VoteOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut},
    summary="Vote, then learn which models answered",
)
def battle_vote(request: HttpRequest, battle_id: uuid.UUID, payload: VoteIn) -> dict[str, Any]:
    csrf_require(request=request)
    request_rate_limit_check(request=request, scope="vote", client=rate_client_get(request=request))
    # The reader rule (404 for one who may not read it) is checked on the row the vote locks anyway.
    result = services.vote_cast(
        battle_id=battle_id,
        voter_id=voter_id_get(request=request),
        ip_hash=ip_hash_get(request=request),
        winner=payload.winner,
        readers_only=True,
        user=request.user,
    )
    return {
        "model_a": selectors.model_public(result.battle.model_a),
        "model_b": selectors.model_public(result.battle.model_b),
        "winner": result.vote.winner,
        "elo": _reveal(result.reveals.get("elo")),
    }


@router.post(
    "/battles/{uuid:battle_id}/abandon",
    response={200: dict[str, Any], 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Leave a battle: its unfinished answers stop, and it takes no vote",
)
def battle_abandon(request: HttpRequest, battle_id: uuid.UUID) -> dict[str, Any]:
    csrf_require(request=request)
    _battle_reader_require(request, battle_id)
    services.battle_abandon(battle_id=battle_id, voter_id=voter_id_get(request=request))
    return _battle_seen(request, battle_id)


@router.post(
    "/battles/{uuid:battle_id}/retry",
    response={
        201: BattleCreatedOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        429: ErrorOut,
        503: ErrorOut,
    },
    summary="Put the same prompt to a new pair (the original is abandoned; a voted battle cannot be retried)",
)
def battle_retry(request: HttpRequest, battle_id: uuid.UUID) -> Status[dict[str, Any]]:
    csrf_require(request=request)
    # A new pair answers: as dear as a new battle, and counted with them.
    request_rate_limit_check(request=request, scope="battle", client=rate_client_get(request=request))
    _battle_reader_require(request, battle_id)
    battle = services.battle_retry(
        battle_id=battle_id, voter_id=voter_id_get(request=request), ip_hash=ip_hash_get(request=request)
    )
    return Status(201, _battle_created(battle))


class ReportIn(Schema):
    # A plain string in the schema's enum: the service refuses another value in a sentence (400).
    reason: Annotated[str, WithJsonSchema({"type": "string", "enum": list(Report.Reason.values)})]
    details: Annotated[
        str, WithJsonSchema({"type": "string", "maxLength": sanctions.REPORT_DETAILS_MAX_CHARS})
    ] = ""


class ReportOut(Schema):
    id: int
    detail: str


@router.post(
    "/battles/{uuid:battle_id}/report",
    response={201: ReportOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut},
    summary="Report a battle to the moderators (harmful content, personal data, a revealed model ...)",
)
def battle_report(request: HttpRequest, battle_id: uuid.UUID, payload: ReportIn) -> Status[dict[str, Any]]:
    csrf_require(request=request)
    request_rate_limit_check(request=request, scope="report", client=rate_client_get(request=request))
    report = sanctions.report_create(
        battle_id=battle_id,
        reporter_id=voter_id_get(request=request),
        reason=payload.reason,
        details=payload.details,
    )
    return Status(201, {"id": report.pk, "detail": "Thank you: the moderators will look at this battle."})


@router.get(
    "/attachments/{public_id}",
    summary="An image, video or audio file of a battle, to those who may read the battle",
    response={200: None, 404: ErrorOut},
)
def attachment_get(request: HttpRequest, public_id: str) -> HttpResponse:
    attachment = _attachment_seen(request, public_id)
    asset = attachment.asset
    response = HttpResponse(media_asset_read(asset=asset), content_type=asset.mime_type)
    # Only the viewer's own browser keeps it: who may see it depends on the session (and a moderator
    # may hide its battle later), so no shared cache may.
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _attachment_seen(request: HttpRequest, public_id: str) -> TurnAttachment:
    try:
        name = uuid.UUID(public_id)
    except ValueError:
        raise NotFound("There is no such image.") from None
    return attachment_readable_get(
        public_id=name, viewer_id=session_voter_id(session=request.session), user=request.user
    )


@router.get(
    "/attachments/{public_id}/frames/{int:index}",
    summary="One of the frames both models saw of a battle's video (JPEG), to those who may read the battle",
    response={200: None, 400: ErrorOut, 404: ErrorOut},
)
def attachment_frame_get(request: HttpRequest, public_id: str, index: int) -> HttpResponse:
    attachment = _attachment_seen(request, public_id)
    if attachment.frames is None:
        raise NotFound("This attachment is not a video; it has no frames.")
    data = video_frame_read(asset=attachment.asset, count=attachment.frames, index=index)
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response
