"""Answer leases and the expiry sweep, on the real database and channel layer (no worker process here:
tests/arena/test_worker_faults.py kills real ones)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from arena.answers import WORKER_LOST_FAILURE, answer_generate, responses_expire_stale
from arena.leases import answer_lease_hold, answer_leases_renew
from arena.models import Model, Response
from tests.factories import battle_make, model_make
from tests.listeners import Battles

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = "one two three four five six"


def _scripted(**config: object) -> Model:
    return model_make(adapter_kind="scripted", adapter_config={"text": TEXT, **config})


def _side_a(model: Model, *, status: str = Response.Status.QUEUED) -> Response:
    battle = battle_make(model_a=model, model_b=_scripted(), status=status)
    return Response.objects.select_related("turn").get(turn__battle=battle, side="a")


def _generate_in_thread(answer: Response) -> threading.Thread:
    """answer_generate as a worker thread runs it, giving its connection back at the end as Celery does."""

    def run() -> None:
        try:
            answer_generate(response_id=answer.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _streaming_since(answer: Response, *, seconds: float) -> None:
    Response.objects.filter(pk=answer.pk).update(
        status=Response.Status.STREAMING,
        text="one two",
        heartbeat_at=timezone.now() - timedelta(seconds=seconds),
    )


def test_an_answer_whose_lease_ran_out_is_failed_and_its_battle_told(settings):
    answer = _side_a(_scripted())
    _streaming_since(answer, seconds=settings.ARENA_ANSWER_LEASE_S + 1)
    battles = Battles([answer])

    assert responses_expire_stale() == 1

    answer.refresh_from_db()
    assert (answer.status, answer.error, answer.text) == (
        Response.Status.FAILED,
        WORKER_LOST_FAILURE,
        "one two",
    )
    heard = battles.heard(answer)
    assert (heard["event"], heard["message"]) == ("error", WORKER_LOST_FAILURE)


def test_an_answer_renewed_within_its_lease_is_left_streaming(settings):
    answer = _side_a(_scripted())
    _streaming_since(answer, seconds=settings.ARENA_ANSWER_LEASE_S + 1)

    with answer_lease_hold(response_id=answer.pk):
        assert answer_leases_renew() == 1
    assert responses_expire_stale() == 0
    answer.refresh_from_db()
    assert answer.status == Response.Status.STREAMING
    assert answer_leases_renew() == 0, "a lease let go is no longer renewed"


def test_a_lease_tells_its_holder_to_stop_once_its_answer_is_no_longer_streaming():
    answer = _side_a(_scripted())
    _streaming_since(answer, seconds=0)

    with answer_lease_hold(response_id=answer.pk) as lost:
        assert answer_leases_renew() == 1
        assert not lost.is_set(), "still streaming: go on"
        Response.objects.filter(pk=answer.pk).update(status=Response.Status.FAILED)
        assert answer_leases_renew() == 0
        assert lost.is_set()


def test_an_answer_failed_by_the_sweep_stops_generating_at_the_next_renewal(settings):
    settings.ARENA_ANSWER_HEARTBEAT_S = 60  # the test renews by hand
    # 24 words (the tests' ARENA_MAX_NEW_TOKENS) at 1 a second: it would run 24 s.
    answer = _side_a(_scripted(tokens_per_s=1))
    run = _generate_in_thread(answer)
    deadline = time.monotonic() + 10
    while Response.objects.get(pk=answer.pk).status != Response.Status.STREAMING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    Response.objects.filter(pk=answer.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert responses_expire_stale() == 1

    answer_leases_renew()
    run.join(timeout=10)

    assert not run.is_alive(), "stopped long before its 24 s"
    answer.refresh_from_db()
    assert (answer.status, answer.error) == (Response.Status.FAILED, WORKER_LOST_FAILURE)


def test_a_redelivered_task_never_writes_a_side_twice():
    answer = _side_a(_scripted())
    answer_generate(response_id=answer.pk)
    answer.refresh_from_db()
    first = (answer.status, answer.text, answer.started_at, answer.finished_at)
    assert first[:2] == (Response.Status.DONE, TEXT)
    battles = Battles([answer])

    answer_generate(response_id=answer.pk)

    answer.refresh_from_db()
    assert (answer.status, answer.text, answer.started_at, answer.finished_at) == first
    assert battles.hears_nothing(answer)


def test_two_deliveries_at_once_stream_the_answer_once():
    answer = _side_a(_scripted(tokens_per_s=20))
    battles = Battles([answer])
    runs = [_generate_in_thread(answer) for _ in range(2)]
    for run in runs:
        run.join(timeout=30)

    answer.refresh_from_db()
    assert (answer.status, answer.text) == (Response.Status.DONE, TEXT)
    events = []
    while True:
        try:
            events.append(battles.heard(answer, timeout=1))
        except TimeoutError:
            break
    deltas = "".join(event["text"] for event in events if event["event"] == "delta")
    assert deltas == TEXT
    assert [event["event"] for event in events].count("done") == 1


def test_a_worker_that_stalls_past_its_lease_does_not_overwrite_the_failure(settings):
    """Its answer was failed and the voter told; the late end of the generation changes nothing."""
    settings.ARENA_ANSWER_HEARTBEAT_S = 60  # nothing renews while the test plays the sweep
    answer = _side_a(_scripted(tokens_per_s=10))
    run = _generate_in_thread(answer)
    deadline = time.monotonic() + 10
    while Response.objects.get(pk=answer.pk).status != Response.Status.STREAMING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    Response.objects.filter(pk=answer.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert responses_expire_stale() == 1
    run.join(timeout=30)

    answer.refresh_from_db()
    assert (answer.status, answer.error) == (Response.Status.FAILED, WORKER_LOST_FAILURE)
