"""Abandoning a battle: its unfinished answers fail and stop, queued ones are never generated, and
nothing more is taken on it. On the real database and channel layer, and with a real worker."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test import Client

from arena.answers import ABANDONED_FAILURE, answer_generate
from arena.leases import answer_leases_renew
from arena.models import Battle, Model, Response, Turn, Vote
from arena.services import battle_abandon, model_register
from arena.waiting import waiting_line_join, waiting_place_get
from core.celery import app as celery_app
from core.realtime import battle_group
from tests.battles import WORDS, Events, scripted_models_register, session_client, sides_ended
from tests.factories import battle_make, model_make, vote_post, voter_client
from tests.listeners import Battles
from tests.processes import Processes
from workers.dispatch import model_queue

pytestmark = pytest.mark.django_db(transaction=True)

ABANDONED_CONFLICT = "This battle was abandoned; start a new round."


class Group:
    """Every message a battle's socket would hear, as the channel layer delivers it."""

    def __init__(self, battle: Battle) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(battle_group(battle_id=battle.pk), self.channel)

    def next(self, timeout: float = 5) -> dict[str, Any]:
        async def receive() -> dict[str, Any]:
            return dict(await asyncio.wait_for(self.layer.receive(self.channel), timeout=timeout))

        return async_to_sync(receive)()

    def until_state(self, state: str) -> list[dict[str, Any]]:
        heard = [self.next()]
        while (heard[-1]["event"], heard[-1].get("state")) != ("state", state):
            heard.append(self.next())
        return heard

    def drained(self, quiet_s: float = 1.0) -> list[dict[str, Any]]:
        """What is still on its way, until nothing comes for `quiet_s`."""
        heard = []
        while True:
            try:
                heard.append(self.next(timeout=quiet_s))
            except TimeoutError:
                return heard

    def hears_nothing(self, timeout: float = 0.5) -> bool:
        try:
            self.next(timeout=timeout)
        except TimeoutError:
            return True
        return False


def _own_battle(client: Client, **fields: Any) -> Battle:
    return battle_make(creator_id=client.session["arena_voter_id"], **fields)


def _abandon(client: Client, token: str, battle_id: object) -> Any:
    return client.post(f"/api/v1/battles/{battle_id}/abandon", headers={"X-CSRFToken": token})


def _answers(battle: Battle) -> dict[str, Response]:
    return {
        answer.side: answer for answer in Response.objects.select_related("turn").filter(turn__battle=battle)
    }


@pytest.fixture
def purged_model_queues() -> Iterator[None]:
    """Tasks sent to the queues of test models, which no worker hosts here, would wait for ever."""
    yield
    with celery_app.connection_for_write() as broker:
        for slug in Model.objects.values_list("slug", flat=True):
            broker.default_channel.queue_purge(model_queue(slug=slug))


# --- through the API, on the real database and channel layer ------------------------------------------


def test_abandoning_fails_the_waiting_answers_takes_them_out_of_line_and_tells_the_socket():
    owner, token = voter_client()
    battle = _own_battle(owner, status=Response.Status.QUEUED)
    answers = _answers(battle)
    behind = Response.objects.select_related("turn").get(
        turn__battle=battle_make(model_a=battle.model_a, status=Response.Status.QUEUED), side="a"
    )
    for answer in (answers["a"], behind):
        assert waiting_line_join(slug=battle.model_a.slug, response_id=answer.pk)
    assert waiting_line_join(slug=battle.model_b.slug, response_id=answers["b"].pk)
    group, lines = Group(battle), Battles([behind])

    response = _abandon(owner, token, battle.pk)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "abandoned"
    assert (body["is_creator"], body["can_vote"], body["can_follow_up"], body["can_abandon"]) == (
        True,
        False,
        False,
        False,
    )
    for side in "ab":
        assert body["turns"][0]["responses"][side]["status"] == "failed"
        assert body["turns"][0]["responses"][side]["error"] == ABANDONED_FAILURE
        answers[side].refresh_from_db()
        assert answers[side].finished_at is not None
    heard = group.until_state("abandoned")
    assert sorted((e["event"], e["side"], e["message"]) for e in heard[:-1]) == [
        ("error", "a", ABANDONED_FAILURE),
        ("error", "b", ABANDONED_FAILURE),
    ]
    assert waiting_place_get(slug=battle.model_a.slug, response_id=answers["a"].pk) is None
    assert waiting_place_get(slug=battle.model_b.slug, response_id=answers["b"].pk) is None
    assert lines.places(behind, 1) == [1], "the answer behind moves up"
    assert Battle.objects.get(pk=battle.pk).abandoned_at is not None


