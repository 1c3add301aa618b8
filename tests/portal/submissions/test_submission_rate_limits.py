"""Submissions' rate limit per user and per address (core.ratelimits), besides the weekly limit: the
API answers 429 with Retry-After, the form page says why with the same status."""

from __future__ import annotations

import pytest

from portal.submissions.models import Submission
from tests.portal.submissions.helpers import client_for, endpoint_body, user_make
from tests.portal.submissions.test_pages import FORM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limits_on(settings):
    settings.ARENA_RATE_LIMITS_ENABLED = True
    settings.ARENA_RATE_LIMITS = {"submission": ["1/h", "10/h"]}


def test_the_api_refuses_a_submission_over_the_hourly_limit_with_retry_after():
    client = client_for(user_make())
    assert (
        client.post("/api/v1/submissions", endpoint_body(), content_type="application/json").status_code
        == 202
    )
    refused = client.post("/api/v1/submissions", endpoint_body(), content_type="application/json")
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith(
        "You have submitted 1 models in the last hour, the most allowed"
    )
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert Submission.objects.count() == 1


def test_the_form_over_the_limit_says_why_with_429_and_retry_after():
    client = client_for(user_make())
    assert client.post("/submit/", FORM).status_code == 302
    refused = client.post("/submit/", {**FORM, "model": "form-vl-8b", "display_name": "Form VL 8B"})
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert "You have submitted 1 models in the last hour" in refused.content.decode()
    assert Submission.objects.count() == 1
