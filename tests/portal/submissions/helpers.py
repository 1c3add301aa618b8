"""Submitters, staff and submission bodies for the submission tests."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

_numbers = itertools.count(1)

CARD = (
    "A small vision-language model for tests. It was trained on nothing at all: its weights are random, "
    "built at run time from a fixed seed. It is for checking that the portal takes a model from the form "
    "to the arena, and for nothing else."
)


def user_make(*, staff: bool = False) -> User:
    n = next(_numbers)
    return User.objects.create_user(
        username=f"user{n}", email=f"user{n}@example.org", password="a long test password", is_staff=staff
    )


def endpoint_body(**changes: Any) -> dict[str, Any]:
    n = next(_numbers)
    return {
        "kind": "endpoint",
        "display_name": f"Test Endpoint {n}",
        "organization": "Test Lab",
        "license": "apache-2.0",
        "description": CARD,
        "base_url": "https://models.example.org/v1",
        "model": f"test-model-{n}",
        "api_key": "",
        **changes,
    }


def checkpoint_body(*, source: str, **changes: Any) -> dict[str, Any]:
    n = next(_numbers)
    return {
        "kind": "checkpoint",
        "display_name": f"Test Checkpoint {n}",
        "organization": "Test Lab",
        "license": "apache-2.0",
        "description": CARD,
        "source": source,
        "revision": "",
        "dtype": "float32",
        **changes,
    }


def client_for(user: User) -> Client:
    """A test client signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client
