"""Who may do what with a battle: anyone with its link reads it, only its creator acts on it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from arena.models import Battle, Response, Turn, Vote
from tests.factories import battle_make, vote_post, voter_client

pytestmark = pytest.mark.django_db


def _own_battle(client: Client, **fields: Any) -> Battle:
    return battle_make(creator_id=client.session["arena_voter_id"], **fields)


def _read(client: Client, battle: Battle) -> dict[str, Any]:
    response = client.get(f"/api/v1/battles/{battle.pk}")
    assert response.status_code == 200, response.content
    return dict(response.json())


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


def test_another_session_reads_the_battle_but_may_do_nothing_with_it():
    owner, _ = voter_client()
    battle = _own_battle(owner)
    stranger, _ = voter_client()

    seen = _read(stranger, battle)

    assert seen["state"] == "ready"
    assert seen["turns"] == _read(owner, battle)["turns"]
    assert (seen["is_creator"], seen["can_vote"], seen["can_follow_up"], seen["can_abandon"]) == (
        False,
        False,
        False,
        False,
    )


def test_a_visitor_without_any_session_reads_a_shared_link():
    owner, _ = voter_client()
    battle = _own_battle(owner)

    seen = _read(Client(), battle)

    assert seen["is_creator"] is False and seen["can_vote"] is False
    assert seen["turns"][0]["responses"]["a"]["text"] == "answer a"


def test_no_reader_learns_the_models_before_the_vote():
    owner, _ = voter_client()
    battle = _own_battle(owner)
    stranger, _ = voter_client()

    for client in (owner, stranger):
        body = client.get(f"/api/v1/battles/{battle.pk}").content.decode()
        assert '"models": null' in body
        for model in (battle.model_a, battle.model_b):
            assert (
                model.slug not in body and model.display_name not in body and model.organization not in body
            )


def test_a_stranger_cannot_vote_or_ask_a_follow_up():
    owner, _ = voter_client()
    battle = _own_battle(owner)
    stranger, token = voter_client()

    vote = vote_post(stranger, token, battle.pk)
    follow_up = stranger.post(
        f"/api/v1/battles/{battle.pk}/turns", data={"prompt": "And then?"}, headers={"X-CSRFToken": token}
    )

    assert vote.status_code == 403 and "started this battle" in vote.json()["detail"]
    assert follow_up.status_code == 403 and "started this battle" in follow_up.json()["detail"]
    assert not Vote.objects.exists()
    assert Turn.objects.filter(battle=battle).count() == 1


def test_after_the_vote_a_shared_link_shows_the_conversation_and_the_reveal_to_anyone():
    owner, token = voter_client()
    battle = _own_battle(owner)
    stranger, _ = voter_client()
    assert vote_post(owner, token, battle.pk, "model_b").status_code == 200

    seen = _read(stranger, battle)

    assert seen["state"] == "voted"
    assert seen["vote"] == {"winner": "model_b"}
    assert seen["models"]["a"]["slug"] == battle.model_a.slug
    assert seen["models"]["b"]["name"] == battle.model_b.display_name
    assert seen["turns"][0]["prompt"] == "What is in the picture?"
    assert seen["can_abandon"] is False
    assert _read(owner, battle)["can_abandon"] is False, "a voted battle cannot be abandoned"


def test_the_creator_may_abandon_a_battle_still_generating_but_not_vote_on_it():
    owner, _ = voter_client()
    battle = _own_battle(owner, status=Response.Status.STREAMING)

    seen = _read(owner, battle)

    assert seen["state"] == "generating"
    assert (seen["can_vote"], seen["can_follow_up"], seen["can_abandon"]) == (False, False, True)
