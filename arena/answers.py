"""One side of one turn: build the conversation, run the model, stream and persist the answer.

The Celery task in `arena.tasks` calls `answer_generate`; the model itself runs through the
workers' generation runner, which knows nothing of battles.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from arena.audio import WAV_RATE, audio_wav_get
from arena.leases import answer_lease_hold
from arena.media import media_asset_read
from arena.models import Battle, MediaAsset, Modality, Model, Response, Side, Turn, TurnAttachment
from arena.video import FRAMES_DEFAULT, video_frames_get
from arena.waiting import (
    answer_duration_record,
    answer_stale_after_s,
    waiting_line_dequeue,
    waiting_line_join,
    waiting_line_leave,
    waiting_place_tell,
    waiting_places_tell,
)
from core.errors import NotFound
from core.metrics import answer_timing_observe
from core.realtime import battle_group, event_send
from workers.adapters.base import (
    AudioPart,
    ContentPart,
    GenerationParams,
    GenerationStats,
    ImagePart,
    Message,
    TextPart,
    VideoPart,
)
from workers.dispatch import model_queue
from workers.runner import ModelSpec, generation_run
from workers.streaming import ChunkStream

logger = logging.getLogger(__name__)

NO_WORKER_FAILURE = "No worker answered for this model in time."
WORKER_LOST_FAILURE = "The worker running this model stopped while answering."
ABANDONED_FAILURE = "You left this battle before this answer finished."


def answer_stream_key(*, battle_id: object, turn: int, side: str) -> str:
    """Where the text an answer has streamed so far is kept, for sockets that join late."""
    return f"answer-stream:{battle_id}:{turn}:{side}"


def responses_enqueue(*, responses: Iterable[Response], models: Mapping[str, Model]) -> None:
    """Send each answer to its model's queue once the surrounding transaction commits."""
    for response in responses:
        transaction.on_commit(partial(_response_send, response=response, slug=models[response.side].slug))


def _response_send(*, response: Response, slug: str) -> None:
    from arena.tasks import response_generate

    # In line before the task exists: a free worker may take it at once, and must find it there to leave.
    in_line = waiting_line_join(slug=slug, response_id=response.pk)
    try:
        response_generate.apply_async(args=[response.pk], queue=model_queue(slug=slug))
    except Exception:
        if in_line:
            waiting_line_leave(slug=slug, response_ids=[response.pk])
        raise
    # A first turn came with its battle: no socket can have joined it yet, and one that joins hears
    # the places then (arena.consumers). Telling would cost two Redis reads, a query and a send.
    if in_line and response.turn.index > 0:
        waiting_place_tell(slug=slug, response=response)


def conversation_build(*, response: Response) -> list[Message]:
    """Every turn up to this one, with this side's own earlier answers as the assistant's turns."""
    turn = response.turn
    battle = turn.battle  # selected with both models by the caller
    model = battle.model_a if response.side == Side.A else battle.model_b
    turns = list(Turn.objects.filter(battle_id=turn.battle_id, index__lte=turn.index).order_by("index"))
    answers = dict(
        Response.objects.filter(turn__in=turns[:-1], side=response.side).values_list("turn_id", "text")
    )
    links = TurnAttachment.objects.filter(turn__in=turns).select_related("asset")
    media: dict[int, list[ContentPart]] = {}
    for link in links.order_by("position"):
        media.setdefault(link.turn_id, []).extend(
            _attachment_parts(link=link, hears=Modality.AUDIO in model.input_modalities)
        )
    conversation: list[Message] = []
    for past in turns:
        parts: list[ContentPart] = [*media.get(past.pk, []), TextPart(past.prompt)]
        conversation.append(Message(role="user", content=tuple(parts)))
        if past.pk != turn.pk:
            conversation.append(Message(role="assistant", content=(TextPart(answers.get(past.pk, "")),)))
    return conversation


def _attachment_parts(*, link: TurnAttachment, hears: bool) -> list[ContentPart]:
    """What a model is given of one attachment: the image; a video's sampled frames (the voter's count,
    the same for both sides) and, for a model that hears, its sound; an audio file as 16 kHz WAV."""
    asset = link.asset
    if asset.kind == MediaAsset.Kind.IMAGE:
        return [ImagePart(data=media_asset_read(asset=asset), mime_type=asset.mime_type)]
    if asset.kind == MediaAsset.Kind.AUDIO:
        return [AudioPart(wav=audio_wav_get(asset=asset), sample_rate=WAV_RATE)]
    seen = video_frames_get(asset=asset, count=link.frames or FRAMES_DEFAULT)
    parts: list[ContentPart] = [
        VideoPart(
            frames=tuple(seen.frames),
            timestamps=tuple(seen.timestamps),
            fps=seen.fps or 0.0,
            duration_s=seen.duration,
        )
    ]
    if hears:
        with contextlib.suppress(NotFound):  # a silent video
            parts.append(AudioPart(wav=audio_wav_get(asset=asset), sample_rate=WAV_RATE))
    return parts


def _message_scrub(message: str, *, model: Model) -> str:
    """Failure messages reach the voter before the vote, so nothing in them may name the model."""
    config = model.adapter_config or {}
    secrets = [model.slug, model.display_name, model.organization]
    secrets += [str(config[key]) for key in ("model", "base_url", "path") if config.get(key)]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        message = message.replace(secret, "[model]")
    return message


