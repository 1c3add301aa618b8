"""The arena board's receivers of `arena.signals.vote_cast`: at vote time the battle's prompts are labelled
into categories and the vote counted under them, the online Elo moves in the vote's transaction, and the
board hears of the vote."""

from __future__ import annotations

import pytest
from django.dispatch import receiver

from arena import services as arena_services
from arena.media import image_asset_create
from arena.models import Response, Side, Turn, TurnAttachment, Vote
from arena.signals import vote_cast, vote_committed
from leaderboard.boards.arena import receivers
from leaderboard.boards.arena import services as snapshot_services
from leaderboard.boards.arena.services import snapshot_compute
from leaderboard.models import OnlineRating, VoteCount
from tests.factories import battle_make, image_bytes, vote_post, voter_client

pytestmark = pytest.mark.django_db


def _turn_add(battle, prompt: str) -> Turn:
    turn = Turn.objects.create(battle=battle, index=battle.turns.count(), prompt=prompt)
    for side in Side.values:
        Response.objects.create(turn=turn, side=side, status=Response.Status.DONE, text="answer")
    return turn


def test_an_image_ocr_prompt_is_labelled_when_the_vote_is_cast(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"])
    Turn.objects.filter(battle=battle).update(prompt="Transcribe the text on this sign, please.")
    asset = image_asset_create(data=image_bytes())
    TurnAttachment.objects.create(turn=battle.turns.get(), asset=asset, position=0)
    assert vote_post(client, token, battle.pk).status_code == 200
    assert Vote.objects.get(battle=battle).categories == ["image", "ocr"]


def test_every_turn_counts_and_several_turns_are_multi_turn():
    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"])
    Turn.objects.filter(battle=battle).update(prompt="How many cats are there?")
    _turn_add(battle, "Now write a Python function for that.")
    assert vote_post(client, token, battle.pk).status_code == 200
    assert Vote.objects.get(battle=battle).categories == ["code", "counting", "multi_turn", "text"]


def test_a_non_english_prompt_is_labelled_non_english():
    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"])
    Turn.objects.filter(battle=battle).update(prompt="¿Qué es esto? Describe la imagen para mí, por favor.")
    assert vote_post(client, token, battle.pk).status_code == 200
    assert "non_english" in Vote.objects.get(battle=battle).categories


def test_the_categories_feed_the_per_category_leaderboards(settings):
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 10
    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"])
    Turn.objects.filter(battle=battle).update(prompt="How many apples are there?")
    assert vote_post(client, token, battle.pk).status_code == 200
    snapshot = snapshot_compute()
    assert set(snapshot.results) == {"overall", "text", "counting"}
    assert snapshot.category_votes["counting"] == 1


def test_a_vote_tells_the_arena_board_once_committed(monkeypatch, django_capture_on_commit_callbacks):
    published: list[dict[str, str]] = []
    monkeypatch.setattr(snapshot_services, "board_updated_publish", lambda **kwargs: published.append(kwargs))
    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert vote_post(client, token, battle.pk).status_code == 200
    assert [event["board"] for event in published] == ["arena"]


def test_a_refused_vote_publishes_nothing(monkeypatch, django_capture_on_commit_callbacks):
    published: list[dict[str, str]] = []
    monkeypatch.setattr(snapshot_services, "board_updated_publish", lambda **kwargs: published.append(kwargs))
    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"], status=Response.Status.STREAMING)
    with django_capture_on_commit_callbacks(execute=True):
        assert vote_post(client, token, battle.pk).status_code == 409
    assert published == []


def test_a_failing_receiver_rolls_back_the_vote_its_categories_its_counts_and_the_elo():
    battle = battle_make(creator_id="voter-1")

    def broken(**kwargs: object) -> None:
        raise RuntimeError("a receiver failed")

    vote_cast.connect(broken, dispatch_uid="test.broken")
    try:
        with pytest.raises(RuntimeError, match="a receiver failed"):
            arena_services.vote_cast(battle_id=battle.pk, voter_id="voter-1", ip_hash="", winner="model_a")
    finally:
        vote_cast.disconnect(dispatch_uid="test.broken")
    assert not Vote.objects.exists() and not OnlineRating.objects.filter(battles__gt=0).exists()
    assert not VoteCount.objects.exists()
    result = arena_services.vote_cast(battle_id=battle.pk, voter_id="voter-1", ip_hash="", winner="model_a")
    assert result.reveals["elo"].model_a.after > result.reveals["elo"].model_a.before
    assert VoteCount.objects.get(category="overall").count == 1


def test_without_the_board_listening_the_arena_still_records_the_vote():
    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"])
    assert vote_cast.disconnect(dispatch_uid="leaderboard.arena.vote_categories")
    assert vote_committed.disconnect(dispatch_uid="leaderboard.arena.online_elo")
    try:
        response = vote_post(client, token, battle.pk)
    finally:
        receiver(vote_cast, dispatch_uid="leaderboard.arena.vote_categories")(receivers.vote_categories_store)
        receiver(vote_committed, dispatch_uid="leaderboard.arena.online_elo")(receivers.vote_online_elo_apply)
    assert response.status_code == 200 and response.json()["elo"] is None
    assert Vote.objects.get(battle=battle).categories == []
    assert not VoteCount.objects.exists(), "counting is the board's"
