"""Rate limits per client and per address (README "Rate limits and client addresses").

Each scope (an action people repeat) has a rate per client (the session's voter id, or the signed-in
user) and a rate per address (core.client_ip): separate sessions from one address share the second.
django-ratelimit counts them in the default cache (Redis), so every process shares the counts; fixed
windows, so a refusal names when the window ends (Retry-After). A cache that does not answer lets
the request through, logged: a broken limit costs less than a site that refuses everyone.

ARENA_RATE_LIMITS (settings) overrides the rates below; ARENA_RATE_LIMITS_ENABLED turns all off.
Sign-in attempts (allauth's ACCOUNT_RATE_LIMITS) and submissions per week (portal.submissions.rules)
have their own limits besides these.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Final

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin
from django_ratelimit.core import get_usage

from core.client_ip import request_client_ip
from core.errors import TooManyRequests

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    client: str | None  # django-ratelimit's rate ("20/m"), or None: not limited per client
    ip: str | None  # the same, per address
    done: str  # what was done that many times, for the sentence: "started {n} battles"


DEFAULT_RULES: Final[dict[str, Rule]] = {
    # A battle costs two models' answers: the dearest thing a visitor can ask for.
    "battle": Rule(client="20/m", ip="60/m", done="started {n} battles"),
    "turn": Rule(client="30/m", ip="90/m", done="asked {n} follow-up questions"),
    "vote": Rule(client="30/m", ip="90/m", done="voted {n} times"),
    "submission": Rule(client="10/h", ip="30/h", done="submitted {n} models"),
    # Reports reach a person (a moderator's queue): a few an hour are plenty for anyone honest.
    "report": Rule(client="10/h", ip="30/h", done="reported {n} battles"),
    # Every request to /api/: generous, against a flood from one address rather than a person.
    "api": Rule(client=None, ip="600/m", done="made {n} API requests"),
}

# While the cache is down every check fails: one traceback in a while, one line for the rest.
_TRACEBACK_EVERY_S: Final = 30.0
_traceback_at = 0.0


def rule_get(*, scope: str) -> Rule:
    """The scope's rule: the default, with ARENA_RATE_LIMITS's rates where it names the scope."""
    rule = DEFAULT_RULES[scope]
    override = settings.ARENA_RATE_LIMITS.get(scope)
    if override is None:
        return rule
    client, ip = override
    return Rule(client=client, ip=ip, done=rule.done)


def _period_words(rate: str) -> str:
    period = rate.partition("/")[2]
    multiple = period.rstrip("smhd")
    unit = {"s": "second", "m": "minute", "h": "hour", "d": "day"}[period[-1]]
    if multiple and multiple != "1":
        return f"the last {multiple} {unit}s"
    return f"the last {unit}"


def _count(*, scope: str, kind: str, value: str, rate: str) -> tuple[bool, int]:
    """Count one more under `value`; (over the limit, seconds until the window ends). A cache that
    does not answer counts as under it."""
    global _traceback_at
    request = HttpRequest()  # django-ratelimit wants one; the key below is all it reads
    try:
        usage = get_usage(
            request,
            group=f"arena:{scope}:{kind}",
            key=lambda _group, _request: value,
            rate=rate,
            increment=True,
        )
    except Exception:
        now = time.monotonic()
        with_traceback = now - _traceback_at >= _TRACEBACK_EVERY_S
        if with_traceback:
            _traceback_at = now
        logger.warning(
            "the cache did not answer; the %s rate limit let a request through",
            scope,
            exc_info=with_traceback,
        )
        return False, 0
    if usage is None:  # limits off, or the count was not stored (fail open)
        return False, 0
    return bool(usage["should_limit"]), max(1, int(usage["time_left"]))


def rate_limit_check(*, scope: str, client: str | None, ip: str) -> None:
    """Count one `scope` action by `client` from `ip`; TooManyRequests when either is over its limit.

    Both counts go up even when one refuses, so that a client cannot spread its requests over two
    counters. Addresses are hashed into the cache's keys (django-ratelimit), never kept as they are.
    """
    if not settings.ARENA_RATE_LIMITS_ENABLED:
        return
    rule = rule_get(scope=scope)
    refusals: list[tuple[int, str]] = []
    if rule.client is not None and client:
        over, wait_s = _count(scope=scope, kind="client", value=client, rate=rule.client)
        if over:
            limit = int(rule.client.partition("/")[0])
            refusals.append(
                (
                    wait_s,
                    f"You have {rule.done.format(n=limit)} in {_period_words(rule.client)}, the most allowed",
                )
            )
    if rule.ip is not None and ip:
        over, wait_s = _count(scope=scope, kind="ip", value=_ip_key(ip), rate=rule.ip)
        if over:
            limit = int(rule.ip.partition("/")[0])
            refusals.append(
                (
                    wait_s,
                    f"Your network address has {rule.done.format(n=limit)} in {_period_words(rule.ip)}, "
                    "the most allowed from one address",
                )
            )
    if refusals:
        wait_s, sentence = max(refusals)
        raise TooManyRequests(f"{sentence}; try again in {_seconds_words(wait_s)}.", retry_after_s=wait_s)


def _ip_key(ip: str) -> str:
    # Addresses stay out of the cache even as key material (django-ratelimit hashes it, but unsalted).
    return hashlib.sha256(f"{settings.ARENA_IP_HASH_SALT}:{ip}".encode()).hexdigest()


def _seconds_words(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{(minutes + 59) // 60} hours"


def request_rate_limit_check(*, request: HttpRequest, scope: str, client: str | None) -> None:
    """rate_limit_check for a Django request: the client's address from core.client_ip."""
    rate_limit_check(scope=scope, client=client, ip=request_client_ip(request=request))


def too_many_requests_response(error: TooManyRequests) -> HttpResponse:
    """The 429 answer, as the API answers every error: {"detail": "<sentence>"} and Retry-After."""
    response = JsonResponse({"detail": error.message}, status=429)
    response["Retry-After"] = str(error.retry_after_s)
    return response


class ApiRateLimitMiddleware(MiddlewareMixin):
    """The "api" scope, per address, for every request under /api/ (before any view runs)."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        try:
            rate_limit_check(scope="api", client=None, ip=request_client_ip(request=request))
        except TooManyRequests as error:
            return too_many_requests_response(error)
        return None
