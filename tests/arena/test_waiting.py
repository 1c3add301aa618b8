"""The waiting line of each model, against the real Redis and channel layer, and through the live stack."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgiref.testing import ApplicationCommunicator
from channels.routing import URLRouter
from django.db import transaction
from django.utils import timezone
from websockets.sync.client import connect
from websockets.typing import Origin

from arena import waiting
from arena.answers import answer_generate, responses_enqueue, responses_expire_stale
from arena.models import Battle, Model, Response, Turn
from arena.routing import websocket_urlpatterns
from arena.waiting import (
    DURATIONS_KEPT,
    PLACES_TOLD,
    answer_duration_record,
    answer_stale_after_s,
    waiting_line_dequeue,
    waiting_line_join,
    waiting_line_leave,
    waiting_place_get,
    waiting_places_of_battle,
    waiting_places_tell,
)
from core.celery import app as celery_app
from core.redis_client import redis_client_get
from tests.battles import session_cookies
from tests.browser import conftest as browser_fixtures
from tests.conftest import SCRIPTED_SLUGS, LiveStack
from tests.factories import battle_make, model_make
from tests.listeners import Battles
from tests.processes import free_port
from workers.dispatch import model_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _lines_emptied() -> Iterator[None]:
    def empty() -> None:
        client = redis_client_get()
        keys = list(client.scan_iter("waiting-line:*"))
        if keys:
            client.delete(*keys)

    empty()
    yield
    empty()


@pytest.fixture
def model() -> Model:
    return model_make()


def _waiting(model: Model, count: int) -> list[Response]:
    """`count` battles whose side a, on `model`, waits for a worker, oldest first."""
    other = model_make()
    answers = []
    for _ in range(count):
        battle = battle_make(model_a=model, model_b=other, status=Response.Status.QUEUED)
        answers.append(Response.objects.select_related("turn").get(turn__battle=battle, side="a"))
    return answers


def _joined(model: Model, count: int) -> list[Response]:
    answers = _waiting(model, count)
    for answer in answers:
        assert waiting_line_join(slug=model.slug, response_id=answer.pk)
    return answers


def _places(model: Model, answers: list[Response]) -> list[int | None]:
    return [waiting_place_get(slug=model.slug, response_id=answer.pk) for answer in answers]


# --- the line itself -----------------------------------------------------------------------------------


def test_places_count_from_the_front_in_the_order_answers_joined(model):
    answers = _joined(model, 3)
    assert _places(model, answers) == [1, 2, 3]

    waiting_line_leave(slug=model.slug, response_ids=[answers[0].pk])
    assert _places(model, answers) == [None, 1, 2]


def test_an_answer_that_never_joined_has_no_place_and_other_models_lines_are_apart(model):
    _, second = _joined(model, 2)
    elsewhere = model_make()
    (other,) = _joined(elsewhere, 1)
    (outsider,) = _waiting(model, 1)

    assert waiting_place_get(slug=model.slug, response_id=outsider.pk) is None
    assert waiting_place_get(slug=elsewhere.slug, response_id=other.pk) == 1
    assert waiting_place_get(slug=model.slug, response_id=second.pk) == 2


def test_an_entry_older_than_the_expiry_horizon_does_not_count_and_is_dropped(model):
    """A process that crashed long ago left its answer in line: it stands ahead of no one."""
    ghost, *answers = _waiting(model, 3)
    key = waiting._key(model.slug)
    redis_client_get().zadd(key, {str(ghost.pk): time.time() - answer_stale_after_s() - 60})
    waiting_line_join(slug=model.slug, response_id=answers[0].pk)

    assert waiting_place_get(slug=model.slug, response_id=ghost.pk) is None
    assert waiting_place_get(slug=model.slug, response_id=answers[0].pk) == 1
    waiting_line_join(slug=model.slug, response_id=answers[1].pk)
    assert redis_client_get().zscore(key, str(ghost.pk)) is None, "the next change drops it"
    assert _places(model, answers) == [1, 2]
    assert 0 < redis_client_get().ttl(key) <= answer_stale_after_s(), "an abandoned line expires"


# --- telling the places --------------------------------------------------------------------------------


def test_taking_an_answer_tells_it_place_zero_and_those_behind_their_new_places(model):
    taken, second, third = _joined(model, 3)
    battles = Battles([taken, second, third])

    waiting_line_dequeue(slug=model.slug, response=taken)

    assert battles.places(taken, 1) == [0]
    assert battles.places(second, 1) == [1]
    assert battles.places(third, 1) == [2]
    assert _places(model, [taken, second, third]) == [None, 1, 2]


def test_a_ghost_whose_answer_already_started_is_dropped_when_the_line_is_told(model):
    """Its worker could not reach Redis to leave the line: the next telling finds it streaming."""
    ghost, waiting_answer = _joined(model, 2)
    Response.objects.filter(pk=ghost.pk).update(status=Response.Status.STREAMING)
    battles = Battles([ghost, waiting_answer])

    waiting_places_tell(slug=model.slug)

    assert battles.places(waiting_answer, 1) == [1]
    assert battles.hears_nothing(ghost)
    assert _places(model, [ghost, waiting_answer]) == [None, 1]


def test_a_change_tells_only_the_first_hundred_in_line(model):
    answers = _joined(model, PLACES_TOLD + 2)
    last_told, not_told = answers[PLACES_TOLD], answers[PLACES_TOLD + 1]
    battles = Battles([last_told, not_told])

    waiting_line_dequeue(slug=model.slug, response=answers[0])

    assert battles.places(last_told, 1) == [PLACES_TOLD]
    assert battles.hears_nothing(not_told)
    assert waiting_place_get(slug=model.slug, response_id=not_told.pk) == PLACES_TOLD + 1


def _follow_up_queued(battle) -> list[Response]:
    """A second turn of the battle, both answers queued: what a voter's follow-up question makes."""
    turn = Turn.objects.create(battle=battle, index=1, prompt="And then?")
    for side in ("a", "b"):
        Response.objects.create(turn=turn, side=side, status=Response.Status.QUEUED)
    return list(Response.objects.select_related("turn").filter(turn=turn))