def test_a_worker_that_later_takes_an_abandoned_answer_does_nothing():
    owner, token = voter_client()
    battle = _own_battle(owner, status=Response.Status.QUEUED)
    Response.objects.filter(turn__battle=battle).update(text="")
    assert _abandon(owner, token, battle.pk).status_code == 200
    group = Group(battle)

    answer_generate(response_id=_answers(battle)["a"].pk)

    answer = _answers(battle)["a"]
    assert (answer.status, answer.error, answer.text, answer.started_at) == (
        Response.Status.FAILED,
        ABANDONED_FAILURE,
        "",
        None,
    )
    assert group.hears_nothing()


def test_only_the_creator_may_abandon_a_battle_and_a_stranger_hears_no_such_battle():
    owner, _ = voter_client()
    battle = _own_battle(owner, status=Response.Status.QUEUED)
    stranger, token = voter_client()

    response = _abandon(stranger, token, battle.pk)

    # Before the vote the battle is its creator's alone (arena.visibility): as if there were none.
    assert (response.status_code, response.json()) == (404, {"detail": "There is no such battle."})
    assert Battle.objects.get(pk=battle.pk).abandoned_at is None
    assert set(Response.objects.filter(turn__battle=battle).values_list("status", flat=True)) == {"queued"}


def test_a_voted_battle_cannot_be_abandoned():
    owner, token = voter_client()
    battle = _own_battle(owner)
    assert vote_post(owner, token, battle.pk, "tie").status_code == 200

    response = _abandon(owner, token, battle.pk)

    assert response.status_code == 409
    assert response.json()["detail"] == "This battle has a vote, so it can no longer be abandoned."
    assert Battle.objects.get(pk=battle.pk).abandoned_at is None
    assert owner.get(f"/api/v1/battles/{battle.pk}").json()["state"] == "voted"


def test_abandoning_no_such_battle_is_a_404_and_without_a_csrf_token_a_403():
    owner, token = voter_client()
    battle = _own_battle(owner, status=Response.Status.QUEUED)

    missing = _abandon(owner, token, "00000000-0000-0000-0000-000000000000")
    unguarded = owner.post(f"/api/v1/battles/{battle.pk}/abandon")

    assert missing.status_code == 404 and missing.json()["detail"] == "There is no such battle."
    assert unguarded.status_code == 403 and "/api/v1/session" in unguarded.json()["detail"]
    assert Battle.objects.get(pk=battle.pk).abandoned_at is None


def test_abandoning_twice_answers_the_same_and_changes_nothing_more():
    owner, token = voter_client()
    battle = _own_battle(owner, status=Response.Status.STREAMING)
    first = _abandon(owner, token, battle.pk)
    abandoned_at = Battle.objects.get(pk=battle.pk).abandoned_at
    group = Group(battle)

    second = _abandon(owner, token, battle.pk)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert Battle.objects.get(pk=battle.pk).abandoned_at == abandoned_at
    assert group.hears_nothing(), "nothing is announced twice"


def test_an_abandoned_battle_takes_no_vote_and_no_follow_up():
    owner, token = voter_client()
    battle = _own_battle(owner)  # both answers done: it could have been voted on
    assert _abandon(owner, token, battle.pk).status_code == 200

    vote = vote_post(owner, token, battle.pk, "model_a")
    follow_up = owner.post(
        f"/api/v1/battles/{battle.pk}/turns", data={"prompt": "And then?"}, headers={"X-CSRFToken": token}
    )

    assert vote.status_code == 409 and vote.json()["detail"] == ABANDONED_CONFLICT
    assert follow_up.status_code == 409 and follow_up.json()["detail"] == ABANDONED_CONFLICT
    assert not Vote.objects.exists()
    assert Turn.objects.filter(battle=battle).count() == 1
    answers = _answers(battle)
    assert {answers[side].status for side in "ab"} == {"done"}, "finished answers keep what they have"


