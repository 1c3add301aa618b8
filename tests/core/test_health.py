"""/healthz answers whatever the database and Redis do; /readyz tells, within its deadline, what is
missing: the database, Redis, the broker, or a live worker for an active model.

The stalled servers are TCP listeners that accept connections and never speak, as a hung
PostgreSQL or Redis does; the site is a real uvicorn, the worker the live stack's Celery worker.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from arena.models import Model
from tests.conftest import LiveStack, _database_url, uvicorn_command
from tests.factories import model_make
from tests.processes import ROOT, free_port, port_wait

REDIS_PASSWORD = "redis-password-never-shown"


@contextmanager
def _stalled_server() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


@contextmanager
def _site(log: Path, **variables: str) -> Iterator[httpx.Client]:
    """A real uvicorn serving the site with `variables` in its environment."""
    port = free_port()
    with log.open("wb") as out:
        web = subprocess.Popen(
            uvicorn_command(port=port),
            cwd=ROOT,
            env={**os.environ, **variables},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        port_wait(port, process=web, log=log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        web.terminate()
        web.wait(timeout=15)


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_healthz_answers_at_once_while_the_database_and_redis_stall(tmp_path: Path) -> None:
    with (
        _stalled_server() as database,
        _stalled_server() as redis,
        _site(
            tmp_path / "web.log",
            DATABASE_URL=f"postgresql://arena@127.0.0.1:{database}/arena",
            REDIS_URL=f"redis://127.0.0.1:{redis}",
        ) as site,
    ):
        site.get("/healthz")  # the first request loads the URLs
        answer, seconds = _timed(lambda: site.get("/healthz"))
    assert answer.status_code == 200
    assert answer.json() == {"alive": True}
    assert "no-store" in answer.headers["cache-control"]
    # Any Redis read (the edge cache's included) would have waited a socket timeout of 1 s or more.
    assert seconds < 0.5


def test_readyz_names_redis_within_its_deadline_when_redis_stalls(
    django_db_setup: None, tmp_path: Path
) -> None:
    with (
        _stalled_server() as redis,
        _site(
            tmp_path / "web.log",
            DATABASE_URL=_database_url(),
            REDIS_URL=f"redis://:{REDIS_PASSWORD}@127.0.0.1:{redis}",
            READINESS_CHECK_TIMEOUT_S="1",
        ) as site,
    ):
        site.get("/healthz")
        answer, seconds = _timed(lambda: site.get("/readyz"))
    assert answer.status_code == 503
    body = answer.json()
    assert body["ready"] is False
    assert body["checks"] == {
        "database": True,
        "cache": False,
        "channel_layer": False,
        "broker": False,
        "model_workers": False,
    }
    assert "Redis (the cache) cannot be reached (no answer within 1 s)." in body["missing"]
    assert "Redis (the channel layer) cannot be reached (no answer within 1 s)." in body["missing"]
    assert "The Celery broker (Redis) cannot be reached (no answer within 1 s)." in body["missing"]
    assert REDIS_PASSWORD not in answer.text and str(redis) not in answer.text
    assert seconds < 2.5
    assert "no-store" in answer.headers["cache-control"]


def _readyz_until(live_stack: LiveStack, done: Callable[[httpx.Response], bool]) -> httpx.Response:
    """/readyz once it says what `done` waits for: a worker announces itself within a beat of starting."""
    deadline = time.monotonic() + 20
    while True:
        answer = httpx.get(f"{live_stack.base_url}/readyz", timeout=10)
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_readyz_is_ready_when_every_active_model_has_a_live_worker(
    live_stack: LiveStack, arena_models: list[Model]
) -> None:
    answer = _readyz_until(live_stack, lambda answer: answer.status_code == 200)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "ready": True,
        "checks": {
            "database": True,
            "cache": True,
            "channel_layer": True,
            "broker": True,
            "model_workers": True,
        },
        "missing": [],
    }


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_readyz_lists_an_active_model_that_no_worker_serves(
    live_stack: LiveStack, arena_models: list[Model]
) -> None:
    model_make(slug="nobody-hosts-me")
    model_make(slug="paused-and-unhosted", status=Model.Status.PAUSED)
    expected = ["No worker is serving the model queue model.nobody-hosts-me."]
    answer = _readyz_until(live_stack, lambda answer: answer.json()["missing"] == expected)
    assert answer.status_code == 503
    body = answer.json()
    assert body["missing"] == expected
    assert body["checks"]["model_workers"] is False
    assert all(passed for name, passed in body["checks"].items() if name != "model_workers")