def _enqueued(battle, answers: list[Response]) -> None:
    try:
        with transaction.atomic():
            responses_enqueue(responses=answers, models={"a": battle.model_a, "b": battle.model_b})
    finally:
        # No worker hosts these test models: their tasks would wait in the broker for ever.
        with celery_app.connection_for_write() as connection:
            for slug in (battle.model_a.slug, battle.model_b.slug):
                connection.default_channel.queue_purge(model_queue(slug=slug))


def test_an_answer_hears_its_place_once_it_is_sent_to_its_models_queue(model):
    (ahead,) = _joined(model, 1)
    battle = battle_make(model_a=model)
    answers = _follow_up_queued(battle)
    battles = Battles(answers)
    _enqueued(battle, answers)
    side_a = next(answer for answer in answers if answer.side == "a")
    side_b = next(answer for answer in answers if answer.side == "b")
    assert battles.places(side_a, 1) == [2], "behind the one already waiting"
    assert battles.places(side_b, 1) == [1], "first in its own model's line"
    assert waiting_place_get(slug=model.slug, response_id=ahead.pk) == 1


def test_a_new_battles_answers_join_the_line_silently_and_its_socket_hears_the_places_on_joining(model):
    _joined(model, 1)
    battle = battle_make(model_a=model, status=Response.Status.QUEUED)
    answers = list(Response.objects.select_related("turn").filter(turn__battle=battle))
    battles = Battles(answers)
    _enqueued(battle, answers)  # in the transaction that made the battle, which nobody can follow yet
    assert battles.hears_nothing(answers[0]) and not battles.unread[battle.pk], "nothing of either side"
    places = {place["side"]: place["position"] for place in waiting_places_of_battle(battle_id=battle.pk)}
    assert places == {"a": 2, "b": 1}


