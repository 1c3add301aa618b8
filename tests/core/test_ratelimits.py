"""Rate limits per client and per address, counted in the real Redis cache: over a limit, 429 with
Retry-After and a sentence; clients behind one address share its limit; an unreachable cache lets
requests through."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from core.errors import TooManyRequests
from core.ratelimits import DEFAULT_RULES, rate_limit_check


@pytest.fixture(autouse=True)
def limits_on(settings):
    settings.ARENA_RATE_LIMITS_ENABLED = True
    settings.ARENA_RATE_LIMITS = {}
    settings.ARENA_TRUSTED_PROXIES = []


def test_the_default_battle_limit_refuses_the_twenty_first_battle_in_a_minute():
    assert DEFAULT_RULES["battle"].client == "20/m"
    for _ in range(20):
        rate_limit_check(scope="battle", client="voter:a", ip="198.51.100.1")
    with pytest.raises(TooManyRequests) as refused:
        rate_limit_check(scope="battle", client="voter:a", ip="198.51.100.1")
    assert refused.value.status_code == 429
    assert 1 <= refused.value.retry_after_s <= 60
    assert refused.value.message.startswith(
        "You have started 20 battles in the last minute, the most allowed"
    )
    assert "try again in" in refused.value.message


def test_separate_clients_behind_one_address_hit_the_address_limit(settings):
    settings.ARENA_RATE_LIMITS = {"battle": ["5/m", "3/m"]}
    for client in ("voter:a", "voter:b", "voter:c"):
        rate_limit_check(scope="battle", client=client, ip="198.51.100.1")
    with pytest.raises(TooManyRequests) as refused:
        rate_limit_check(scope="battle", client="voter:d", ip="198.51.100.1")
    assert refused.value.message.startswith("Your network address has started 3 battles in the last minute")
    # Another address is counted apart.
    rate_limit_check(scope="battle", client="voter:d", ip="198.51.100.2")


def test_each_scope_is_counted_apart(settings):
    settings.ARENA_RATE_LIMITS = {"vote": ["1/m", None], "turn": ["1/m", None]}
    rate_limit_check(scope="vote", client="voter:a", ip="198.51.100.1")
    rate_limit_check(scope="turn", client="voter:a", ip="198.51.100.1")
    with pytest.raises(TooManyRequests, match="You have voted 1 times"):
        rate_limit_check(scope="vote", client="voter:a", ip="198.51.100.1")


def test_limits_turned_off_count_nothing(settings):
    settings.ARENA_RATE_LIMITS = {"battle": ["1/m", "1/m"]}
    settings.ARENA_RATE_LIMITS_ENABLED = False
    for _ in range(3):
        rate_limit_check(scope="battle", client="voter:a", ip="198.51.100.1")


def test_an_unreachable_cache_lets_the_request_through_with_a_warning(settings, caplog):
    settings.ARENA_RATE_LIMITS = {"battle": ["1/m", "1/m"]}
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with caplog.at_level(logging.WARNING, logger="core.ratelimits"):
        for _ in range(3):
            rate_limit_check(scope="battle", client="voter:a", ip="198.51.100.1")
    assert "rate limit let a request through" in caplog.text


@pytest.mark.django_db
def test_the_api_answers_429_per_address_with_retry_after_and_a_sentence(settings):
    settings.ARENA_RATE_LIMITS = {"api": [None, "3/m"]}
    client = Client()
    for _ in range(3):
        assert client.get("/api/v1/session", REMOTE_ADDR="198.51.100.1").status_code == 200
    refused = client.get("/api/v1/session", REMOTE_ADDR="198.51.100.1")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith(
        "Your network address has made 3 API requests in the last minute"
    )
    # A fresh session from the same address is the same address.
    assert Client().get("/api/v1/session", REMOTE_ADDR="198.51.100.1").status_code == 429
    assert Client().get("/api/v1/session", REMOTE_ADDR="198.51.100.2").status_code == 200
    # The pages are not the API's.
    assert client.get("/healthz", REMOTE_ADDR="198.51.100.1").status_code == 200


@pytest.mark.django_db
def test_the_api_limit_counts_the_client_behind_a_trusted_proxy(settings):
    settings.ARENA_RATE_LIMITS = {"api": [None, "2/m"]}
    settings.ARENA_TRUSTED_PROXIES = ["10.0.0.2"]
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    for person in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        for _ in range(2):
            assert proxy.get("/api/v1/session", HTTP_X_FORWARDED_FOR=person).status_code == 200
    assert proxy.get("/api/v1/session", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
    # From an untrusted peer the header changes nothing: the peer is counted.
    direct = Client(REMOTE_ADDR="198.51.100.9")
    for n in range(2):
        assert direct.get("/api/v1/session", HTTP_X_FORWARDED_FOR=f"203.0.113.{10 + n}").status_code == 200
    assert direct.get("/api/v1/session", HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429
