"""Which model queues a running worker consumes: its `--models` patterns, matched against the models
registered now, not only when it started.

A worker adds the queue of each newly registered model that its patterns match: at once when
`model_register` broadcasts `arena_queues_refresh` (a Celery remote-control command), and every
`WORKER_QUEUES_REFRESH_S` seconds in any case, so a broadcast lost while the broker was away is
caught up. Both run in the worker's consumer loop, the one place Celery lets queues change.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable
from typing import Any, Final

from celery import bootsteps
from celery.worker.control import control_command
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from arena.models import Model
from core.celery import app
from workers.dispatch import model_queue

logger = logging.getLogger(__name__)

REFRESH_COMMAND: Final = "arena_queues_refresh"
_patterns: list[str] = []


def worker_patterns_set(*, patterns: Iterable[str]) -> None:
    """The `--models` patterns of this worker process (called once, before the worker starts)."""
    _patterns[:] = list(patterns)


def model_slugs_hosted(*, patterns: Iterable[str]) -> set[str]:
    """The slugs `patterns` host: plain slugs even before they are registered, globs among the models
    registered and not retired."""
    patterns = list(patterns)
    slugs = {pattern for pattern in patterns if not any(char in pattern for char in "*?[")}
    registered = Model.objects.exclude(status=Model.Status.RETIRED).values_list("slug", flat=True)
    slugs.update(slug for slug in registered if any(fnmatch.fnmatchcase(slug, p) for p in patterns))
    return slugs


def worker_queues_refresh(*, consumer: Any) -> list[str]:
    """Start consuming the queue of every hosted model not consumed yet; the queues added."""
    if not _patterns or consumer.task_consumer is None:
        return []
    try:
        close_old_connections()
        wanted = {model_queue(slug=slug) for slug in model_slugs_hosted(patterns=_patterns)}
    except DatabaseError:
        logger.warning("could not list the models to host; trying again later", exc_info=True)
        return []
    consumed = {queue.name for queue in consumer.task_consumer.queues}
    added = sorted(wanted - consumed)
    for queue in added:
        consumer.add_task_queue(queue)
        logger.info("now hosting %s", queue)
    return added


def worker_queues_announce() -> None:
    """Tell every worker to look for new models now; a broker that cannot be reached is only logged,
    the workers' own periodic refresh finds the model anyway."""
    try:
        app.control.broadcast(REFRESH_COMMAND)
    except Exception:
        logger.warning(
            "could not tell the workers about a new model; they find it within %s s",
            settings.WORKER_QUEUES_REFRESH_S,
            exc_info=True,
        )


@control_command(name=REFRESH_COMMAND)
def _refresh_command(state: Any) -> dict[str, list[str]]:
    return {"added": worker_queues_refresh(consumer=state.consumer)}


class QueuesRefreshStep(bootsteps.StartStopStep):
    """The periodic refresh, on the consumer's timer; started again whenever the consumer reconnects."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.timer_entry: Any = None

    def start(self, parent: Any) -> None:
        self.timer_entry = parent.timer.call_repeatedly(
            settings.WORKER_QUEUES_REFRESH_S, worker_queues_refresh, kwargs={"consumer": parent}
        )

    def stop(self, parent: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None


app.steps["consumer"].add(QueuesRefreshStep)