def test_the_expiry_sweep_takes_failed_answers_out_of_line_and_tells_the_rest(model):
    stale, waiting_answer = _joined(model, 2)
    Response.objects.filter(pk=stale.pk).update(
        queued_at=timezone.now() - timedelta(seconds=answer_stale_after_s() + 60)
    )
    battles = Battles([stale, waiting_answer])

    assert responses_expire_stale() == 1

    assert battles.heard(stale)["event"] == "error"
    assert battles.places(waiting_answer, 1) == [1]
    assert _places(model, [stale, waiting_answer]) == [None, 1]


# --- the estimates ------------------------------------------------------------------------------------


def _etas(battles: Battles, answers: list[Response]) -> list[int | None]:
    heard = [battles.heard(answer) for answer in answers]
    assert all(message["event"] == "queue" for message in heard), heard
    return [message["eta_s"] for message in heard]


def _streaming_for(model: Model, *, seconds: float) -> None:
    """An answer of `model` a worker started `seconds` ago, its lease alive."""
    battle = battle_make(model_a=model, status=Response.Status.STREAMING)
    now = timezone.now()
    Response.objects.filter(turn__battle=battle, side="a").update(
        started_at=now - timedelta(seconds=seconds), heartbeat_at=now
    )


def test_without_any_finished_answer_a_place_has_no_estimate(model):
    answers = _joined(model, 2)
    battles = Battles(answers)

    waiting_places_tell(slug=model.slug)

    assert _etas(battles, answers) == [None, None]


def test_with_no_answer_of_the_model_running_the_line_waits_half_an_answer_then_one_per_answer(model):
    for seconds in (3.0, 4.0, 5.0):  # the median, 4 s, is the typical answer
        answer_duration_record(slug=model.slug, seconds=seconds)
    answers = _joined(model, 3)
    battles = Battles(answers)

    waiting_places_tell(slug=model.slug)

    assert _etas(battles, answers) == [2, 6, 10]


def test_the_estimate_counts_each_running_answers_slot_and_when_it_frees(model):
    for _ in range(3):
        answer_duration_record(slug=model.slug, seconds=4.0)
    # Started 0.6 s and 2.6 s ago: their slots free in about 3.4 s and 1.4 s, which still round to 3 and 1
    # when the estimate is made up to 0.8 s later (a loaded machine between this line and the estimate).
    _streaming_for(model, seconds=0.6)
    _streaming_for(model, seconds=2.6)
    answers = _joined(model, 4)
    battles = Battles(answers)

    waiting_places_tell(slug=model.slug)

    # Two slots: the first two in line take them as they free, the next two a typical answer later.
    assert _etas(battles, answers) == [1, 3, 5, 7]


def test_an_answer_run_by_a_dead_worker_holds_no_slot_in_the_estimate(model, settings):
    answer_duration_record(slug=model.slug, seconds=4.0)
    _streaming_for(model, seconds=1.1)
    Response.objects.filter(status=Response.Status.STREAMING).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.ARENA_ANSWER_LEASE_S + 1)
    )
    (answer,) = _joined(model, 1)
    battles = Battles([answer])

    waiting_places_tell(slug=model.slug)

    assert _etas(battles, [answer]) == [2], "as if none were running"


