import pytest
from django.test import Client

from arena.models import Response, Vote
from leaderboard.models import OnlineRating
from tests.factories import battle_make, vote_post, voter_client

pytestmark = pytest.mark.django_db


def _own_battle(client: Client, **fields):
    return battle_make(creator_id=client.session["arena_voter_id"], **fields)


def test_vote_reveals_models_and_moves_online_elo():
    client, token = voter_client()
    battle = _own_battle(client)
    response = vote_post(client, token, battle.pk, "model_a")
    assert response.status_code == 200
    body = response.json()
    assert body["model_a"]["slug"] == battle.model_a.slug
    assert body["model_b"]["name"] == battle.model_b.display_name
    assert body["elo"]["model_a"] == {"before": 1000.0, "after": 1002.0}
    assert body["elo"]["model_b"] == {"before": 1000.0, "after": 998.0}
    assert OnlineRating.objects.get(model=battle.model_a).rating == pytest.approx(1002.0)
    assert OnlineRating.objects.get(model=battle.model_b).battles == 1


def test_tie_moves_nothing_between_equals():
    client, token = voter_client()
    battle = _own_battle(client)
    body = vote_post(client, token, battle.pk, "tie (bothbad)").json()
    assert body["elo"]["model_a"]["after"] == pytest.approx(1000.0)


def test_second_vote_is_a_409_and_changes_nothing():
    client, token = voter_client()
    battle = _own_battle(client)
    assert vote_post(client, token, battle.pk, "model_a").status_code == 200
    again = vote_post(client, token, battle.pk, "model_b")
    assert again.status_code == 409
    assert "already has a vote" in again.json()["detail"]
    assert Vote.objects.get(battle=battle).winner == "model_a"
    assert OnlineRating.objects.get(model=battle.model_a).battles == 1


def test_vote_before_both_answers_finish_is_a_409():
    client, token = voter_client()
    battle = _own_battle(client)
    Response.objects.filter(turn__battle=battle, side="b").update(status=Response.Status.STREAMING)
    response = vote_post(client, token, battle.pk)
    assert response.status_code == 409
    assert "both answers have finished" in response.json()["detail"]
    assert not Vote.objects.exists()


def test_vote_on_a_failed_side_is_refused():
    client, token = voter_client()
    battle = _own_battle(client)
    Response.objects.filter(turn__battle=battle, side="a").update(status=Response.Status.FAILED)
    response = vote_post(client, token, battle.pk)
    assert response.status_code == 409
    assert "Retry with a new pair" in response.json()["detail"]


def test_only_the_creator_may_vote_and_a_stranger_hears_no_such_battle():
    owner, _ = voter_client()
    battle = _own_battle(owner)
    stranger, token = voter_client()
    response = vote_post(stranger, token, battle.pk)
    assert (response.status_code, response.json()) == (404, {"detail": "There is no such battle."})
    assert not Vote.objects.exists()


def test_unknown_winner_is_a_readable_422():
    client, token = voter_client()
    battle = _own_battle(client)
    response = vote_post(client, token, battle.pk, "model_c")
    assert response.status_code == 422
    assert "winner" in response.json()["detail"]


def test_vote_without_csrf_token_is_refused():
    client, _ = voter_client()
    battle = _own_battle(client)
    response = client.post(
        f"/api/v1/battles/{battle.pk}/vote", data={"winner": "tie"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "/api/v1/session" in response.json()["detail"]


def test_vote_on_unknown_battle_is_404():
    client, token = voter_client()
    response = vote_post(client, token, "00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404


def test_voted_battle_state_names_the_models():
    client, token = voter_client()
    battle = _own_battle(client)
    before = client.get(f"/api/v1/battles/{battle.pk}").json()
    assert before["models"] is None and before["can_vote"] is True
    vote_post(client, token, battle.pk, "model_b")
    after = client.get(f"/api/v1/battles/{battle.pk}").json()
    assert after["state"] == "voted"
    assert after["models"]["a"]["slug"] == battle.model_a.slug
    assert after["vote"] == {"winner": "model_b"}
