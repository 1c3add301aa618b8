"""Loaded by pytest before Django's settings (addopts `-p tests.env`): test-only environment."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

# Tests use their own Redis databases so a `make run` sharing the same server is not disturbed.
os.environ.setdefault("REDIS_DB_OFFSET", "8")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ARENA_MAX_NEW_TOKENS", "24")
# Debug is off in tests as in production, and the settings then insist on a key.
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-not-for-production")
# One Fernet key for stored API keys in the test process and the stacks it starts (their workers run
# outside pytest, where no development key is derived).
os.environ.setdefault("ARENA_SECRETS_KEYS", "dGVzdHMtb25seS1mZXJuZXQta2V5LW5vdC1mb3ItcHI=")
# Many tests act faster than people do, from one address: the limits are off but in the tests of them
# (tests/core/test_ratelimits.py and the like turn them on), here and in the stacks the tests start.
os.environ.setdefault("ARENA_RATE_LIMITS_ENABLED", "0")
# Tests vote the moment answers finish; the vote-integrity tests set the minimum time themselves.
os.environ.setdefault("ARENA_VOTE_MIN_SECONDS", "0")
# Static files from the finders: the suite runs no collectstatic (one test runs it for the hashed copy).
os.environ.setdefault("DJANGO_STATIC_HASHED", "0")


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None, None, None]:
    """Start the embedded PostgreSQL and Redis (where DATABASE_URL / REDIS_URL are unset) before
    pytest-django loads the settings; the live-stack subprocesses reuse them through the environment."""
    if not {"-h", "--help", "--version", "-V"} & set(args):
        from config.services import services_ensure

        services_ensure()
    return (yield)
