"""Worker presence: every Celery worker process tells, every few seconds, which queues it consumes.

Each writes `worker-presence:<hostname>` (JSON: hostname, queues, pid, at) to the broker's Redis,
expiring after three beats: a worker that dies drops out by itself, one that shuts down cleanly
takes its record away at once. The queues are read from the worker's consumer at every beat, so a
queue added or cancelled at run time (`celery control add_consumer`) shows within one beat.

Celery imports this module in its worker and beat processes (settings.CELERY_IMPORTS), which
connects the signals below; the readiness check reads the records (`worker_queues_alive`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Final

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

from core.broker import broker_redis_get

logger = logging.getLogger(__name__)

KEY_PREFIX: Final = "worker-presence:"
_BEATS_PER_LIFE: Final = 3


def presence_key(*, hostname: str) -> str:
    return f"{KEY_PREFIX}{hostname}"


class PresenceBeat:
    """A daemon thread writing one worker's record until stopped; a failed write is retried next beat."""

    def __init__(self, *, hostname: str, queues: Callable[[], Iterable[str]], interval_s: float) -> None:
        self.hostname = hostname
        self.queues = queues
        self.interval_s = interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-presence", daemon=True)

    def beat(self) -> bool:
        """Write the record once; False (logged) when that failed, which never ends the thread."""
        try:
            record = {
                "hostname": self.hostname,
                "queues": sorted(self.queues()),
                "pid": os.getpid(),
                "at": time.time(),
            }
            life_ms = max(1000, int(self.interval_s * _BEATS_PER_LIFE * 1000))
            broker_redis_get().set(presence_key(hostname=self.hostname), json.dumps(record), px=life_ms)
        except Exception:  # Redis down, or the consumer mid-restart: the next beat tries again
            logger.warning("worker presence of %s not written; retrying", self.hostname, exc_info=True)
            return False
        return True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=self.interval_s + 5)
        try:
            broker_redis_get().delete(presence_key(hostname=self.hostname))
        except Exception:  # the record then expires by itself
            logger.warning("worker presence of %s not removed", self.hostname, exc_info=True)

    def _run(self) -> None:
        while True:
            self.beat()
            if self._stopped.wait(self.interval_s):
                return


def consumer_queues(consumer: Any) -> list[str]:
    """The queues a Celery consumer takes tasks from now (they change at run time)."""
    task_consumer = getattr(consumer, "task_consumer", None)
    if task_consumer is not None:
        return [queue.name for queue in task_consumer.queues]
    # Between a lost broker connection and the next: the queues it will consume again.
    return list(consumer.app.amqp.queues.consume_from)


_beats: dict[str, PresenceBeat] = {}


@worker_ready.connect(dispatch_uid="workers.presence.start")
def _presence_start(sender: Any, **kwargs: Any) -> None:
    consumer = sender
    beat = PresenceBeat(
        hostname=consumer.hostname,
        queues=partial(consumer_queues, consumer),
        interval_s=settings.WORKER_PRESENCE_INTERVAL_S,
    )
    _beats[consumer.hostname] = beat
    beat.start()


@worker_shutdown.connect(dispatch_uid="workers.presence.stop")
def _presence_stop(sender: Any, **kwargs: Any) -> None:
    for hostname in list(_beats):
        _beats.pop(hostname).stop()


def worker_queues_alive() -> dict[str, set[str]]:
    """The live workers by hostname, each with the queues it consumes; raises redis.RedisError."""
    client = broker_redis_get()
    keys = list(client.scan_iter(match=f"{KEY_PREFIX}*", count=100))
    alive: dict[str, set[str]] = {}
    for raw in client.mget(keys) if keys else []:
        if raw is None:  # expired between the scan and the read
            continue
        try:
            record = json.loads(raw)
            alive[str(record["hostname"])] = {str(queue) for queue in record["queues"]}
        except (ValueError, KeyError, TypeError):
            logger.warning("unreadable worker presence record: %r", raw[:200])
    return alive


def queues_unserved(*, queues: Iterable[str]) -> list[str]:
    """Those of `queues` that no live worker consumes, in the order given."""
    served = set().union(*worker_queues_alive().values())
    return [queue for queue in queues if queue not in served]
