"""allauth's own rate limits on the account forms (ACCOUNT_RATE_LIMITS), counted per address in the cache:
past the sign-up limit the form answers 429 with the site's page, however the attempts went. (The
failed sign-in limit is proven in tests/portal/test_accounts.py.)"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db


def test_sign_ups_from_one_address_are_limited_with_a_429_page(settings) -> None:
    per_minute = int(settings.ACCOUNT_RATE_LIMITS["signup"].split(",")[0].split("/")[0])
    client = Client()
    for n in range(per_minute):
        # Refused forms count as much as accepted ones: a script cannot probe for free.
        attempt = client.post(
            "/accounts/signup/", {"email": f"bot{n}@example.org", "password1": "x", "password2": "y"}
        )
        assert attempt.status_code == 200, n

    refused = client.post(
        "/accounts/signup/",
        {
            "email": "late@example.org",
            "password1": "violet kettle orbit 42",
            "password2": "violet kettle orbit 42",
        },
    )

    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many attempts" in page and 'class="site-header"' in page
    assert not User.objects.filter(email="late@example.org").exists()
    # Reading the form is not an attempt.
    assert client.get("/accounts/signup/").status_code == 200
