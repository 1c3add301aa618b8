"""Prometheus metrics (prometheus-client): what is measured, the functions that observe it, and /metrics.

Every layer observes through the small functions here, so the metric names, labels and buckets
are in one place. Labels stay few and bounded: a request is labelled by its URL pattern's name,
never its path; an answer by its model's slug.

Several processes (uvicorn workers, Celery workers): with PROMETHEUS_MULTIPROC_DIR set in their
environment before they start, prometheus-client keeps each process's values in files there and
/metrics adds up every process's; without it, /metrics shows the answering process's own. Queue
depths are read from the broker at each scrape, so they are the same whoever answers.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from core.broker import queue_lengths
from core.client_ip import request_client_ip

logger = logging.getLogger(__name__)

_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STARTED: Final = "arena.metrics.started"

# A `_created` series beside every counter and histogram doubles what a scrape carries, for a
# timestamp Prometheus does not use.
disable_created_metrics()

REQUEST_LATENCY = Histogram(
    "arena_http_request_duration_seconds",
    "Time Django took to answer a request (to its headers), by method, URL pattern name and status.",
    ["method", "route", "status"],
)
VOTES = Counter("arena_votes", "Votes recorded (committed), by winner.", ["winner"])
BATTLES_STARTED = Counter("arena_battles_started", "Battles started (committed), retries included.")
FIRST_TOKEN = Histogram(
    "arena_answer_first_token_seconds",
    "From a worker starting an answer to the model's first chunk, by model.",
    ["model"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)
GENERATION = Histogram(
    "arena_answer_generation_seconds",
    "From a worker starting an answer to its end (done or failed), by model.",
    ["model"],
    buckets=(0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 180, 300),
)
SNAPSHOT_DURATION = Histogram(
    "arena_leaderboard_snapshot_seconds",
    "Time to compute one arena leaderboard snapshot (fits and bootstrap).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120),
)


def request_observe(*, method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "other"  # clients may send any word
    REQUEST_LATENCY.labels(method=method, route=route, status=str(status)).observe(seconds)


def vote_cast_count(*, winner: str) -> None:
    VOTES.labels(winner=winner).inc()


def battle_started_count() -> None:
    BATTLES_STARTED.inc()


def answer_timing_observe(
    *, model: str, started_at: float | None, first_chunk_at: float | None, finished_at: float | None
) -> None:
    """One answer's timings from its moments (`time.time()` seconds, as a worker's GenerationStats
    keeps them); the first chunk is None when the model sent nothing, and an answer that never
    started or finished is not observed."""
    if started_at is None or finished_at is None:
        return
    if first_chunk_at is not None:
        FIRST_TOKEN.labels(model=model).observe(first_chunk_at - started_at)
    GENERATION.labels(model=model).observe(finished_at - started_at)


def snapshot_duration_observe(*, seconds: float) -> None:
    SNAPSHOT_DURATION.observe(seconds)


class RequestMetricsMiddleware(MiddlewareMixin):
    """Observes each request Django answers (edge-cache hits never reach Django, so they are not here)."""

    def process_request(self, request: HttpRequest) -> None:
        request.META[_STARTED] = time.perf_counter()

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        started = request.META.get(_STARTED)
        if isinstance(started, float):
            request_observe(
                method=request.method or "",
                route=_route(request),
                status=response.status_code,
                seconds=time.perf_counter() - started,
            )
        return response


def _route(request: HttpRequest) -> str:
    match = request.resolver_match
    if match is not None:
        return match.view_name
    # Answered before URL resolution: static files (WhiteNoise), a refused host, or no such URL.
    return "static" if request.path_info.startswith(settings.STATIC_URL) else "unmatched"


class _QueueDepths(Collector):
    """`arena_queue_depth{queue}`, read from the broker at scrape time; left out when it cannot be."""

    def __init__(self, queues: Callable[[], Iterable[str]]) -> None:
        self._queues = queues

    def collect(self) -> Iterator[Metric]:
        try:
            lengths = queue_lengths(queues=self._queues())
        except Exception:  # the broker or the model list unreachable: no depth beats a wrong one
            logger.warning("queue depths not read; left out of this scrape", exc_info=True)
            return
        family = GaugeMetricFamily(
            "arena_queue_depth", "Tasks waiting in each queue on the broker.", labels=["queue"]
        )
        for queue, length in lengths.items():
            family.add_metric([queue], length)
        yield family


class _Scrape(Collector):
    def __init__(self, *sources: Collector) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self._sources:
            yield from source.collect()


def metrics_exposition(*, queues: Callable[[], Iterable[str]]) -> bytes:
    """The text exposition: every process's metrics (or this one's), and the queue depths."""
    own: Collector = MultiProcessCollector(None) if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else REGISTRY
    return generate_latest(_Scrape(own, _QueueDepths(queues)))


def _client_local(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _refusal(request: HttpRequest) -> HttpResponse | None:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        detail = "Send the metrics token: Authorization: Bearer <token>."
        refused = JsonResponse({"detail": detail}, status=401)
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    if _client_local(request_client_ip(request=request)):
        return None
    detail = "Metrics are served to this machine only; set METRICS_TOKEN to serve them to others."
    return JsonResponse({"detail": detail}, status=403)


def metrics_view(*, queues: Callable[[], Iterable[str]]) -> Callable[[HttpRequest], HttpResponse]:
    """The /metrics view; `queues`: the queues whose depth to report (the caller knows the models)."""

    @never_cache
    @require_safe
    def metrics(request: HttpRequest) -> HttpResponse:
        refused = _refusal(request)
        if refused is not None:
            return refused
        return HttpResponse(metrics_exposition(queues=queues), content_type=CONTENT_TYPE_PLAIN_0_0_4)

    return metrics
