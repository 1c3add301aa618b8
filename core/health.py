"""Liveness (/healthz) and readiness (/readyz).

/healthz tells that the process answers requests, and touches nothing else (no database, no
Redis): a liveness probe failing whenever Redis blinks would have healthy web servers restarted.
/readyz runs its checks side by side, each given READINESS_CHECK_TIMEOUT_S, and answers 200 when
all pass, else 503 with a sentence for each thing missing. Neither names an address or a password.
The core checks are the database, Redis (the cache and the channel layer) and the Celery broker;
a higher layer adds its own (the arena: a live worker for every active model).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import redis
from django.conf import settings
from django.db import connection, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.broker import broker_redis_get
from core.redis_client import redis_client_get

logger = logging.getLogger(__name__)

_REDIS_TIMEOUT_S: Final = 2
# Checks that outlive their deadline keep a thread until their own timeouts end them; a crowd of
# probes then waits here (and reads as not ready) instead of piling up threads.
_executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="readiness")


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    # Returns a sentence for each problem found (none: ready); raises when it cannot tell.
    run: Callable[[], list[str]]
    # What /readyz says when `run` raises or does not answer in time.
    failure: str


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, bool]
    missing: list[str]


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"alive": True})


def _database_ping() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return []


@cache
def _redis_at(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=_REDIS_TIMEOUT_S, socket_connect_timeout=_REDIS_TIMEOUT_S)


def _cache_ping() -> list[str]:
    redis_client_get().ping()
    return []


def _channel_layer_ping() -> list[str]:
    config: Any = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    host = config["hosts"][0]
    _redis_at(str(host["address"] if isinstance(host, dict) else host)).ping()
    return []


def _broker_ping() -> list[str]:
    broker_redis_get().ping()
    return []


CORE_CHECKS: Final = (
    ReadinessCheck(name="database", run=_database_ping, failure="The database cannot be reached."),
    ReadinessCheck(name="cache", run=_cache_ping, failure="Redis (the cache) cannot be reached."),
    ReadinessCheck(
        name="channel_layer", run=_channel_layer_ping, failure="Redis (the channel layer) cannot be reached."
    ),
    ReadinessCheck(name="broker", run=_broker_ping, failure="The Celery broker (Redis) cannot be reached."),
)


def _run_in_thread(check: ReadinessCheck) -> list[str]:
    try:
        return check.run()
    finally:
        # This thread's own connections (Django's are per thread): back to the pool now.
        connections.close_all()


def readiness_run(*, checks: Sequence[ReadinessCheck], timeout_s: float) -> Readiness:
    """Run every check at once; what has not answered after `timeout_s` counts as failed."""
    futures: dict[str, Future[list[str]]] = {
        check.name: _executor.submit(_run_in_thread, check) for check in checks
    }
    wait(futures.values(), timeout=timeout_s)
    passed: dict[str, bool] = {}
    missing: list[str] = []
    for check in checks:
        future = futures[check.name]
        if not future.done():
            problems = [f"{check.failure.rstrip('.')} (no answer within {timeout_s:g} s)."]
            logger.warning("readiness check %s did not answer within %g s", check.name, timeout_s)
        elif future.exception() is not None:
            problems = [check.failure]
            logger.warning("readiness check %s failed", check.name, exc_info=future.exception())
        else:
            problems = future.result()
        passed[check.name] = not problems
        missing += problems
    return Readiness(ready=not missing, checks=passed, missing=missing)


def readiness_view(*, checks: Sequence[ReadinessCheck]) -> Callable[[HttpRequest], JsonResponse]:
    @never_cache
    @require_safe
    def readyz(request: HttpRequest) -> JsonResponse:
        readiness = readiness_run(checks=checks, timeout_s=settings.READINESS_CHECK_TIMEOUT_S)
        body = {"ready": readiness.ready, "checks": readiness.checks, "missing": readiness.missing}
        return JsonResponse(body, status=200 if readiness.ready else 503)

    return readyz
