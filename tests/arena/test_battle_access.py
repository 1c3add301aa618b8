"""Who may read a battle (arena.visibility): before the vote its creator's session alone; after the vote
anyone with the link, unless a moderator hid it; staff and moderators always. Anyone else hears what an
unknown battle answers, so holding an id tells nothing. Only the creator acts on a battle."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.routing import URLRouter
from django.contrib.auth.models import AnonymousUser, Permission, User
from django.test import Client
from django.utils import timezone

from arena.media import image_asset_create
from arena.models import Battle, Response, Turn, TurnAttachment, Vote
from arena.routing import websocket_urlpatterns
from tests.factories import battle_make, image_bytes, vote_post, voter_client

pytestmark = pytest.mark.django_db


def _own_battle(client: Client, **fields: Any) -> Battle:
    return battle_make(creator_id=client.session["arena_voter_id"], **fields)


def _read(client: Client, battle: Battle) -> dict[str, Any]:
    response = client.get(f"/api/v1/battles/{battle.pk}")
    assert response.status_code == 200, response.content
    return dict(response.json())


def _unknown(client: Client, path: str) -> tuple[int, Any]:
    """What `path` with a random battle id in place of `{id}` answers: what a refused reader must hear."""
    response = client.get(path.format(id=uuid.uuid4()))
    return response.status_code, response.json()


def _staff_client(*, staff: bool = True, moderator: bool = False) -> Client:
    user = User.objects.create_user(
        username=f"u{uuid.uuid4().hex[:8]}", password="x-unused-x", is_staff=staff
    )
    if moderator:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="moderation", codename="act")
        )
    client = Client()
    client.force_login(user)
    return client


def _voted(owner: Client, token: str, battle: Battle, winner: str = "model_b") -> None:
    assert vote_post(owner, token, battle.pk, winner).status_code == 200


def test_the_creator_may_vote_follow_up_and_abandon_a_finished_battle():
    owner, _ = voter_client()
    battle = _own_battle(owner)

    seen = _read(owner, battle)

    assert seen["state"] == "ready"
    assert (seen["is_creator"], seen["can_vote"], seen["can_follow_up"], seen["can_abandon"]) == (
        True,
        True,
        True,
        True,
    )


@pytest.mark.parametrize("reader", ["another session", "no session"])
def test_before_the_vote_another_reader_hears_what_an_unknown_battle_answers(reader):
    owner, _ = voter_client()
    battle = _own_battle(owner)
    stranger = voter_client()[0] if reader == "another session" else Client()

    response = stranger.get(f"/api/v1/battles/{battle.pk}")

    assert (response.status_code, response.json()) == _unknown(stranger, "/api/v1/battles/{id}")
    assert response.json() == {"detail": "There is no such battle."}
    assert "What is in the picture?" not in response.content.decode()


def test_a_stranger_cannot_vote_follow_up_abandon_or_retry_and_learns_nothing_from_trying():
    owner, _ = voter_client()
    battle = _own_battle(owner)
    stranger, token = voter_client()
    unknown = uuid.uuid4()
    headers = {"X-CSRFToken": token}

    for action, body in (
        ("vote", {"winner": "model_a"}),
        ("turns", None),
        ("abandon", None),
        ("retry", None),
    ):
        if body is None:
            mine = stranger.post(
                f"/api/v1/battles/{battle.pk}/{action}", data={"prompt": "And?"}, headers=headers
            )
            theirs = stranger.post(
                f"/api/v1/battles/{unknown}/{action}", data={"prompt": "And?"}, headers=headers
            )
        else:
            mine = stranger.post(
                f"/api/v1/battles/{battle.pk}/{action}",
                data=body,
                content_type="application/json",
                headers=headers,
            )
            theirs = stranger.post(
                f"/api/v1/battles/{unknown}/{action}",
                data=body,
                content_type="application/json",
                headers=headers,
            )
        assert (mine.status_code, mine.json()) == (404, {"detail": "There is no such battle."}), action
        assert (theirs.status_code, theirs.json()) == (mine.status_code, mine.json()), action

    assert not Vote.objects.exists()
    assert Turn.objects.filter(battle=battle).count() == 1
    assert Battle.objects.count() == 1
    assert Battle.objects.get(pk=battle.pk).abandoned_at is None


def test_after_the_vote_a_shared_link_shows_the_conversation_and_the_reveal_to_anyone():
    owner, token = voter_client()
    battle = _own_battle(owner)
    stranger, stranger_token = voter_client()
    _voted(owner, token, battle)

    for reader in (stranger, Client()):
        seen = _read(reader, battle)
        assert seen["state"] == "voted"
        assert seen["vote"] == {"winner": "model_b"}
        assert seen["models"]["a"]["slug"] == battle.model_a.slug
        assert seen["models"]["b"]["name"] == battle.model_b.display_name
        assert seen["turns"][0]["prompt"] == "What is in the picture?"
        assert (seen["is_creator"], seen["can_vote"], seen["can_follow_up"], seen["can_abandon"]) == (
            False,
            False,
            False,
            False,
        )
    assert _read(owner, battle)["can_abandon"] is False, "a voted battle cannot be abandoned"
    # Now that the stranger may read it, acting on it is refused as not theirs.
    again = vote_post(stranger, stranger_token, battle.pk)
    assert again.status_code in (403, 409) and again.status_code != 404


def test_a_hidden_battle_is_gone_from_its_shared_link_but_its_creator_and_moderators_still_read_it():
    owner, token = voter_client()
    battle = _own_battle(owner)
    _voted(owner, token, battle)
    Battle.objects.filter(pk=battle.pk).update(hidden_at=timezone.now())
    stranger, _ = voter_client()

    refused = stranger.get(f"/api/v1/battles/{battle.pk}")

    assert (refused.status_code, refused.json()) == (404, {"detail": "There is no such battle."})
    assert stranger.get(f"/battles/{battle.pk}/").status_code == 404
    assert _read(owner, battle)["state"] == "voted"
    assert _read(_staff_client(), battle)["state"] == "voted"
    assert _read(_staff_client(staff=False, moderator=True), battle)["state"] == "voted"


def test_staff_and_moderators_read_a_battle_before_its_vote_but_cannot_act_on_it():
    owner, _ = voter_client()
    battle = _own_battle(owner)
    signed_in = User.objects.create_user(username="plain", password="x-unused-x")
    plain = Client()
    plain.force_login(signed_in)

    for reader in (_staff_client(), _staff_client(staff=False, moderator=True)):
        seen = _read(reader, battle)
        assert seen["models"] is None, "no one learns the models before the vote, staff included"
        assert (seen["is_creator"], seen["can_vote"]) == (False, False)
    assert plain.get(f"/api/v1/battles/{battle.pk}").status_code == 404


def test_the_creator_may_abandon_a_battle_still_generating_but_not_vote_on_it():
    owner, _ = voter_client()
    battle = _own_battle(owner, status=Response.Status.STREAMING)

    seen = _read(owner, battle)

    assert seen["state"] == "generating"
    assert (seen["can_vote"], seen["can_follow_up"], seen["can_abandon"]) == (False, False, True)


# ---- The battle's page (its permalink) ----


def test_the_battle_page_answers_its_readers_only_and_is_never_shared_by_a_cache():
    owner, token = voter_client()
    battle = _own_battle(owner)
    stranger, _ = voter_client()
    path = f"/battles/{battle.pk}/"

    mine = owner.get(path)
    before = stranger.get(path)
    unknown = stranger.get(f"/battles/{uuid.uuid4()}/")
    _voted(owner, token, battle)
    after = stranger.get(path)

    assert mine.status_code == 200 and "private" in mine["Cache-Control"]
    assert before.status_code == 404 == unknown.status_code
    assert before.content == unknown.content
    assert after.status_code == 200 and "private" in after["Cache-Control"]
    assert Client().get(path).status_code == 200


# ---- Its images ----


def _battle_with_image(owner: Client) -> tuple[Battle, str]:
    battle = _own_battle(owner)
    asset = image_asset_create(data=image_bytes(size=(40, 30), color="green"))
    TurnAttachment.objects.create(turn=battle.turns.get(), asset=asset)
    url = _read(owner, battle)["turns"][0]["image_url"]
    return battle, url


def test_an_image_is_served_under_a_random_name_to_those_who_may_read_its_battle():
    owner, token = voter_client()
    battle, url = _battle_with_image(owner)
    link = TurnAttachment.objects.get(turn__battle=battle)
    stranger, _ = voter_client()

    mine = owner.get(url)
    before = stranger.get(url)
    unknown = stranger.get(f"/api/v1/attachments/{uuid.uuid4()}")
    _voted(owner, token, battle)
    after = Client().get(url)

    assert url == f"/api/v1/attachments/{link.public_id}"
    assert link.asset.sha256 not in url
    assert mine.status_code == 200 and mine["Content-Type"] == "image/png"
    assert mine["Cache-Control"].startswith("private")
    assert (before.status_code, before.json()) == (404, {"detail": "There is no such image."})
    assert (unknown.status_code, unknown.json()) == (before.status_code, before.json())
    assert after.status_code == 200 and after.content == mine.content
    assert after["Cache-Control"].startswith("private")


def test_a_hidden_battles_image_is_served_to_no_one_else_and_the_content_hash_names_nothing():
    owner, token = voter_client()
    battle, url = _battle_with_image(owner)
    sha256 = TurnAttachment.objects.get(turn__battle=battle).asset.sha256
    _voted(owner, token, battle)
    Battle.objects.filter(pk=battle.pk).update(hidden_at=timezone.now())

    assert Client().get(url).status_code == 404
    assert owner.get(url).status_code == 200
    assert _staff_client().get(url).status_code == 200
    # The content hash is no address: holding a picture tells nothing about whether anyone uploaded it.
    assert Client().get(f"/api/v1/images/{sha256}").status_code == 404
    assert Client().get(f"/api/v1/attachments/{sha256}").json() == {"detail": "There is no such image."}
    assert Client().get("/api/v1/attachments/not-a-name").status_code == 404


# ---- Its stream ----


async def _socket_opens(battle: Battle, scope_extra: dict[str, Any]) -> bool:
    """Whether the battle's socket accepts a connection with this session and user in its scope (what
    Channels' AuthMiddlewareStack puts there)."""
    scope = {
        "type": "websocket",
        "path": f"/ws/battles/{battle.pk}/",
        "headers": [],
        "query_string": b"",
        **scope_extra,
    }
    app = ApplicationCommunicator(URLRouter(websocket_urlpatterns), scope)
    await app.send_input({"type": "websocket.connect"})
    first = await app.receive_output(timeout=5)
    if first["type"] == "websocket.accept":
        await app.send_input({"type": "websocket.disconnect", "code": 1000})
        with contextlib.suppress(Exception):
            await app.wait(timeout=1)
        return True
    assert first["type"] == "websocket.close"
    return False


@pytest.mark.django_db(transaction=True)
def test_the_stream_opens_to_its_readers_only():
    battle = battle_make(creator_id="creator-voter")
    staff = User.objects.create_user(username="staffer", password="x-unused-x", is_staff=True)
    nobody = {"session": {}, "user": AnonymousUser()}

    def opens(scope_extra: dict[str, Any]) -> bool:
        return asyncio.run(_socket_opens(battle, scope_extra))

    assert opens({"session": {"arena_voter_id": "creator-voter"}, "user": AnonymousUser()})
    assert not opens({"session": {"arena_voter_id": "someone-else"}, "user": AnonymousUser()})
    assert not opens(nobody)
    assert not opens({}), "a scope without a session is nobody's"
    assert opens({"session": {}, "user": staff})
    Vote.objects.create(battle=battle, winner="tie", voter_id="creator-voter")
    assert opens(nobody), "shared once voted"
    Battle.objects.filter(pk=battle.pk).update(hidden_at=timezone.now())
    assert not opens(nobody), "hidden by a moderator"