def test_a_retry_abandons_the_original_battle_so_its_answers_stop(purged_model_queues):
    owner, token = voter_client()
    battle = _own_battle(owner, status=Response.Status.STREAMING)
    group = Group(battle)

    retried = owner.post(f"/api/v1/battles/{battle.pk}/retry", headers={"X-CSRFToken": token})

    assert retried.status_code == 201, retried.content
    assert Battle.objects.get(pk=retried.json()["id"]).retry_of_id == battle.pk
    original = owner.get(f"/api/v1/battles/{battle.pk}").json()
    assert original["state"] == "abandoned"
    assert {original["turns"][0]["responses"][side]["error"] for side in "ab"} == {ABANDONED_FAILURE}
    assert group.until_state("abandoned")[-1] == {
        "type": "stream.event",
        "event": "state",
        "state": "abandoned",
    }


def test_a_voted_battle_cannot_be_retried_and_stays_voted(purged_model_queues):
    owner, token = voter_client()
    battle = _own_battle(owner)
    assert vote_post(owner, token, battle.pk, "model_b").status_code == 200

    retried = owner.post(f"/api/v1/battles/{battle.pk}/retry", headers={"X-CSRFToken": token})

    # One prompt, one counted vote: a retry would put the same prompt to another vote.
    assert retried.status_code == 409, retried.content
    assert "can no longer be retried" in retried.json()["detail"]
    assert not Battle.objects.filter(retry_of=battle).exists()
    assert owner.get(f"/api/v1/battles/{battle.pk}").json()["state"] == "voted"
    assert Battle.objects.get(pk=battle.pk).abandoned_at is None


def test_a_retry_that_finds_no_new_pair_leaves_the_original_as_it_was():
    owner, token = voter_client()
    battle = _own_battle(owner, status=Response.Status.STREAMING)
    Model.objects.update(status=Model.Status.PAUSED)

    retried = owner.post(f"/api/v1/battles/{battle.pk}/retry", headers={"X-CSRFToken": token})

    assert retried.status_code == 503, retried.content
    assert Battle.objects.get(pk=battle.pk).abandoned_at is None
    assert set(Response.objects.filter(turn__battle=battle).values_list("status", flat=True)) == {"streaming"}


# --- a generation in this process, stopped through its lease -------------------------------------------


