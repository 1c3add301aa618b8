"""Reads of arena data, shaped for the public: nothing names a model before the vote."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q

from arena.answers import answer_stream_key
from arena.audio import audio_peaks_get
from arena.models import Battle, MediaRendition, Model, Response, Side, Turn, TurnAttachment, Vote
from core.errors import NotFound
from workers.streaming import stream_state_get


def model_public(model: Model) -> dict[str, Any]:
    return {
        "slug": model.slug,
        "name": model.display_name,
        "organization": model.organization,
        "license": model.license,
        "modalities": list(model.input_modalities),
    }


def models_active_list() -> list[dict[str, Any]]:
    return [model_public(model) for model in Model.objects.filter(status=Model.Status.ACTIVE)]


def playground_models(*, user: AbstractBaseUser | AnonymousUser, also: Collection[int] = ()) -> list[Model]:
    """The models `user` may pick in the playground, by name: every active model, plus the models
    whose ids are in `also`, whatever their status.

    The arena knows nothing of who submitted a model. The portal (a layer above) widens the list:
    its playground passes the ids of the user's own FINISHED submissions in `also` (and every
    submitter's for staff), so that a model only its submitter may try is never active, and so
    never drawn into a blind battle.
    """
    del user  # the portal decides whose models are in `also`; kept so that callers say who asks
    wanted = Q(status=Model.Status.ACTIVE) | Q(pk__in=list(also))
    return list(Model.objects.filter(wanted).order_by("display_name", "slug"))


def playground_model_pick(
    *, slug: str, user: AbstractBaseUser | AnonymousUser, also: Collection[int] = ()
) -> Model:
    """One of `playground_models(user=user, also=also)` by slug."""
    for model in playground_models(user=user, also=also):
        if model.slug == slug:
            return model
    raise NotFound("That model is not available in the playground; pick one from the list.")


def named_answers_get(*, battle_id: uuid.UUID | str, turn: int) -> dict[str, dict[str, Any]]:
    """Each answer of a turn of a battle as it stands, by side: `status`, `text`, `error`. A streaming
    answer's text comes from its stream's own record, which the worker writes before each delta
    (the stored text lags it by up to ARENA_PERSIST_INTERVAL_S); a finished one's as stored."""
    answers: dict[str, dict[str, Any]] = {}
    rows = Response.objects.filter(turn__battle_id=battle_id, turn__index=turn).values_list(
        "side", "status", "text", "error"
    )
    for side, status, text, error in rows:
        if status == Response.Status.STREAMING:
            streamed = stream_state_get(
                state_key=answer_stream_key(battle_id=battle_id, turn=turn, side=side)
            )
            text = streamed if streamed is not None and len(streamed) >= len(text) else text
        answers[side] = {"status": status, "text": text, "error": error or None}
    return answers


def battle_get(*, battle_id: uuid.UUID | str, blind_only: bool = True) -> Battle:
    """A battle with its turns, answers and attachments. Blind ones only unless asked: a named
    battle (the playground's) is never shown where blind ones are, at their permalinks or API."""
    battles = Battle.objects.all() if not blind_only else Battle.objects.filter(mode=Battle.Mode.BLIND)
    battle = (
        battles.select_related("model_a", "model_b")
        .prefetch_related(
            Prefetch("turns", queryset=Turn.objects.order_by("index")),
            Prefetch("turns__responses", queryset=Response.objects.order_by("side")),
            Prefetch(
                "turns__turnattachment_set",
                queryset=TurnAttachment.objects.select_related("asset").order_by("position"),
            ),
        )
        .filter(pk=battle_id)
        .first()
    )
    if battle is None:
        raise NotFound("There is no such battle.")
    return battle


def _vote_of(battle: Battle) -> Vote | None:
    try:
        return battle.vote
    except Vote.DoesNotExist:
        return None


def battle_state(*, battle: Battle) -> str:
    """generating, ready (can vote), failed (a side of the latest turn failed), voted, or abandoned
    (its creator left it: what was unfinished then failed)."""
    if battle.abandoned_at is not None:
        return "abandoned"
    turns = list(battle.turns.all())
    statuses = {response.status for response in turns[-1].responses.all()} if turns else set()
    return _answers_state(statuses=statuses, voted=_vote_of(battle) is not None)


