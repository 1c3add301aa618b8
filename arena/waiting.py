"""Each model's waiting line: its answers that no worker has started yet, in the order they were sent.

A sorted set per model in the cache's Redis, `waiting-line:model.<slug>` (the model's Celery queue),
whose members are answer ids scored by when they joined. An answer joins just before its task is sent
and leaves when a worker starts it, when the send fails, or when the expiry sweep fails it. Whoever
changes a line tells the answers in it their place, as a `queue` message on their battle's socket:
1 is the next a worker takes, 0 says a worker has just taken it (README "REST API").

A change tells at most the first PLACES_TOLD answers; one further back heard its place on joining,
and hears again once it is among the first PLACES_TOLD. Places only shrink, so the last one it heard
is an upper bound meanwhile.

Each place comes with `eta_s`, an estimate of the seconds until a worker starts that answer: from the
median of the model's last DURATIONS_KEPT answer durations (a list per model beside its line,
`answer-durations:model.<slug>`, written by the worker as each answer ends), the answers of the model
streaming now (while its line is not empty, how many there are is how many worker slots serve it,
and how long each has run says when it frees its slot; none means slots shared with other models,
one of which frees halfway through an answer on average), and the place. With no durations yet it is
null.

The line is a hint: with Redis unreachable nobody hears a place, and nothing else changes. An entry
left behind by a leave that never arrived (Redis unreachable, a crashed process) is dropped at the
line's next telling if its answer is no longer queued, and in any case once older than the expiry
horizon, when the sweep has failed its answer: no ghost stands ahead of everyone for long.
"""

from __future__ import annotations

import logging
import statistics
import time
import uuid
from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, cast

import redis
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from arena.models import Response, Side
from core.realtime import STREAM_EVENT, battle_group, group_send
from core.redis_client import redis_client_get
from workers.dispatch import model_queue

logger = logging.getLogger(__name__)

QUEUE_EVENT: Final = "queue"
PLACES_TOLD: Final = 100
TAKEN: Final = 0  # the place a worker's answer hears as it leaves the line
DURATIONS_KEPT: Final = 20
# A model unused this long estimates from nothing rather than from what its workers were like a day ago.
_DURATIONS_TTL_S: Final = 24 * 3600


def answer_stale_after_s() -> int:
    """How long after it was queued an answer is given up on: twice the broker's redelivery timeout,
    which outlasts the hard time limit, so no task can still be running for it."""
    return int(settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]) * 2


def _key(slug: str) -> str:
    return f"waiting-line:{model_queue(slug=slug)}"


def _horizon() -> float:
    return time.time() - answer_stale_after_s()


def waiting_line_join(*, slug: str, response_id: int) -> bool:
    """Put the answer at the end of its model's line; False where Redis could not be reached."""
    key = _key(slug)
    try:
        with redis_client_get().pipeline() as pipe:
            pipe.zremrangebyscore(key, "-inf", f"({_horizon()}")
            pipe.zadd(key, {str(response_id): time.time()})
            # A model nobody asks for any more leaves no key behind.
            pipe.expire(key, answer_stale_after_s())
            pipe.execute()
    except redis.RedisError:
        logger.warning("answer %s not put in the waiting line of %s", response_id, slug, exc_info=True)
        return False
    return True


def waiting_line_leave(*, slug: str, response_ids: Collection[int]) -> None:
    if not response_ids:
        return
    key = _key(slug)
    try:
        with redis_client_get().pipeline() as pipe:
            pipe.zremrangebyscore(key, "-inf", f"({_horizon()}")
            pipe.zrem(key, *(str(response_id) for response_id in response_ids))
            pipe.execute()
    except redis.RedisError:
        # Left behind, the entries are ghosts until the next telling or the horizon (module docstring).
        logger.warning("answers %s not taken out of the line of %s", response_ids, slug, exc_info=True)


def waiting_place_get(*, slug: str, response_id: int) -> int | None:
    """The answer's place in its model's line (1: the next a worker takes); None if it is not in it,
    or Redis could not be reached."""
    key, member, horizon = _key(slug), str(response_id), _horizon()
    try:
        with redis_client_get().pipeline() as pipe:
            pipe.zscore(key, member)
            pipe.zrank(key, member)
            # Entries past the horizon may still be there, all ahead of the rest: they do not count.
            pipe.zcount(key, "-inf", f"({horizon}")
            score, rank, expired = pipe.execute()
    except redis.RedisError:
        logger.warning("no place for answer %s in the waiting line of %s", response_id, slug, exc_info=True)
        return None
    if score is None or rank is None or score < horizon:
        return None
    return int(rank) - int(expired) + 1


def _durations_key(slug: str) -> str:
    return f"answer-durations:{model_queue(slug=slug)}"


def answer_duration_record(*, slug: str, seconds: float) -> None:
    """How long an answer of the model held its worker slot, from start to end: the estimates' history."""
    key = _durations_key(slug)
    try:
        with redis_client_get().pipeline() as pipe:
            pipe.lpush(key, f"{max(0.0, seconds):.3f}")
            pipe.ltrim(key, 0, DURATIONS_KEPT - 1)
            pipe.expire(key, _DURATIONS_TTL_S)
            pipe.execute()
    except redis.RedisError:
        logger.warning("the duration of an answer of %s was not kept", slug, exc_info=True)


@dataclass(frozen=True)
class _Pace:
    """What the estimates of one model's line are made from, read once per telling."""

    duration_s: float  # a typical answer's, start to end
    frees_in_s: tuple[float, ...]  # per worker slot serving the model, soonest first: when it frees


