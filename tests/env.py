"""Loaded by pytest before Django's settings (addopts `-p tests.env`): test-only environment."""

import os

# Tests use their own Redis databases so a `make run` sharing the same server is not disturbed.
os.environ.setdefault("REDIS_DB_OFFSET", "8")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ARENA_MAX_NEW_TOKENS", "24")
