"""Battles when parts of the site fail: real web, worker, beat and Redis processes, killed by signals.

Each test builds its own processes (tests/processes.py), so what it kills harms no other test, and
asserts what the voter sees (events, statuses, messages, how soon) and that no acknowledged vote is lost.
"""

from __future__ import annotations

import json
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from arena.answers import WORKER_LOST_FAILURE
from arena.models import Response, Vote
from core.realtime import LIVE_UNAVAILABLE_DETAIL
from tests.battles import (
    WORDS,
    Events,
    both_streaming,
    scripted_models_register,
    session_client,
    session_cookies,
    session_voter_id,
    sides_ended,
    ws_url,
)
from tests.conftest import _database_url
from tests.factories import battle_make
from tests.processes import Processes, RedisServer, environment, processes_running

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_mid_answer_fails_its_sides_within_30_seconds_and_offers_a_retry(
    processes: Processes, tmp_path: Path
):
    scripted_models_register("slow-a", "slow-b")
    base = processes.web()
    processes.worker("doomed", models="slow-a,slow-b")
    processes.worker("survivor", models="none-hosted")  # the default queue: the expiry sweep runs here
    processes.beat(schedule=tmp_path / "beat-schedule")
    client = session_client(base)
    battle = client.post("/api/v1/battles", data={"prompt": "Tell me a long story."}).json()
    voted = battle_make(creator_id=session_voter_id(client))
    assert client.post(f"/api/v1/battles/{voted.id}/vote", json={"winner": "tie"}).status_code == 200
    events = Events(base, battle["stream"], client=client)
    events.until(both_streaming, timeout=60)

    processes.kill("doomed", signal.SIGKILL)
    killed_at = time.monotonic()
    seen = events.until(sides_ended(), timeout=40)
    recovered_s = time.monotonic() - killed_at
    events.close()

    errors = [e for e in seen if e["type"] == "error"]
    assert {e["side"] for e in errors} == {"a", "b"}
    assert all(e["message"] == WORKER_LOST_FAILURE for e in errors)
    assert recovered_s < 30, f"the voter waited {recovered_s:.1f} s"
    print(f"worker killed mid-answer: both sides failed {recovered_s:.1f} s later")
    stored = client.get(f"/api/v1/battles/{battle['id']}").json()["turns"][0]["responses"]
    assert {side: stored[side]["status"] for side in "ab"} == {"a": "failed", "b": "failed"}
    retried = client.post(f"/api/v1/battles/{battle['id']}/retry")
    assert retried.status_code == 201, retried.text
    assert list(Vote.objects.filter(battle=voted).values_list("winner", flat=True)) == ["tie"]


def test_a_task_delivered_twice_to_real_workers_streams_its_side_once(processes: Processes):
    scripted_models_register("twice-a", "twice-b", tokens_per_s=40)
    base = processes.web()
    processes.worker("one", models="twice-a,twice-b")
    processes.worker("two", models="twice-a,twice-b")
    client = session_client(base)
    battle = client.post("/api/v1/battles", data={"prompt": "Once only."}).json()
    from arena.tasks import response_generate
    from workers.dispatch import model_queue

    answer = Response.objects.get(turn__battle_id=battle["id"], side="a")
    response_generate.apply_async(args=[answer.pk], queue=model_queue(slug=answer.turn.battle.model_a.slug))
    events = Events(base, battle["stream"], client=client)
    seen = events.until(sides_ended(), timeout=60)
    time.sleep(1)  # a second delivery, had it streamed, would have sent more by now
    events.close()

    assert [e["type"] for e in seen if e["side"] == "a" and e["type"] in ("done", "error")] == ["done"]
    offsets = [e["offset"] for e in seen if e["type"] == "delta" and e["side"] == "a"]
    assert offsets == sorted(set(offsets)), "one stream: a second would have started again from 0"
    answer.refresh_from_db()
    assert (answer.status, answer.text) == ("done", WORDS)


def test_redis_stopped_and_restarted_mid_battle(tmp_path: Path):
    redis = RedisServer(directory=tmp_path / "redis")
    redis.start()
    env = environment(
        DATABASE_URL=_database_url(), REDIS_URL=redis.url, REDIS_DB_OFFSET="0", ARENA_MAX_NEW_TOKENS="200"
    )
    scripted_models_register("outage-a", "outage-b", tokens_per_s=20)  # ten-second answers
    with processes_running(env=env, logs=tmp_path / "logs") as processes:
        base = processes.web()
        worker = processes.worker("worker", models="outage-a,outage-b")
        processes.beat(schedule=tmp_path / "beat-schedule")
        client = session_client(base)
        finished = client.post("/api/v1/battles", data={"prompt": "To vote on while Redis is away."}).json()
        Events(base, finished["stream"], client=client).until(sides_ended(), timeout=60)
        battle = client.post("/api/v1/battles", data={"prompt": "A story, please."}).json()
        events = Events(base, battle["stream"], client=client)
        events.until(both_streaming, timeout=60)

        redis.stop()
        down_at = time.monotonic()
        vote = client.post(f"/api/v1/battles/{finished['id']}/vote", json={"winner": "model_a"})
        assert vote.status_code in (200, 503), vote.text
        assert "Traceback" not in vote.text
        assert client.get("/leaderboard/").status_code == 200
        assert client.get("/api/v1/leaderboard").status_code == 200
        with pytest.raises(InvalidStatus) as refused:
            connect(
                ws_url(base) + battle["stream"],
                origin=Origin(base),
                open_timeout=10,
                additional_headers=session_cookies(client),
            )
        assert refused.value.response.status_code == 503
        assert json.loads(refused.value.response.body or b"{}") == {"detail": LIVE_UNAVAILABLE_DETAIL}
        time.sleep(max(0.0, 10 - (time.monotonic() - down_at)))
        redis.start()
        up_at = time.monotonic()

        assert worker.poll() is None, processes.log("worker").read_text()[-3000:]
        # The battle that was streaming ends, done or failed with a message, and says so when asked.
        deadline = time.monotonic() + 60
        while Response.objects.filter(
            turn__battle_id=battle["id"], status__in=["queued", "streaming"]
        ).exists():
            assert time.monotonic() < deadline, processes.log("worker").read_text()[-3000:]
            time.sleep(0.2)
        for stored in Response.objects.filter(turn__battle_id=battle["id"]):
            assert stored.status == "done" or (stored.status == "failed" and stored.error), stored
        # A new battle streams start to end: tasks, the channel layer and the worker are back.
        again = client.post("/api/v1/battles", data={"prompt": "And another."})
        assert again.status_code == 201, again.text
        fresh = Events(base, again.json()["stream"], client=client)
        fresh.until(both_streaming, timeout=60)
        resumed_s = time.monotonic() - up_at
        fresh.until(sides_ended(), timeout=60)
        fresh.close()
        print(f"Redis back: a new battle's answers were streaming {resumed_s:.1f} s later")
        # Beat resumed too: its expiry sweep fails an answer whose lease ran out.
        orphan = battle_make(status=Response.Status.STREAMING)
        Response.objects.filter(turn__battle=orphan).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        deadline = time.monotonic() + 30
        while Response.objects.filter(turn__battle=orphan, status="streaming").exists():
            assert time.monotonic() < deadline, processes.log("beat").read_text()[-3000:]
            time.sleep(0.2)
    redis.stop()
    votes = Vote.objects.filter(battle_id=finished["id"])
    assert votes.count() == (1 if vote.status_code == 200 else 0), "an acknowledged vote is kept"
