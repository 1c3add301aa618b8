"""Personal API tokens: the services, the REST endpoints (bearer or session) and the tokens page."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from core.errors import Conflict, InvalidInput, NotFound
from portal.models import ApiToken
from portal.tokens import TOKENS_MAX_ACTIVE, token_authenticate, token_create, token_revoke, tokens_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada() -> User:
    return User.objects.create_user(username="ada", email="ada@example.org", password="x-unused-x")


@pytest.fixture
def bob() -> User:
    return User.objects.create_user(username="bob", email="bob@example.org", password="x-unused-x")


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _strict_client() -> Client:
    """A client that, like a browser, gets no pass on CSRF (Django's test Client skips it by default)."""
    return Client(enforce_csrf_checks=True)


def _post_json(client: Client, path: str, body: object, **headers: str):
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


# ---------- services ----------


def test_secret_is_stored_only_as_its_sha256(ada: User) -> None:
    token, secret = token_create(user=ada, name="nightly CI")

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM portal_apitoken WHERE id = %s", [token.pk])
        row = cursor.fetchone()
    assert not any(secret in str(value) for value in row)
    assert ApiToken.objects.get(pk=token.pk).hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(token.prefix) and len(token.prefix) < len(secret) // 3


def test_token_authenticate_knows_the_owner_and_records_the_use(ada: User) -> None:
    token, secret = token_create(user=ada, name="laptop")

    assert token_authenticate(secret=secret) == ada
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    assert token_authenticate(secret=secret + "x") is None
    assert token_authenticate(secret="not-a-token") is None


def test_tokens_of_lists_the_users_active_tokens_only(ada: User, bob: User) -> None:
    kept, _ = token_create(user=ada, name="kept")
    gone, _ = token_create(user=ada, name="gone")
    token_create(user=bob, name="bob's")
    token_revoke(user=ada, token_id=gone.pk)

    assert list(tokens_of(user=ada)) == [kept]


def test_another_users_token_cannot_be_revoked(ada: User, bob: User) -> None:
    token, secret = token_create(user=ada, name="ada's")

    with pytest.raises(NotFound):
        token_revoke(user=bob, token_id=token.pk)
    assert token_authenticate(secret=secret) == ada


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "bad\x00name", "zero\u200bwidth"])
def test_a_token_needs_a_printable_name_of_at_most_100_characters(ada: User, name: str) -> None:
    with pytest.raises(InvalidInput):
        token_create(user=ada, name=name)


def test_active_tokens_are_capped_and_revoking_one_makes_room(ada: User) -> None:
    made = [token_create(user=ada, name=f"t{number}")[0] for number in range(TOKENS_MAX_ACTIVE)]

    with pytest.raises(Conflict, match="revoke one"):
        token_create(user=ada, name="one too many")
    token_revoke(user=ada, token_id=made[0].pk)
    token_create(user=ada, name="fits now")


# ---------- REST API ----------


def test_bearer_token_creates_lists_and_revokes_without_csrf(ada: User) -> None:
    _, secret = token_create(user=ada, name="first")
    client = _strict_client()

    created = _post_json(client, "/api/v1/tokens", {"name": "from CI"}, **_bearer(secret))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith(body["prefix"]) and created["Cache-Control"] == "no-store"

    listed = client.get("/api/v1/tokens", headers=_bearer(body["secret"])).json()
    assert {token["name"] for token in listed} == {"first", "from CI"}
    assert all("secret" not in token and "hash" not in token for token in listed)

    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=_bearer(secret)).status_code == 204
    assert [token["name"] for token in client.get("/api/v1/tokens", headers=_bearer(secret)).json()] == [
        "first"
    ]