def test_only_the_latest_durations_make_the_estimate(model):
    for _ in range(DURATIONS_KEPT):
        answer_duration_record(slug=model.slug, seconds=100.0)
    for _ in range(DURATIONS_KEPT // 2 + 1):
        answer_duration_record(slug=model.slug, seconds=2.0)
    answers = _joined(model, 2)
    battles = Battles(answers)

    waiting_places_tell(slug=model.slug)

    assert _etas(battles, answers) == [1, 3]


def test_a_taken_answer_hears_no_wait_and_a_late_joiner_hears_the_estimate(model):
    answer_duration_record(slug=model.slug, seconds=4.0)
    taken, waiting_answer = _joined(model, 2)
    battles = Battles([taken])

    waiting_line_dequeue(slug=model.slug, response=taken)

    assert _etas(battles, [taken]) == [0]
    (place,) = waiting_places_of_battle(battle_id=waiting_answer.turn.battle_id)
    assert (place["position"], place["eta_s"]) == (1, 2)


def test_a_worker_keeps_the_duration_of_each_answer_it_finishes():
    model = model_make(adapter_kind="scripted", adapter_config={"text": "one two three"})
    battle = battle_make(model_a=model, status=Response.Status.QUEUED)
    answer = Response.objects.select_related("turn").get(turn__battle=battle, side="a")
    (waiting_answer,) = _joined(model, 1)

    answer_generate(response_id=answer.pk)

    answer.refresh_from_db()
    assert answer.status == "done"
    (place,) = waiting_places_of_battle(battle_id=waiting_answer.turn.battle_id)
    assert place["eta_s"] is not None, "the model now has a history"
    kept = redis_client_get().lrange(waiting._durations_key(model.slug), 0, -1)
    assert answer.finished_at is not None and answer.started_at is not None
    assert [float(value) for value in kept] == [
        pytest.approx((answer.finished_at - answer.started_at).total_seconds(), abs=0.01)
    ]


# --- a socket joining late -----------------------------------------------------------------------------


class Socket:
    """A WebSocket client speaking ASGI to the battle consumer."""

    def __init__(self, battle: Battle) -> None:
        scope = {
            "type": "websocket",
            "path": f"/ws/battles/{battle.id}/",
            "headers": [],
            "query_string": b"",
            # The creator's session (what SessionMiddleware puts here): the stream is theirs before the vote.
            "session": {"arena_voter_id": battle.creator_id},
        }
        self.app = ApplicationCommunicator(URLRouter(websocket_urlpatterns), scope)

    async def messages(self, count: int) -> list[dict[str, Any]]:
        await self.app.send_input({"type": "websocket.connect"})
        assert (await self.app.receive_output(timeout=5))["type"] == "websocket.accept"
        received = []
        for _ in range(count):
            reply = await self.app.receive_output(timeout=5)
            received.append(json.loads(reply["text"]))
        await self.app.send_input({"type": "websocket.disconnect", "code": 1000})
        return received


def test_a_socket_joining_late_hears_the_place_of_each_side_still_waiting(model):
    _joined(model, 2)
    battle = battle_make(model_a=model, status=Response.Status.QUEUED)
    for answer in Response.objects.filter(turn__battle=battle):
        slug = battle.model_a.slug if answer.side == "a" else battle.model_b.slug
        waiting_line_join(slug=slug, response_id=answer.pk)

    messages = asyncio.run(Socket(battle).messages(4))

    assert [message["type"] for message in messages] == ["sync", "sync", "queue", "queue"]
    assert messages[2:] == [
        {"type": "queue", "side": "a", "turn": 0, "position": 3, "eta_s": None},
        {"type": "queue", "side": "b", "turn": 0, "position": 1, "eta_s": None},
    ]


def test_a_side_a_worker_has_started_has_no_place_for_a_late_joiner(model):
    (answer,) = _joined(model, 1)
    waiting_line_leave(slug=model.slug, response_ids=[answer.pk])
    Response.objects.filter(pk=answer.pk).update(status=Response.Status.STREAMING)
    assert waiting_places_of_battle(battle_id=answer.turn.battle_id) == []


# --- Redis unreachable ---------------------------------------------------------------------------------


@pytest.fixture
def redis_unreachable(settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }


def test_with_redis_unreachable_the_line_is_silent_and_raises_nothing(model, redis_unreachable):
    (answer,) = _waiting(model, 1)
    battles = Battles([answer])

    assert waiting_line_join(slug=model.slug, response_id=answer.pk) is False
    assert waiting_place_get(slug=model.slug, response_id=answer.pk) is None
    waiting_places_tell(slug=model.slug)
    waiting_line_leave(slug=model.slug, response_ids=[answer.pk])
    assert waiting_places_of_battle(battle_id=answer.turn.battle_id) == []
    waiting_line_dequeue(slug=model.slug, response=answer)
    assert battles.places(answer, 1) == [0], "the socket still hears that a worker took it"


def test_an_answer_still_streams_to_its_end_with_the_lines_redis_unreachable(redis_unreachable):
    model = model_make(adapter_kind="scripted", adapter_config={"text": "one two three"})
    battle = battle_make(model_a=model, status=Response.Status.QUEUED)
    answer = Response.objects.select_related("turn").get(turn__battle=battle, side="a")
    battles = Battles([answer])

    answer_generate(response_id=answer.pk)

    heard = [battles.heard(answer)]
    while heard[-1]["event"] not in ("done", "error"):
        heard.append(battles.heard(answer))
    assert heard[-1]["event"] == "done"
    answer.refresh_from_db()
    assert answer.status == "done" and answer.text == "one two three"


# --- through the live stack ----------------------------------------------------------------------------

# The live stack's worker runs 4 answers at once; 6 battles of 2 answers leave 8 waiting, 4 per model.
_BATTLES = 6
# 6 words at 4 a second: each answer holds a worker slot for about 1.25 s.
_WORDS = " ".join(f"word{i}" for i in range(6))

# The browser fixture of tests/browser, for the page's part of the same story.
browser_page = browser_fixtures.browser_page


def _workers_busied(api_client: httpx.Client, battles: int) -> list[dict[str, Any]]:
    """The only two models are slow scripted ones, and `battles` battles are started on them."""
    from arena.services import model_register

    for slug in SCRIPTED_SLUGS:
        model_register(
            slug=slug,
            display_name=slug,
            adapter_kind="scripted",
            adapter_config={"text": _WORDS, "tokens_per_s": 4},
        )
    created = []
    for number in range(battles):
        response = api_client.post("/api/v1/battles", data={"prompt": f"Battle {number}?"})
        assert response.status_code == 201, response.text
        created.append(response.json())
    return created


@pytest.mark.stack
def test_a_battle_queued_behind_busy_workers_hears_its_place_then_its_answer(
    live_stack: LiveStack, api_client: httpx.Client
):
    last = _workers_busied(api_client, _BATTLES)[-1]
    events: list[dict[str, Any]] = []
    ended: set[str] = set()
    deadline = time.monotonic() + 90
    with connect(
        live_stack.ws_url + last["stream"],
        origin=Origin(live_stack.base_url),
        open_timeout=10,
        additional_headers=session_cookies(api_client),
    ) as ws:
        while len(ended) < 2:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; got {events}\n{live_stack.worker_log.read_text()[-3000:]}"
            event = json.loads(ws.recv(timeout=remaining))
            events.append(event)
            if event["type"] in ("done", "error") and "side" in event:
                ended.add(event["side"])

    for side in ("a", "b"):
        places = [e["position"] for e in events if e["type"] == "queue" and e["side"] == side]
        first_text = next(i for i, e in enumerate(events) if e["type"] == "delta" and e["side"] == side)
        assert places and places[0] > 1, f"side {side} heard {places} while workers were busy"
        assert max(places) <= _BATTLES and 0 in places, places
        # A battle's `state` events name no side.
        assert any(e["type"] == "queue" for e in events[:first_text] if e.get("side") == side)
        done = next(e for e in events if e.get("side") == side and e["type"] in ("done", "error"))
        assert done["type"] == "done", done
        stored = Response.objects.get(turn__battle_id=last["id"], side=side)
        assert stored.status == "done" and stored.text == _WORDS


@pytest.mark.stack
@pytest.mark.browser
def test_the_page_shows_a_waiting_sides_place_in_line_until_its_text_arrives(
    browser_page, live_stack: LiveStack, api_client: httpx.Client
):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(live_stack.base_url + "/")
    _workers_busied(api_client, _BATTLES - 1)
    page.fill("#prompt", "Am I in line?")
    page.click("#send")

    place = page.locator("#pane-a .turn-place")
    expect(place).to_have_attribute("aria-live", "polite")
    expect(place).to_have_text(re.compile(r"^Waiting for a free worker — (\d+(st|nd|rd|th)|next) in line$"))
    expect(page.locator("body")).to_have_attribute("data-battle-state", "ready", timeout=60_000)
    for side in ("a", "b"):
        expect(page.locator(f"#pane-{side} .answer")).to_have_text(_WORDS)
        expect(page.locator(f"#pane-{side} .turn-place")).to_have_text("")
