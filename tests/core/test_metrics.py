"""/metrics: Prometheus text with bounded labels, fed by real requests, votes, battles and answers;
queue depths read from the broker; open to this machine only unless a token is set."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from arena.models import Model
from core.broker import broker_redis_get
from core.celery import app
from core.metrics import answer_timing_observe
from tests.conftest import LiveStack, _database_url, uvicorn_command
from tests.factories import battle_make, model_make, vote_post, voter_client
from tests.processes import ROOT, free_port, port_wait


def _sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def _scrape(client: Client, **headers: str) -> str:
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/plain; version=0.0.4")
    return answer.content.decode()


@pytest.mark.django_db
def test_requests_are_timed_by_url_pattern_name_never_by_path(client: Client) -> None:
    labels = {"method": "GET", "route": "api-v1:battle_detail", "status": "404"}
    before = _sample(_scrape(client), "arena_http_request_duration_seconds_count", **labels) or 0
    battle_id = uuid.uuid4()
    assert client.get(f"/api/v1/battles/{battle_id}").status_code == 404
    text = _scrape(client)
    assert _sample(text, "arena_http_request_duration_seconds_count", **labels) == before + 1
    assert str(battle_id) not in text
    assert client.get("/no-such-page/").status_code == 404
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert _sample(_scrape(client), "arena_http_request_duration_seconds_count", **unmatched)


@pytest.mark.django_db
def test_a_vote_is_counted_once_it_commits(django_capture_on_commit_callbacks: object) -> None:
    voter, token = voter_client()
    battle = battle_make(creator_id=voter.session["arena_voter_id"])
    before = _sample(_scrape(voter), "arena_votes_total", winner="tie") or 0
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert vote_post(voter, token, battle.pk, "tie").status_code == 200
    assert _sample(_scrape(voter), "arena_votes_total", winner="tie") == before + 1


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_a_battle_started_through_the_site_is_counted(
    api_client: httpx.Client, live_stack: LiveStack, arena_models: list[Model]
) -> None:
    before = _sample(api_client.get("/metrics").text, "arena_battles_started_total") or 0
    assert api_client.post("/api/v1/battles", data={"prompt": "Count me."}).status_code == 201
    assert _sample(api_client.get("/metrics").text, "arena_battles_started_total") == before + 1


def test_answer_timings_are_histograms_per_model(client: Client) -> None:
    answer_timing_observe(model="timing-model", started_at=100.0, first_chunk_at=100.3, finished_at=102.5)
    answer_timing_observe(model="timing-model", started_at=200.0, first_chunk_at=None, finished_at=200.2)
    answer_timing_observe(model="timing-model", started_at=None, first_chunk_at=None, finished_at=300.0)
    text = _scrape(client)
    first = "arena_answer_first_token_seconds"
    assert _sample(text, f"{first}_count", model="timing-model") == 1
    assert _sample(text, f"{first}_bucket", model="timing-model", le="0.25") == 0
    assert _sample(text, f"{first}_bucket", model="timing-model", le="0.5") == 1
    assert _sample(text, "arena_answer_generation_seconds_count", model="timing-model") == 2
    assert _sample(text, "arena_answer_generation_seconds_sum", model="timing-model") == pytest.approx(2.7)


@pytest.fixture
def unserved_queue() -> Iterator[str]:
    queue = f"model.unserved-{uuid.uuid4().hex[:8]}"
    yield queue
    broker_redis_get().delete(queue, f"_kombu.binding.{queue}")


@pytest.mark.django_db
def test_queue_depth_counts_the_tasks_waiting_for_a_model_nobody_serves(
    client: Client, unserved_queue: str
) -> None:
    model_make(slug=unserved_queue.removeprefix("model."))
    assert _sample(_scrape(client), "arena_queue_depth", queue=unserved_queue) == 0
    for _ in range(3):
        app.send_task("arena.response_generate", args=[0], queue=unserved_queue)
    assert _sample(_scrape(client), "arena_queue_depth", queue=unserved_queue) == 3


@pytest.mark.django_db
def test_queue_depth_is_left_out_when_the_broker_does_not_answer(
    client: Client, settings: object, caplog: pytest.LogCaptureFixture
) -> None:
    settings.BROKER_REDIS_URL = f"redis://127.0.0.1:{free_port()}"  # type: ignore[attr-defined]
    text = _scrape(client)
    assert "arena_queue_depth" not in text
    assert "arena_http_request_duration_seconds" in text
    assert "queue depths not read" in caplog.text


def test_with_a_token_set_metrics_want_it_as_a_bearer(client: Client, settings: object) -> None:
    settings.METRICS_TOKEN = "metrics-token-under-test"  # type: ignore[attr-defined]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "metrics-token-under-test"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused["WWW-Authenticate"].startswith("Bearer")
        assert "metrics-token-under-test" not in refused.content.decode()
    allowed = client.get(
        "/metrics", headers={"Authorization": "Bearer metrics-token-under-test"}, REMOTE_ADDR="203.0.113.7"
    )
    assert allowed.status_code == 200


def test_without_a_token_only_this_machine_may_read_metrics(client: Client, settings: object) -> None:
    settings.METRICS_TOKEN = ""  # type: ignore[attr-defined]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    for outsider in ("203.0.113.7", "10.0.0.5", "::ffff:198.51.100.2"):
        refused = client.get("/metrics", REMOTE_ADDR=outsider)
        assert refused.status_code == 403
        assert "METRICS_TOKEN" in refused.json()["detail"]


def test_processes_sharing_the_multiprocess_directory_are_added_up(
    django_db_setup: None, tmp_path: Path
) -> None:
    """A Celery worker's observations reach the web's /metrics through PROMETHEUS_MULTIPROC_DIR."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "DATABASE_URL": _database_url()}
    observe = (
        "from core.metrics import answer_timing_observe as observe; "
        "observe(model='elsewhere', started_at=10.0, first_chunk_at=11.0, finished_at=14.0)"
    )
    subprocess.run([sys.executable, "-c", observe], cwd=ROOT, env=env, check=True, timeout=60)
    port, log = free_port(), tmp_path / "web.log"
    with log.open("wb") as out:
        web = subprocess.Popen(
            uvicorn_command(port=port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        port_wait(port, process=web, log=log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as site:
            assert site.get("/healthz").status_code == 200
            text = site.get("/metrics").text
    finally:
        web.terminate()
        web.wait(timeout=15)
    assert _sample(text, "arena_answer_generation_seconds_count", model="elsewhere") == 1
    assert _sample(text, "arena_answer_first_token_seconds_sum", model="elsewhere") == 1
    assert _sample(text, "arena_http_request_duration_seconds_count", route="healthz") == 1
