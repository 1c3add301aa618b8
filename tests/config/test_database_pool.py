"""Pooled connections hold under concurrency: a crowd of readers queues for a few pooled connections
instead of opening one each (which exhausts PostgreSQL's max_connections), and every reader is answered."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import LiveStack

READERS = 120


def _connections_to_this_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        (count,) = cursor.fetchone()
    return int(count)


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_a_crowd_of_readers_is_served_by_the_web_server_s_pool(live_stack: LiveStack):
    samples: list[int] = []
    done = threading.Event()
    started = threading.Event()

    def watch() -> None:
        try:
            samples.append(_connections_to_this_database())  # before the crowd: the baseline
            started.set()
            while not done.is_set():
                samples.append(_connections_to_this_database())
                done.wait(0.02)
        finally:
            connection.close()  # this thread's own connection

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with httpx.Client(
            base_url=live_stack.base_url, timeout=60, limits=httpx.Limits(max_connections=READERS)
        ) as client:
            paths = ["/api/v1/leaderboard", "/leaderboard/", "/api/v1/models"] * (READERS // 3)
            with ThreadPoolExecutor(max_workers=READERS) as crowd:
                statuses = list(crowd.map(lambda path: client.get(path).status_code, paths))
    finally:
        done.set()
        watcher.join()
    assert statuses == [200] * len(paths)
    # The web process never holds more than its pool (the default size, which the live stack keeps).
    baseline, peak = samples[0], max(samples)
    assert peak - baseline <= settings.DATABASE_POOL_MAX_SIZE == 8, (baseline, peak)
