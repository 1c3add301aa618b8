"""Cookie-authenticated API writes must come from a trusted origin, over plain HTTP too (core.origin_check):
the request's `Origin`, or else its `Referer`, is this site or one of CSRF_TRUSTED_ORIGINS. Bearer-token
clients are exempt, and so is a request that carries no session cookie (it has no session to abuse)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from arena.models import Battle, Vote
from core.origin_check import FOREIGN_ORIGIN_DETAIL, NO_ORIGIN_DETAIL
from portal.models import ApiToken
from portal.tokens import token_create
from tests.factories import battle_make, voter_client

pytestmark = pytest.mark.django_db


def _votable(client: Client) -> Battle:
    return battle_make(creator_id=client.session["arena_voter_id"])


def _vote(client: Client, token: str, battle: Battle, **environ: Any):
    """The vote, with these WSGI headers (`HTTP_ORIGIN=None`: no Origin at all; tests/conftest.py)."""
    return client.post(
        f"/api/v1/battles/{battle.pk}/vote",
        data={"winner": "model_a"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
        **environ,
    )


def test_a_session_write_with_neither_origin_nor_referer_is_refused_with_a_sentence() -> None:
    client, token = voter_client()
    battle = _votable(client)

    response = _vote(client, token, battle, HTTP_ORIGIN=None)

    assert response.status_code == 403
    assert response.json() == {"detail": NO_ORIGIN_DETAIL}
    assert not Vote.objects.filter(battle=battle).exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "http://evil.example"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_ORIGIN": "http://testserver.evil.example"},
        # The right host under the wrong scheme is another origin.
        {"HTTP_ORIGIN": "https://testserver"},
        {"HTTP_ORIGIN": None, "HTTP_REFERER": "http://evil.example/page?testserver"},
        {"HTTP_ORIGIN": None, "HTTP_REFERER": "not a url"},
    ],
    ids=["foreign", "null", "lookalike", "other-scheme", "foreign-referer", "garbage-referer"],
)
def test_a_session_write_from_another_origin_is_refused_even_with_a_valid_csrf_token(headers) -> None:
    client, token = voter_client()
    battle = _votable(client)

    response = _vote(client, token, battle, **headers)

    assert response.status_code == 403
    assert response.json()["detail"].startswith(FOREIGN_ORIGIN_DETAIL.split("{")[0])
    assert not Vote.objects.filter(battle=battle).exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "http://testserver"},
        {"HTTP_ORIGIN": None, "HTTP_REFERER": "http://testserver/battles/somewhere/?q=1"},
    ],
    ids=["origin", "referer"],
)
def test_a_session_write_from_this_site_goes_through_over_plain_http(headers) -> None:
    client, token = voter_client()
    battle = _votable(client)

    response = _vote(client, token, battle, **headers)

    assert response.status_code == 200, response.content
    assert Vote.objects.filter(battle=battle).exists()


def test_over_https_the_https_origin_is_the_sites_own() -> None:
    client, token = voter_client()
    battle = _votable(client)
    refused = client.post(
        f"/api/v1/battles/{battle.pk}/vote",
        data={"winner": "model_a"},
        content_type="application/json",
        headers={"X-CSRFToken": token, "Origin": "http://testserver", "Referer": "https://testserver/"},
        secure=True,
    )
    assert refused.status_code == 403  # Origin is read first, and it is another scheme's

    accepted = client.post(
        f"/api/v1/battles/{battle.pk}/vote",
        data={"winner": "model_a"},
        content_type="application/json",
        headers={"X-CSRFToken": token, "Origin": "https://testserver", "Referer": "https://testserver/"},
        secure=True,
    )
    assert accepted.status_code == 200, accepted.content


def test_csrf_trusted_origins_are_trusted_with_their_subdomain_wildcards(settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://arena.example", "https://*.mirror.example"]
    client, token = voter_client()
    for origin, status in (
        ("https://arena.example", 200),
        ("https://eu.mirror.example", 200),
        ("http://eu.mirror.example", 403),
        ("https://arena.example.evil", 403),
    ):
        battle = _votable(client)
        assert _vote(client, token, battle, HTTP_ORIGIN=origin).status_code == status, origin


def test_a_bearer_token_write_needs_no_origin_even_beside_a_session_cookie() -> None:
    user = User.objects.create_user(username="ci", email="ci@example.org", password="a long password")
    _, secret = token_create(user=user, name="ci")
    client = Client()
    client.force_login(user)  # a session cookie too, as a browser that also holds a token would send

    created = client.post(
        "/api/v1/tokens",
        data={"name": "from ci"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
        HTTP_ORIGIN=None,
    )
    assert created.status_code == 201, created.content
    assert ApiToken.objects.filter(user=user, name="from ci").exists()

    # A bad token is the endpoint's to refuse (401), not an origin problem.
    bad = client.post(
        "/api/v1/tokens",
        data={"name": "bad"},
        content_type="application/json",
        headers={"Authorization": "Bearer not-a-token"},
        HTTP_ORIGIN=None,
    )
    assert bad.status_code == 401


def test_the_bearer_exemption_needs_a_bearer_token_not_any_authorization_header() -> None:
    client, token = voter_client()
    battle = _votable(client)
    response = _vote(client, token, battle, HTTP_ORIGIN=None, HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==")
    assert response.status_code == 403 and response.json() == {"detail": NO_ORIGIN_DETAIL}


def test_a_write_without_a_session_cookie_goes_on_to_the_endpoints_own_checks() -> None:
    # No session to abuse: the CSRF check answers (it has no token either), in its own words.
    battle = battle_make()
    response = Client(enforce_csrf_checks=True).post(
        f"/api/v1/battles/{battle.pk}/vote",
        data={"winner": "model_a"},
        content_type="application/json",
        HTTP_ORIGIN=None,
    )
    assert response.status_code == 403
    assert response.json()["detail"] != NO_ORIGIN_DETAIL and "security token" in response.json()["detail"]


def test_reads_and_pages_are_not_checked() -> None:
    client, token = voter_client()
    assert client.get("/api/v1/models", headers={"Origin": "http://evil.example"}).status_code == 200
    # A page's form post keeps Django's own CSRF rules (the token), with or without an Origin.
    form = {"login": "x@example.org", "password": "y", "csrfmiddlewaretoken": token}
    wrong_password = client.post("/accounts/login/", form, HTTP_ORIGIN=None)
    assert wrong_password.status_code == 200 and "not correct" in wrong_password.content.decode()