def test_a_generation_stops_at_the_lease_renewal_after_its_battle_is_abandoned():
    # 24 words (the tests' ARENA_MAX_NEW_TOKENS) at 1 a second: the answer would run 24 s.
    slow = model_make(adapter_kind="scripted", adapter_config={"text": WORDS, "tokens_per_s": 1})
    battle = battle_make(model_a=slow, status=Response.Status.QUEUED)
    answer = _answers(battle)["a"]
    group = Group(battle)

    def run() -> None:
        try:
            answer_generate(response_id=answer.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    heard = [group.next()]
    while heard[-1]["event"] != "delta":
        heard.append(group.next())
    battle_abandon(battle_id=battle.pk, voter_id=battle.creator_id)
    assert answer_leases_renew() == 0, "the answer is no longer streaming: its lease is not renewed"
    worker.join(timeout=10)

    assert not worker.is_alive(), "the generation stopped well before its 24 s"
    answer.refresh_from_db()
    assert (answer.status, answer.error) == (Response.Status.FAILED, ABANDONED_FAILURE)
    heard = heard + group.until_state("abandoned") + group.drained()
    assert "done" not in [message["event"] for message in heard]


# --- with a real worker ------------------------------------------------------------------------------

_QUICK_TEXT = " ".join(f"quick{i}" for i in range(30))


def _quick_models_register(*slugs: str, status: str) -> None:
    for slug in slugs:
        # 30 words at 10 a second: three seconds, long enough for a socket to see the other side wait.
        model_register(
            slug=slug,
            display_name=slug,
            adapter_kind="scripted",
            adapter_config={"text": _QUICK_TEXT, "tokens_per_s": 10},
            status=status,
        )


def _first(seen: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    return next((e for e in seen if all(e.get(key) == value for key, value in match.items())), None)


def _drained(events: Events, *, quiet_s: float = 1.0) -> list[dict[str, Any]]:
    """Every message the socket has for us, read until it stays quiet for `quiet_s`."""
    while True:
        try:
            events.seen.append(json.loads(events.socket.recv(timeout=quiet_s)))
        except TimeoutError:
            return events.seen


def _tasks_succeeded(processes: Processes, name: str, count: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while processes.log(name).read_text().count("arena.response_generate[") < 2 * count:
        # Celery logs each task twice at INFO: received, then succeeded (or failed).
        assert time.monotonic() < deadline, processes.log(name).read_text()[-3000:]
        time.sleep(0.2)


@pytest.mark.stack
def test_abandoning_mid_answer_frees_the_worker_and_its_queued_side_is_never_generated(processes: Processes):
    scripted_models_register("slow-left", "slow-right")  # 400 words at 5 a second: 80 s an answer
    _quick_models_register("quick-left", "quick-right", status=Model.Status.PAUSED)
    base = processes.web()
    processes.worker("solo", models="slow-left,slow-right,quick-left,quick-right", concurrency=1)
    client = session_client(base)

    battle = client.post("/api/v1/battles", data={"prompt": "A long story, please."}).json()
    events = Events(base, battle["stream"], client=client)
    seen = events.until(lambda seen: _first(seen, type="delta") is not None, timeout=60)
    streaming_side = _first(seen, type="delta")["side"]  # type: ignore[index]
    waiting_side = "b" if streaming_side == "a" else "a"
    place = _first(seen, type="queue", side=waiting_side)
    assert place is not None and place["position"] >= 1, seen
    assert place["eta_s"] is None, "no answer of these models has finished yet"

    abandoned = client.post(f"/api/v1/battles/{battle['id']}/abandon")

    assert abandoned.status_code == 200, abandoned.text
    assert abandoned.json()["state"] == "abandoned"
    seen = events.until(lambda seen: _first(seen, type="state", state="abandoned") is not None, timeout=10)
    errors = {e["side"]: e["message"] for e in seen if e["type"] == "error"}
    assert errors == {"a": ABANDONED_FAILURE, "b": ABANDONED_FAILURE}

    # The worker's only slot must be free for the next battle to finish before the slow answer would.
    Model.objects.filter(slug__startswith="slow-").update(status=Model.Status.PAUSED)
    Model.objects.filter(slug__startswith="quick-").update(status=Model.Status.ACTIVE)
    following = client.post("/api/v1/battles", data={"prompt": "Something short."}).json()
    next_events = Events(base, following["stream"], client=client)
    ended = next_events.until(sides_ended(), timeout=40)
    next_events.close()
    assert [e["type"] for e in ended if e["type"] in ("done", "error")] == ["done", "done"]

    # Both battles' four tasks have run: the abandoned queued side's too, which generated nothing.
    _tasks_succeeded(processes, "solo", 4, timeout=30)
    stored = {r.side: r for r in Response.objects.filter(turn__battle_id=battle["id"])}
    assert {side: (r.status, r.error) for side, r in stored.items()} == {
        "a": ("failed", ABANDONED_FAILURE),
        "b": ("failed", ABANDONED_FAILURE),
    }
    assert stored[waiting_side].started_at is None and stored[waiting_side].text == ""
    assert WORDS.startswith(stored[streaming_side].text) and len(stored[streaming_side].text) < len(WORDS)
    heard = _drained(events)
    events.close()
    assert not any(e["type"] == "done" for e in heard), "the stopped answer never ended as done"
    assert "stopped: it is no longer streaming" in processes.log("solo").read_text()


@pytest.mark.stack
def test_a_battle_waiting_behind_answers_that_finished_hears_an_estimate(processes: Processes):
    _quick_models_register("eta-left", "eta-right", status=Model.Status.ACTIVE)
    base = processes.web()
    processes.worker("solo", models="eta-left,eta-right", concurrency=1)
    client = session_client(base)
    first = client.post("/api/v1/battles", data={"prompt": "First."}).json()
    first_events = Events(base, first["stream"], client=client)
    first_events.until(sides_ended(), timeout=60)
    first_events.close()
    durations = [
        (r.finished_at - r.started_at).total_seconds()
        for r in Response.objects.filter(turn__battle_id=first["id"])
        if r.finished_at is not None and r.started_at is not None
    ]
    assert len(durations) == 2

    second = client.post("/api/v1/battles", data={"prompt": "Second."}).json()
    events = Events(base, second["stream"], client=client)
    seen = events.until(sides_ended(), timeout=60)
    events.close()

    places = [e for e in seen if e["type"] == "queue" and e["position"] > 0]
    assert places, f"one side waited for the worker's only slot: {seen}"
    for place in places:
        # One answer at most is ahead of it, on the only slot: it starts within one answer's time.
        assert isinstance(place["eta_s"], int), place
        assert 0 <= place["eta_s"] <= math.ceil(max(durations)) + 1, (place, durations)
    taken = [e for e in seen if e["type"] == "queue" and e["position"] == 0]
    assert taken and all(e["eta_s"] == 0 for e in taken)
