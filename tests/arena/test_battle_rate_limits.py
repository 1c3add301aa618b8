"""The arena's rate limits at its endpoints: battles, follow-up turns and votes per session and per
address; over a limit, 429 with Retry-After and a sentence, and nothing done."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from arena.models import Battle, Vote
from tests.factories import battle_make, model_make, vote_post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limits_on(settings):
    settings.ARENA_RATE_LIMITS_ENABLED = True
    settings.ARENA_TRUSTED_PROXIES = []
    model_make()
    model_make()


def _voter(address: str = "198.51.100.1", *, forwarded_for: str = "") -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=address)
    if forwarded_for:
        client.defaults["HTTP_X_FORWARDED_FOR"] = forwarded_for
    token = client.get("/api/v1/session").json()["csrf_token"]
    return client, token


def _battle_post(client: Client, token: str, **headers: str) -> Any:
    return client.post(
        "/api/v1/battles", data={"prompt": "Hello?"}, headers={"X-CSRFToken": token, **headers}
    )


def test_a_session_over_the_battle_limit_is_refused_with_retry_after_and_a_sentence(settings):
    settings.ARENA_RATE_LIMITS = {"battle": ["2/m", "10/m"]}
    client, token = _voter()
    assert [_battle_post(client, token).status_code for _ in range(2)] == [201, 201]

    refused = _battle_post(client, token)

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith(
        "You have started 2 battles in the last minute, the most allowed"
    )
    assert Battle.objects.count() == 2, "a refused battle is not started"


def test_sessions_behind_one_address_share_its_battle_limit(settings):
    settings.ARENA_RATE_LIMITS = {"battle": ["2/m", "3/m"]}
    first, first_token = _voter()
    second, second_token = _voter()
    assert [_battle_post(first, first_token).status_code for _ in range(2)] == [201, 201]
    assert _battle_post(second, second_token).status_code == 201

    refused = _battle_post(second, second_token)

    assert refused.status_code == 429
    assert "network address" in refused.json()["detail"]
    elsewhere, elsewhere_token = _voter("198.51.100.2")
    assert _battle_post(elsewhere, elsewhere_token).status_code == 201


def test_a_spoofed_forwarded_for_does_not_escape_the_address_limit(settings):
    settings.ARENA_RATE_LIMITS = {"battle": ["10/m", "2/m"]}
    codes = []
    for n in range(3):
        client, token = _voter()
        codes.append(_battle_post(client, token, **{"X-Forwarded-For": f"203.0.113.{n}"}).status_code)
    assert codes == [201, 201, 429]


def test_people_behind_a_trusted_proxy_are_counted_apart(settings):
    settings.ARENA_RATE_LIMITS = {"battle": ["10/m", "1/m"]}
    settings.ARENA_TRUSTED_PROXIES = ["10.0.0.0/8"]
    for n in range(3):
        client, token = _voter("10.0.0.2", forwarded_for=f"203.0.113.{n}")
        assert _battle_post(client, token).status_code == 201
    again, again_token = _voter("10.0.0.2", forwarded_for="203.0.113.0")
    assert _battle_post(again, again_token).status_code == 429


def test_follow_up_turns_over_the_limit_are_refused(settings):
    settings.ARENA_MAX_TURNS = 10
    settings.ARENA_RATE_LIMITS = {"turn": ["1/m", "10/m"]}
    client, token = _voter()
    battle = battle_make(creator_id=client.session["arena_voter_id"])

    def follow_up() -> Any:
        return client.post(
            f"/api/v1/battles/{battle.pk}/turns", data={"prompt": "And then?"}, headers={"X-CSRFToken": token}
        )

    assert follow_up().status_code == 201
    refused = follow_up()
    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("You have asked 1 follow-up questions in the last minute")
    assert int(refused["Retry-After"]) >= 1


def test_votes_over_the_limit_are_refused_and_not_counted(settings):
    settings.ARENA_RATE_LIMITS = {"vote": ["2/m", "10/m"]}
    client, token = _voter()
    voter_id = client.session["arena_voter_id"]
    battles = [battle_make(creator_id=voter_id) for _ in range(3)]

    codes = [vote_post(client, token, battle.pk).status_code for battle in battles]

    assert codes == [200, 200, 429]
    assert set(Vote.objects.values_list("battle", flat=True)) == {battle.pk for battle in battles[:2]}