def battle_state_get(*, battle_id: uuid.UUID) -> str:
    """battle_state read in two queries, for those who need the state alone (a new battle's 201, the
    announcement as an answer ends), without the turns, answers and attachments battle_get loads."""
    row = (
        Battle.objects.filter(pk=battle_id)
        .annotate(voted=Exists(Vote.objects.filter(battle_id=OuterRef("pk"))))
        .values_list("abandoned_at", "voted")
        .first()
    )
    if row is None:
        raise NotFound("There is no such battle.")
    abandoned_at, voted = row
    if abandoned_at is not None:
        return "abandoned"
    # Every turn has one answer per side, so the latest turn's are the first ones.
    latest = list(
        Response.objects.filter(turn__battle_id=battle_id)
        .order_by("-turn__index")
        .values_list("turn__index", "status")[: len(Side.values)]
    )
    statuses = {status for index, status in latest if index == latest[0][0]} if latest else set()
    return _answers_state(statuses=statuses, voted=bool(voted))


def _answers_state(*, statuses: set[str], voted: bool) -> str:
    if statuses - set(Response.FINISHED):
        return "generating"
    if voted:
        return "voted"
    if Response.Status.FAILED in statuses:
        return "failed"
    return "ready"


def _response_payload(response: Response) -> dict[str, Any]:
    return {
        "text": response.text,
        "status": response.status,
        "error": response.error or None,
        "offset": len(response.text),
        "tokens": response.completion_tokens,
    }


def _turn_media(turn: Turn) -> dict[str, Any]:
    """A turn's video and audio as the page shows them: the originals' URLs and, for a video, the
    frames both models saw (`video_frames`: each frame's URL and time in seconds; empty until made);
    `audio_peaks`, the waveform of the audio file or of the video's sound (160 values from 0 to 1;
    empty when there is none)."""
    links = list(turn.turnattachment_set.all())
    video = next((link for link in links if link.asset.kind == "video"), None)
    audio = next((link for link in links if link.asset.kind == "audio"), None)
    frames: list[dict[str, Any]] = []
    if video is not None and video.frames:
        rendition = MediaRendition.objects.filter(
            asset_id=video.asset_id, kind=MediaRendition.Kind.FRAMES, frame_count=video.frames
        ).first()
        timestamps = rendition.meta.get("timestamps", []) if rendition is not None else []
        frames = [
            {"url": f"/api/v1/attachments/{video.public_id}/frames/{i}", "timestamp": at}
            for i, at in enumerate(timestamps)
        ]
    sounding = audio or video
    return {
        "video_url": f"/api/v1/attachments/{video.public_id}" if video is not None else None,
        "video_frames": frames,
        "audio_url": f"/api/v1/attachments/{audio.public_id}" if audio is not None else None,
        "audio_peaks": audio_peaks_get(asset=sounding.asset) if sounding is not None else [],
    }


def battle_payload(*, battle: Battle, viewer_id: str | None) -> dict[str, Any]:
    """The state of a battle as `viewer_id` (a voter id) sees it, once arena.visibility let them read
    it: only its creator may act on it; `models` stays null until the vote. An erased battle (its
    prompts and images removed: arena.retention) says so in `erased`."""
    state = battle_state(battle=battle)
    vote = _vote_of(battle)
    turns = list(battle.turns.all())
    is_creator = viewer_id is not None and viewer_id == battle.creator_id
    return {
        "id": str(battle.id),
        "state": state,
        "max_turns": settings.ARENA_MAX_TURNS,
        "is_creator": is_creator,
        "can_vote": is_creator and state == "ready",
        "can_follow_up": is_creator and state == "ready" and len(turns) < settings.ARENA_MAX_TURNS,
        "can_abandon": is_creator and state not in ("voted", "abandoned"),
        "turns": [
            {
                "index": turn.index,
                "prompt": turn.prompt,
                "image_url": next(
                    (
                        f"/api/v1/attachments/{link.public_id}"
                        for link in turn.turnattachment_set.all()
                        if link.asset.kind == "image"
                    ),
                    None,
                ),
                **_turn_media(turn),
                "responses": {
                    response.side: _response_payload(response) for response in turn.responses.all()
                },
            }
            for turn in turns
        ],
        "erased": battle.erased_at is not None,
        "vote": {"winner": vote.winner} if vote else None,
        "models": ({"a": model_public(battle.model_a), "b": model_public(battle.model_b)} if vote else None),
    }
