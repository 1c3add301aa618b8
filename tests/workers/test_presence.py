"""Every Celery worker announces, every few seconds, the queues it consumes now; the record goes when
the worker does, and a Redis that does not answer costs a warning, never the worker."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from core.broker import broker_redis_get
from core.celery import app
from tests.conftest import LiveStack, _database_url
from tests.processes import ROOT, free_port
from workers.presence import PresenceBeat, presence_key, worker_queues_alive

T = TypeVar("T")


def _live_stack_worker(live_stack: LiveStack) -> str:
    """The hostname of the live stack's worker (`test-<port>@<host>`)."""
    prefix = f"test-{live_stack.base_url.rsplit(':', 1)[1]}@"
    hostname = _until(lambda: next((name for name in worker_queues_alive() if name.startswith(prefix)), None))
    assert hostname, f"no presence for {prefix}*: {worker_queues_alive()}"
    return hostname


def _until(probe: Callable[[], T], *, timeout: float = 20) -> T:
    """`probe()` once it is truthy (or its last value): a record changes within one beat (5 s)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


@pytest.mark.stack
def test_the_live_worker_announces_its_queues_with_a_short_life(live_stack: LiveStack) -> None:
    hostname = _live_stack_worker(live_stack)
    queues = worker_queues_alive()[hostname]
    assert {"default", "model.broken-endpoint", "model.scripted-a", "model.scripted-b"} <= queues
    raw = broker_redis_get().get(presence_key(hostname=hostname))
    assert isinstance(raw, bytes)
    record = json.loads(raw)
    assert record["hostname"] == hostname and isinstance(record["pid"], int)
    assert time.time() - record["at"] < 10
    assert 0 < broker_redis_get().pttl(presence_key(hostname=hostname)) <= 15_000


@pytest.mark.stack
def test_a_queue_added_at_run_time_shows_within_a_beat(live_stack: LiveStack) -> None:
    hostname = _live_stack_worker(live_stack)
    queue = "model.added-at-run-time"
    app.control.add_consumer(queue, destination=[hostname], reply=True, timeout=10)
    try:
        assert _until(lambda: queue in worker_queues_alive().get(hostname, set()))
    finally:
        app.control.cancel_consumer(queue, destination=[hostname], reply=True, timeout=10)
    assert _until(lambda: queue not in worker_queues_alive().get(hostname, set()))


def test_a_worker_that_stops_takes_its_record_away(django_db_setup: None, tmp_path: Path) -> None:
    hostname = f"presence-{free_port()}@test"
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "arena_worker",
                "--models",
                "presence-only",
                "--hostname",
                hostname,
            ],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": _database_url()},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        queues = _until(lambda: worker_queues_alive().get(hostname), timeout=60)
        assert queues == {"default", "model.presence-only"}, log.read_text()[-3000:]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    # Gone at once, not when the record would have expired.
    assert hostname not in worker_queues_alive()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "workers.presence"]


def test_a_beat_that_cannot_reach_redis_warns_and_retries(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    reachable = settings.BROKER_REDIS_URL
    settings.BROKER_REDIS_URL = f"redis://127.0.0.1:{free_port()}"  # nothing listens there
    beat = PresenceBeat(hostname="beat-under-test", queues=lambda: ["model.q"], interval_s=0.1)
    caplog.set_level(logging.WARNING, logger="workers.presence")
    beat.start()
    try:
        assert _until(lambda: len(_warnings(caplog)) >= 2, timeout=5)
        assert all("beat-under-test not written; retrying" in message for message in _warnings(caplog))
        settings.BROKER_REDIS_URL = reachable
        assert _until(lambda: worker_queues_alive().get("beat-under-test"), timeout=5) == {"model.q"}
    finally:
        beat.stop()
    assert "beat-under-test" not in worker_queues_alive()