def test_session_write_without_csrf_token_is_refused_and_with_it_accepted(ada: User) -> None:
    client = _strict_client()
    client.force_login(ada)

    refused = _post_json(client, "/api/v1/tokens", {"name": "no csrf"})
    assert refused.status_code == 403 and "security token" in refused.json()["detail"]

    csrf = client.get("/api/v1/session").json()["csrf_token"]
    accepted = _post_json(client, "/api/v1/tokens", {"name": "with csrf"}, **{"X-CSRFToken": csrf})
    assert accepted.status_code == 201
    assert [token.name for token in tokens_of(user=ada)] == ["with csrf"]


def test_session_reads_its_tokens_through_the_api(ada: User) -> None:
    token_create(user=ada, name="mine")
    client = Client()
    client.force_login(ada)

    assert [token["name"] for token in client.get("/api/v1/tokens").json()] == ["mine"]


def test_revoked_token_is_refused_with_401_and_a_sentence(ada: User) -> None:
    token, secret = token_create(user=ada, name="old")
    token_revoke(user=ada, token_id=token.pk)

    response = Client().get("/api/v1/tokens", headers=_bearer(secret))

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic YWRhOnNlY3JldA==",
        "Bearer ahp_unknown",
        "Bearer not-even-ours",
        "Bearer " + "ahp_" + "x" * 5000,
        "bearer ahp_\u00e9\u00e8",
    ],
)
def test_malformed_or_unknown_token_is_a_401_with_a_sentence(header: str) -> None:
    response = Client().post(
        "/api/v1/tokens",
        json.dumps({"name": "x"}),
        content_type="application/json",
        headers={"Authorization": header},
    )

    assert response.status_code == 401
    assert response.json()["detail"].endswith(".")


def test_a_bad_token_is_refused_even_with_a_signed_in_session(ada: User) -> None:
    client = Client()
    client.force_login(ada)

    response = client.get("/api/v1/tokens", headers=_bearer("ahp_wrong"))

    assert response.status_code == 401


def test_anonymous_api_call_is_told_how_to_authenticate() -> None:
    response = Client().get("/api/v1/tokens")

    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]


def test_api_refuses_bad_input_with_4xx(ada: User) -> None:
    _, secret = token_create(user=ada, name="ci")
    client = Client()

    assert _post_json(client, "/api/v1/tokens", {"name": ""}, **_bearer(secret)).status_code == 400
    assert _post_json(client, "/api/v1/tokens", {}, **_bearer(secret)).status_code == 422
    for token_id in ("0", str(2**70), "abc"):
        assert client.delete(f"/api/v1/tokens/{token_id}", headers=_bearer(secret)).status_code in (404, 422)


# ---------- the page ----------


def test_tokens_page_sends_anonymous_visitors_to_sign_in() -> None:
    response = Client().get("/account/tokens/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/account/tokens/"


def test_tokens_page_shows_the_secret_once_and_revokes(ada: User) -> None:
    client = Client()
    client.force_login(ada)

    created = client.post("/account/tokens/", {"name": "deploy script"})
    assert created.status_code == 200 and "no-store" in created["Cache-Control"]
    token = ApiToken.objects.get(user=ada)
    shown = re.search(r'class="token-secret"[^>]*>([^<]+)<', created.content.decode())
    assert shown is not None
    secret = shown.group(1)
    assert token_authenticate(secret=secret) == ada

    listing = client.get("/account/tokens/").content.decode()
    assert "deploy script" in listing and token.prefix in listing and secret not in listing

    revoked = client.post(f"/account/tokens/{token.pk}/revoke/", follow=True)
    assert "is revoked" in revoked.content.decode()
    assert token_authenticate(secret=secret) is None


def test_tokens_page_says_what_is_wrong_with_a_name(ada: User) -> None:
    client = Client()
    client.force_login(ada)

    response = client.post("/account/tokens/", {"name": "   "})

    assert response.status_code == 400
    assert "Give the token a name" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_tokens_page_revoke_needs_the_csrf_token(ada: User) -> None:
    token, secret = token_create(user=ada, name="kept")
    client = _strict_client()
    client.force_login(ada)

    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 403
    assert token_authenticate(secret=secret) == ada
