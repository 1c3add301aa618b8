"""The battle page's report button: POST /api/v1/battles/{id}/report, and the queue it fills."""

from __future__ import annotations

import pytest
from django.test import Client

from arena.models import Report
from core.ratelimits import DEFAULT_RULES
from tests.factories import battle_make, vote_post, voter_client
from tests.moderation.helpers import user_make

pytestmark = pytest.mark.django_db


def _report(client: Client, token: str, battle_id: object, **body: str):
    return client.post(
        f"/api/v1/battles/{battle_id}/report",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )


def _own_battle(client: Client):
    return battle_make(creator_id=client.session["arena_voter_id"])


def test_the_creator_reports_a_battle_and_it_reaches_the_moderators_queue(settings):
    client, token = voter_client()
    battle = _own_battle(client)
    response = _report(client, token, battle.pk, reason="personal_data", details="My address is in it")
    assert response.status_code == 201, response.content
    assert "moderators" in response.json()["detail"]
    report = Report.objects.get()
    assert (report.battle_id, report.reason, report.details) == (
        battle.pk,
        "personal_data",
        "My address is in it",
    )
    assert report.reporter_id == client.session["arena_voter_id"]

    console = Client()
    console.force_login(user_make(role="moderator"))
    assert b"My address is in it" in console.get("/moderation/reports/").content


def test_a_report_with_an_unknown_reason_is_refused_with_a_sentence():
    client, token = voter_client()
    battle = _own_battle(client)
    response = _report(client, token, battle.pk, reason="boring")
    assert response.status_code == 400
    assert "The reason must be one of" in response.json()["detail"]
    too_long = _report(client, token, battle.pk, reason="other", details="x" * 2001)
    assert too_long.status_code == 400 and "limit is 2,000" in too_long.json()["detail"]
    assert not Report.objects.exists()


def test_one_open_report_per_reporter_and_battle():
    client, token = voter_client()
    battle = _own_battle(client)
    assert _report(client, token, battle.pk, reason="harmful").status_code == 201
    again = _report(client, token, battle.pk, reason="other")
    assert again.status_code == 409 and "already reported" in again.json()["detail"]
    assert Report.objects.count() == 1


def test_someone_who_cannot_see_the_battle_hears_it_does_not_exist(settings):
    settings.ARENA_VOTE_MIN_SECONDS = 0
    creator, creator_token = voter_client()
    battle = _own_battle(creator)
    stranger, token = voter_client()
    before_vote = _report(stranger, token, battle.pk, reason="harmful")
    assert before_vote.status_code == 404 and before_vote.json()["detail"] == "There is no such battle."

    # Once voted on, the battle is shared: anyone with the link may report it.
    assert vote_post(creator, creator_token, battle.pk).status_code == 200
    assert _report(stranger, token, battle.pk, reason="harmful").status_code == 201


def test_a_report_needs_the_sessions_csrf_token():
    client, _ = voter_client()
    battle = _own_battle(client)
    assert _report(client, "wrong", battle.pk, reason="harmful").status_code == 403
    assert not Report.objects.exists()


def test_reports_are_rate_limited_per_client_and_per_address(settings):
    assert DEFAULT_RULES["report"].client and DEFAULT_RULES["report"].ip
    settings.ARENA_RATE_LIMITS_ENABLED = True
    settings.ARENA_RATE_LIMITS = {"report": ["2/h", "100/h"]}
    client, token = voter_client()
    battles = [_own_battle(client) for _ in range(3)]
    assert [_report(client, token, b.pk, reason="other").status_code for b in battles[:2]] == [201, 201]
    refused = _report(client, token, battles[2].pk, reason="other")
    assert refused.status_code == 429
    assert "reported 2 battles" in refused.json()["detail"] and int(refused["Retry-After"]) > 0