def _moment(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds is not None else None


def answer_generate(*, response_id: int) -> None:
    response = (
        Response.objects.select_related("turn__battle__model_a", "turn__battle__model_b")
        .filter(pk=response_id)
        .first()
    )
    if response is None or response.status in Response.FINISHED:
        return  # deleted meanwhile, or a redelivered task whose work was already done
    battle: Battle = response.turn.battle
    model = battle.model_a if response.side == "a" else battle.model_b
    stream = ChunkStream(
        group=battle_group(battle_id=battle.id),
        fields={"side": response.side, "turn": response.turn.index},
        interval=settings.ARENA_STREAM_INTERVAL_S,
        state_key=answer_stream_key(battle_id=battle.id, turn=response.turn.index, side=response.side),
    )
    stats = GenerationStats(queued_at=response.queued_at.timestamp())
    stats.mark_started()
    # Taken from the line by exactly one delivery of the task: a redelivered or duplicated task finds
    # the answer streaming or finished and leaves it to the worker that has it (or to its lease).
    taken = Response.objects.filter(pk=response.pk, status=Response.Status.QUEUED).update(
        status=Response.Status.STREAMING,
        text="",
        error="",
        started_at=_moment(stats.started_at),
        heartbeat_at=timezone.now(),
    )
    if not taken:
        return
    waiting_line_dequeue(slug=model.slug, response=response)
    streaming = Response.objects.filter(pk=response.pk, status=Response.Status.STREAMING)
    last_persist = time.monotonic()

    def on_chunk(chunk: str) -> None:
        nonlocal last_persist
        stream.add(chunk)
        now = time.monotonic()
        if now - last_persist >= settings.ARENA_PERSIST_INTERVAL_S:
            streaming.update(text=stream.text)
            last_persist = now

    with answer_lease_hold(response_id=response.pk) as lost:
        outcome = generation_run(
            model=ModelSpec(key=model.slug, kind=model.adapter_kind, config=model.adapter_config),
            conversation=conversation_build(response=response),
            params=GenerationParams(
                max_new_tokens=settings.ARENA_MAX_NEW_TOKENS,
                temperature=settings.ARENA_TEMPERATURE,
                top_p=settings.ARENA_TOP_P,
            ),
            stats=stats,
            on_chunk=on_chunk,
            time_limit_s=settings.CELERY_TASK_SOFT_TIME_LIMIT,
            cancel=lost,
        )
    if outcome.cancelled:
        # Abandoned by its voter or failed by the sweep: stored and told already, and the slot is free.
        logger.info("answer %s stopped: it is no longer streaming", response.pk)
        return
    error = None if outcome.error is None else _message_scrub(outcome.error, model=model)
    answer_timing_observe(
        model=model.slug,
        started_at=stats.started_at,
        first_chunk_at=stats.first_chunk_at,
        finished_at=stats.finished_at,
    )
    finished = streaming.update(
        text=stream.text,
        status=Response.Status.FAILED if error else Response.Status.DONE,
        error=error or "",
        first_chunk_at=_moment(stats.first_chunk_at),
        finished_at=_moment(stats.finished_at),
        prompt_tokens=stats.prompt_tokens,
        completion_tokens=stats.completion_tokens,
    )
    if not finished:
        return  # the lease ran out meanwhile (this worker stalled): the voter was told it failed
    try:
        stream.finish(error=error)
        _battle_state_announce(battle=battle)
    except (redis.RedisError, OSError, TimeoutError):
        # Stored already: a socket that reconnects is sent the stored answer, so only the live end is lost.
        logger.warning(
            "answer %s is stored, but the channel layer did not take its end", response.pk, exc_info=True
        )
    # After the end is sent, so that the voter does not wait for it.
    if stats.started_at is not None and stats.finished_at is not None:
        answer_duration_record(slug=model.slug, seconds=stats.finished_at - stats.started_at)


def _battle_state_announce(*, battle: Battle) -> None:
    from arena.selectors import battle_state_get

    try:
        state = battle_state_get(battle_id=battle.id)
    except NotFound:
        return
    if state != "generating":
        event_send(group=battle_group(battle_id=battle.id), event="state", state=state, timeout=10)


def responses_expire_stale() -> int:
    """Fail the answers nobody will finish: streaming ones whose lease ran out (their worker died), and
    queued ones no worker took within the redelivery horizon. How many were failed."""
    now = timezone.now()
    lease_horizon = now - timedelta(seconds=settings.ARENA_ANSWER_LEASE_S)
    queued_horizon = now - timedelta(seconds=answer_stale_after_s())
    stale = list(
        Response.objects.filter(
            Q(status=Response.Status.QUEUED, queued_at__lt=queued_horizon)
            | Q(status=Response.Status.STREAMING, heartbeat_at__lt=lease_horizon)
            | Q(status=Response.Status.STREAMING, heartbeat_at=None, queued_at__lt=queued_horizon)
        ).select_related("turn__battle__model_a", "turn__battle__model_b")
    )
    waited: dict[str, list[int]] = {}
    failed = 0
    for response in stale:
        message = NO_WORKER_FAILURE if response.status == Response.Status.QUEUED else WORKER_LOST_FAILURE
        battle = response.turn.battle
        # Only as it was read: an answer that finished (or renewed) meanwhile keeps what it has.
        kept = Response.objects.filter(
            pk=response.pk, status=response.status, heartbeat_at=response.heartbeat_at
        )
        if not kept.update(status=Response.Status.FAILED, error=message, finished_at=now):
            continue
        failed += 1
        if response.status == Response.Status.QUEUED:
            slug = (battle.model_a if response.side == Side.A else battle.model_b).slug
            waited.setdefault(slug, []).append(response.pk)
        event_send(
            group=battle_group(battle_id=battle.id),
            event="error",
            side=response.side,
            turn=response.turn.index,
            message=message,
            timeout=10,
        )
        _battle_state_announce(battle=battle)
    for slug, response_ids in waited.items():
        waiting_line_leave(slug=slug, response_ids=response_ids)
        waiting_places_tell(slug=slug)
    return failed
