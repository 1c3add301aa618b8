"""What the votes export (`/api/v1/battles/export`) leaves out: voters, addresses, hidden battles and
excluded votes, unless staff ask for them by name (`include`); anyone else asking is refused with a 403."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from arena.models import Battle, Exclusion, Vote
from tests.factories import model_make, vote_make

pytestmark = pytest.mark.django_db

PUBLIC_KEYS = {"model_a", "model_b", "winner", "tstamp", "anony", "categories"}


@pytest.fixture
def votes() -> dict[str, Vote]:
    alpha, beta = model_make(slug="alpha"), model_make(slug="beta")
    counted = vote_make(alpha, beta, "model_a", categories=["image"])
    hidden = vote_make(alpha, beta, "model_b")
    Battle.objects.filter(pk=hidden.battle_id).update(hidden_at=timezone.now())
    excluded = vote_make(alpha, beta, "tie")
    Vote.objects.filter(pk=excluded.pk).update(
        is_valid=False, exclusions=[Exclusion.TOO_FAST, Exclusion.DAILY_CAP]
    )
    Vote.objects.filter(pk=counted.pk).update(voter_id="voter-counted", ip_hash="iphash-counted")
    return {"counted": counted, "hidden": hidden, "excluded": excluded}


def _lines(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]


def _signed_in(*, staff: bool = False, moderator: bool = False) -> Client:
    user = User.objects.create_user(
        username=f"user-{staff}-{moderator}", password="x-unused-x", is_staff=staff
    )
    if moderator:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="moderation", codename="act")
        )
    client = Client()
    client.force_login(user)
    return client


def test_the_public_export_has_no_people_no_hidden_battles_and_no_excluded_votes(votes):
    body_lines = _lines(Client().get("/api/v1/battles/export"))

    assert [line["winner"] for line in body_lines] == ["model_a"]
    assert set(body_lines[0]) == PUBLIC_KEYS
    raw = json.dumps(body_lines)
    assert "voter-counted" not in raw and "iphash-counted" not in raw


@pytest.mark.parametrize("include", ["ip_hash", "voter_id", "hidden", "excluded", "voter_id,hidden"])
@pytest.mark.parametrize("who", ["anonymous", "a signed-in user"])
def test_asking_for_more_without_being_staff_is_refused_with_a_sentence(votes, include, who):
    client = Client() if who == "anonymous" else _signed_in()

    response = client.get("/api/v1/battles/export", {"include": include})

    assert response.status_code == 403
    assert "Only staff can ask the export" in response.json()["detail"]


def test_an_unknown_include_is_a_400_naming_what_it_takes(votes):
    response = _signed_in(staff=True).get("/api/v1/battles/export", {"include": "voter_id,password"})

    assert response.status_code == 400
    assert "password" in response.json()["detail"] and "ip_hash" in response.json()["detail"]


@pytest.mark.parametrize("staff", [{"staff": True}, {"moderator": True}])
def test_staff_get_exactly_what_they_ask_for(votes, staff):
    client = _signed_in(**staff)

    people = _lines(client.get("/api/v1/battles/export", {"include": "voter_id,ip_hash"}))
    hidden = _lines(client.get("/api/v1/battles/export", {"include": "hidden"}))
    excluded = _lines(client.get("/api/v1/battles/export", {"include": "excluded"}))
    everything = _lines(client.get("/api/v1/battles/export", {"include": "ip_hash,voter_id,hidden,excluded"}))

    assert [(line["winner"], line["voter_id"], line["ip_hash"]) for line in people] == [
        ("model_a", "voter-counted", "iphash-counted")
    ]
    assert [(line["winner"], line["hidden"]) for line in hidden] == [("model_a", False), ("model_b", True)]
    assert "voter_id" not in hidden[0]
    assert [(line["winner"], line["exclusions"]) for line in excluded] == [
        ("model_a", []),
        ("tie", ["too_fast", "daily_cap"]),
    ]
    assert len(everything) == 3
    assert set(everything[0]) == PUBLIC_KEYS | {"voter_id", "ip_hash", "hidden", "exclusions"}


def test_staffs_export_is_tagged_apart_from_the_public_one_and_not_shared_by_caches(votes):
    client = _signed_in(staff=True)

    public = client.get("/api/v1/battles/export")
    mine = client.get("/api/v1/battles/export", {"include": "voter_id"})
    b"".join(public.streaming_content)
    b"".join(mine.streaming_content)

    assert public["ETag"] != mine["ETag"]
    assert "Cookie" in mine["Vary"]
    # A stranger replaying staff's tag is still refused, not answered 304.
    replay = Client().get(
        "/api/v1/battles/export", {"include": "voter_id"}, headers={"If-None-Match": mine["ETag"]}
    )
    assert replay.status_code == 403