def _pace_get(*, slug: str) -> _Pace | None:
    """The model's pace now; None without history (or with Redis unreachable)."""
    try:
        raw = cast(list[bytes], redis_client_get().lrange(_durations_key(slug), 0, DURATIONS_KEPT - 1))
    except redis.RedisError:
        logger.warning("the answer durations of %s could not be read", slug, exc_info=True)
        return None
    if not raw:
        return None
    # The median: one answer that ran into the time limit does not move every estimate.
    duration = statistics.median(float(value) for value in raw)
    now = timezone.now()
    # Only answers whose lease is alive: a dead worker's serve nobody.
    started = Response.objects.filter(
        Q(side=Side.A, turn__battle__model_a__slug=slug) | Q(side=Side.B, turn__battle__model_b__slug=slug),
        status=Response.Status.STREAMING,
        heartbeat_at__gte=now - timedelta(seconds=settings.ARENA_ANSWER_LEASE_S),
    ).values_list("started_at", flat=True)
    frees_in = sorted(
        max(0.0, duration - (now - moment).total_seconds()) for moment in started if moment is not None
    )
    # None streaming while answers wait: the slots serving the model are busy with other models'
    # answers, and one of them frees, on average, halfway through a typical answer.
    return _Pace(duration_s=duration, frees_in_s=tuple(frees_in) or (duration / 2,))


def _eta_s(pace: _Pace | None, position: int) -> int | None:
    """Seconds until a worker starts the answer at `position`: each slot takes the next in line as it
    frees and holds it a typical duration, so the line is served slot after slot, round after round."""
    if pace is None:
        return None
    if position <= TAKEN:
        return 0
    slots = len(pace.frees_in_s)
    ahead = position - 1
    return round(pace.frees_in_s[ahead % slots] + (ahead // slots) * pace.duration_s)


def _place(*, side: str, turn: int, position: int, eta_s: int | None) -> dict[str, Any]:
    return {"side": side, "turn": turn, "position": position, "eta_s": eta_s}


def _told(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("a waiting place was not sent", exc_info=future.exception())


def _place_send(*, battle_id: uuid.UUID, side: str, turn: int, position: int, eta_s: int | None) -> None:
    # Not waited for: a worker tells up to PLACES_TOLD battles before it starts its own answer.
    place = _place(side=side, turn=turn, position=position, eta_s=eta_s)
    message = {"type": STREAM_EVENT, "event": QUEUE_EVENT, **place}
    group_send(group=battle_group(battle_id=battle_id), message=message).add_done_callback(_told)


def waiting_place_tell(*, slug: str, response: Response) -> None:
    """Tell the answer's battle its place in the line, if it is in one (`response.turn` loaded)."""
    position = waiting_place_get(slug=slug, response_id=response.pk)
    if position is not None:
        _place_send(
            battle_id=response.turn.battle_id,
            side=response.side,
            turn=response.turn.index,
            position=position,
            eta_s=_eta_s(_pace_get(slug=slug), position),
        )


def waiting_places_tell(*, slug: str) -> None:
    """Tell the first PLACES_TOLD answers of the line their places, once the ghosts among them are out."""
    try:
        members = redis_client_get().zrangebyscore(_key(slug), _horizon(), "+inf", start=0, num=PLACES_TOLD)
    except redis.RedisError:
        logger.warning("the waiting line of %s could not be read", slug, exc_info=True)
        return
    front = [int(cast(bytes, member)) for member in members]
    waiting = {
        pk: (battle_id, side, turn)
        for pk, battle_id, side, turn in Response.objects.filter(
            pk__in=front, status=Response.Status.QUEUED
        ).values_list("pk", "turn__battle_id", "side", "turn__index")
    }
    waiting_line_leave(slug=slug, response_ids=[pk for pk in front if pk not in waiting])
    pace = _pace_get(slug=slug) if waiting else None
    for position, pk in enumerate((pk for pk in front if pk in waiting), start=1):
        battle_id, side, turn = waiting[pk]
        _place_send(
            battle_id=battle_id, side=side, turn=turn, position=position, eta_s=_eta_s(pace, position)
        )


def waiting_line_dequeue(*, slug: str, response: Response) -> None:
    """A worker took the answer: it leaves the line and hears place 0, the ones behind it their new places."""
    waiting_line_leave(slug=slug, response_ids=[response.pk])
    _place_send(
        battle_id=response.turn.battle_id,
        side=response.side,
        turn=response.turn.index,
        position=TAKEN,
        eta_s=0,
    )
    waiting_places_tell(slug=slug)


def waiting_places_of_battle(*, battle_id: uuid.UUID) -> list[dict[str, Any]]:
    """A `queue` message for each answer of the battle's latest turn that still waits for a worker."""
    # Every turn has one answer per side, so the latest turn's are the first ones.
    latest = Response.objects.filter(turn__battle_id=battle_id).order_by("-turn__index", "side")
    messages = []
    for pk, side, status, turn, slug_a, slug_b in latest.values_list(
        "pk", "side", "status", "turn__index", "turn__battle__model_a__slug", "turn__battle__model_b__slug"
    )[: len(Side.values)]:
        if status != Response.Status.QUEUED:
            continue
        slug = slug_a if side == Side.A else slug_b
        position = waiting_place_get(slug=slug, response_id=pk)
        if position is not None:
            eta_s = _eta_s(_pace_get(slug=slug), position)
            messages.append(
                {"type": QUEUE_EVENT, **_place(side=side, turn=turn, position=position, eta_s=eta_s)}
            )
    return messages
