"""At vote time: the battle's prompts are labelled into categories, and the arena board hears of the vote."""

from __future__ import annotations

import pytest

from arena.media import image_asset_create
from arena.models import Response, Side, Turn, TurnAttachment, Vote
from leaderboard import snapshot_services
from leaderboard.snapshot_services import snapshot_compute
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
