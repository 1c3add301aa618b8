"""One side of one turn: build the conversation, run the model, stream and persist the answer.

The Celery task in `arena.tasks` calls `answer_generate`; the model itself runs through the
workers' generation runner, which knows nothing of battles.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from arena.media import media_asset_read
from arena.models import Battle, Model, Response, Side, Turn, TurnAttachment
from arena.waiting import (
    answer_stale_after_s,
    waiting_line_dequeue,
    waiting_line_join,
    waiting_line_leave,
    waiting_place_tell,
    waiting_places_tell,
)
from core.realtime import battle_group, event_send
from workers.adapters.base import ContentPart, GenerationParams, GenerationStats, ImagePart, Message, TextPart
from workers.dispatch import model_queue
from workers.runner import ModelSpec, generation_run
from workers.streaming import ChunkStream

NO_WORKER_FAILURE = "No worker answered for this model in time."


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
    if in_line:
        waiting_place_tell(slug=slug, response=response)


def conversation_build(*, response: Response) -> list[Message]:
    """Every turn up to this one, with this side's own earlier answers as the assistant's turns."""
    turn = response.turn
    turns = list(Turn.objects.filter(battle_id=turn.battle_id, index__lte=turn.index).order_by("index"))
    answers = dict(
        Response.objects.filter(turn__in=turns[:-1], side=response.side).values_list("turn_id", "text")
    )
    links = TurnAttachment.objects.filter(turn__in=turns, asset__kind="image").select_related("asset")
    images: dict[int, list[ImagePart]] = {}
    for link in links.order_by("position"):
        images.setdefault(link.turn_id, []).append(
            ImagePart(data=media_asset_read(asset=link.asset), mime_type=link.asset.mime_type)
        )
    conversation: list[Message] = []
    for past in turns:
        parts: list[ContentPart] = [*images.get(past.pk, []), TextPart(past.prompt)]
        conversation.append(Message(role="user", content=tuple(parts)))
        if past.pk != turn.pk:
            conversation.append(Message(role="assistant", content=(TextPart(answers.get(past.pk, "")),)))
    return conversation


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
    Response.objects.filter(pk=response.pk).update(
        status=Response.Status.STREAMING, text="", error="", started_at=_moment(stats.started_at)
    )
    if response.status == Response.Status.QUEUED:  # a redelivered task's answer left it the first time
        waiting_line_dequeue(slug=model.slug, response=response)
    last_persist = time.monotonic()

    def on_chunk(chunk: str) -> None:
        nonlocal last_persist
        stream.add(chunk)
        now = time.monotonic()
        if now - last_persist >= settings.ARENA_PERSIST_INTERVAL_S:
            Response.objects.filter(pk=response.pk).update(text=stream.text)
            last_persist = now

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
    )
    error = None if outcome.error is None else _message_scrub(outcome.error, model=model)
    Response.objects.filter(pk=response.pk).update(
        text=stream.text,
        status=Response.Status.FAILED if error else Response.Status.DONE,
        error=error or "",
        first_chunk_at=_moment(stats.first_chunk_at),
        finished_at=_moment(stats.finished_at),
        prompt_tokens=stats.prompt_tokens,
        completion_tokens=stats.completion_tokens,
    )
    stream.finish(error=error)
    _battle_state_announce(battle=battle)


def _battle_state_announce(*, battle: Battle) -> None:
    from arena.selectors import battle_get, battle_state
    from core.errors import NotFound

    try:
        state = battle_state(battle=battle_get(battle_id=battle.id))
    except NotFound:
        return
    if state != "generating":
        event_send(group=battle_group(battle_id=battle.id), event="state", state=state, timeout=10)


def responses_expire_stale() -> int:
    """Fail answers whose worker vanished: no task can still be running after the hard limit."""
    horizon = timezone.now() - timedelta(seconds=answer_stale_after_s())
    stale = list(
        Response.objects.filter(
            status__in=[Response.Status.QUEUED, Response.Status.STREAMING], queued_at__lt=horizon
        ).select_related("turn__battle__model_a", "turn__battle__model_b")
    )
    waited: dict[str, list[int]] = {}
    for response in stale:
        if response.status == Response.Status.QUEUED:
            battle = response.turn.battle
            slug = (battle.model_a if response.side == Side.A else battle.model_b).slug
            waited.setdefault(slug, []).append(response.pk)
        Response.objects.filter(pk=response.pk).update(status=Response.Status.FAILED, error=NO_WORKER_FAILURE)
        event_send(
            group=battle_group(battle_id=response.turn.battle_id),
            event="error",
            side=response.side,
            turn=response.turn.index,
            message=NO_WORKER_FAILURE,
            timeout=10,
        )
    for slug, response_ids in waited.items():
        waiting_line_leave(slug=slug, response_ids=response_ids)
        waiting_places_tell(slug=slug)
    return len(stale)
