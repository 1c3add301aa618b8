"""Named battles (the playground): two chosen models side by side, or one in a direct chat. Their votes
are stored with anony=False and kept off everything blind: the board, the export, pairing, permalinks."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from arena.media import image_asset_create
from arena.models import Battle, Model, Response, Vote
from arena.selectors import battle_get, named_answers_get, playground_model_pick, playground_models
from arena.services import (
    battle_create,
    battle_retry,
    battle_start_named,
    chat_start,
    turn_append,
    vote_cast,
)
from core.errors import Conflict, InvalidInput, NotFound
from leaderboard.boards.arena.export import battles_export_lines
from leaderboard.boards.arena.services import snapshot_compute
from leaderboard.models import OnlineRating
from tests.factories import image_bytes, model_make

pytestmark = pytest.mark.django_db

VOTER = "voter-named"


def _answers_finish(battle: Battle) -> None:
    Response.objects.filter(turn__battle=battle).update(status=Response.Status.DONE, text="an answer")


def _named_voted(model_a: Model, model_b: Model, winner: str = "model_a") -> Vote:
    battle = battle_start_named(model_a=model_a, model_b=model_b, prompt="Which is better?", creator_id=VOTER)
    _answers_finish(battle)
    return vote_cast(battle_id=battle.pk, voter_id=VOTER, ip_hash="", winner=winner).vote


def test_named_vote_is_stored_not_anonymous_and_never_counts_on_the_board():
    blind_a, blind_b = model_make(), model_make()
    blind = battle_create(prompt="Hello?", creator_id=VOTER, ip_hash="")
    _answers_finish(blind)
    vote_cast(battle_id=blind.pk, voter_id=VOTER, ip_hash="", winner="model_a")
    named_a, named_b = model_make(), model_make()

    named = _named_voted(named_a, named_b)

    assert named.anony is False
    assert Vote.objects.get(battle=blind).anony is True
    snapshot = snapshot_compute()
    assert snapshot is not None
    assert snapshot.vote_count == 1
    assert {row["model"] for row in snapshot.results["overall"]["rows"]} == {blind_a.slug, blind_b.slug}


def test_named_vote_moves_no_online_elo_and_reveals_none():
    named_a, named_b = model_make(), model_make()
    battle = battle_start_named(model_a=named_a, model_b=named_b, prompt="Which is better?", creator_id=VOTER)
    _answers_finish(battle)
    result = vote_cast(battle_id=battle.pk, voter_id=VOTER, ip_hash="", winner="model_a")
    assert "elo" not in result.reveals
    assert not OnlineRating.objects.filter(model__in=[named_a, named_b]).exists()


def test_named_vote_is_not_in_the_export_of_anonymous_votes():
    model_a, model_b = model_make(), model_make()
    _named_voted(model_a, model_b)

    assert list(battles_export_lines(since=None)) == []


def test_named_battle_is_not_at_a_blind_battles_permalink_or_api():
    battle = battle_start_named(
        model_a=model_make(), model_b=model_make(), prompt="Compare these.", creator_id=VOTER
    )

    with pytest.raises(NotFound):
        battle_get(battle_id=battle.pk)
    assert battle_get(battle_id=battle.pk, blind_only=False).pk == battle.pk
    client = Client()
    assert client.get(f"/api/v1/battles/{battle.pk}").status_code == 404
    assert client.get(f"/battles/{battle.pk}/").status_code == 404


def test_blind_pairing_never_draws_a_model_only_the_playground_offers():
    active_a, active_b = model_make(), model_make()
    own = model_make(status=Model.Status.PAUSED)

    offered = playground_models(user=AnonymousUser(), also=[own.pk])
    battle_start_named(model_a=active_a, model_b=own, prompt="Hi", creator_id=VOTER)
    drawn: set[int] = set()
    for _ in range(20):
        battle = battle_create(prompt="Hi", creator_id=VOTER, ip_hash="")
        drawn |= {battle.model_a_id, battle.model_b_id}

    assert {model.pk for model in offered} == {active_a.pk, active_b.pk, own.pk}
    assert drawn == {active_a.pk, active_b.pk}
    assert Battle.objects.filter(mode=Battle.Mode.BLIND).count() == 20


def test_playground_offers_active_models_and_no_others_unless_widened():
    active = model_make()
    paused = model_make(status=Model.Status.PAUSED)

    assert [model.pk for model in playground_models(user=AnonymousUser())] == [active.pk]
    assert playground_model_pick(slug=paused.slug, user=AnonymousUser(), also=[paused.pk]).pk == paused.pk
    with pytest.raises(NotFound):
        playground_model_pick(slug=paused.slug, user=AnonymousUser())


def test_direct_chat_has_one_answer_takes_follow_ups_and_no_vote():
    model = model_make()
    chat = chat_start(model=model, prompt="Hello there", creator_id=VOTER)

    assert chat.mode == Battle.Mode.DIRECT and chat.named
    assert list(Response.objects.filter(turn__battle=chat).values_list("side", flat=True)) == ["a"]
    _answers_finish(chat)
    follow_up = turn_append(battle_id=chat.pk, voter_id=VOTER, prompt="And then?")
    assert follow_up.index == 1
    assert list(follow_up.responses.values_list("side", flat=True)) == ["a"]
    assert set(named_answers_get(battle_id=chat.pk, turn=1)) == {"a"}
    _answers_finish(chat)
    with pytest.raises(Conflict, match="nothing to vote on"):
        vote_cast(battle_id=chat.pk, voter_id=VOTER, ip_hash="", winner="model_a")


def test_named_side_by_side_needs_two_models_that_read_the_prompt():
    model = model_make()
    text_only = model_make(input_modalities=["text"])

    with pytest.raises(InvalidInput, match="two different models"):
        battle_start_named(model_a=model, model_b=model, prompt="Hi", creator_id=VOTER)
    image = image_asset_create(data=image_bytes())
    with pytest.raises(InvalidInput, match="cannot read image"):
        battle_start_named(
            model_a=model, model_b=text_only, prompt="Hi", attachments=[image], creator_id=VOTER
        )


def test_named_battle_is_never_retried_with_a_drawn_pair():
    model_make(), model_make()
    battle = battle_start_named(model_a=model_make(), model_b=model_make(), prompt="Hi", creator_id=VOTER)

    with pytest.raises(Conflict, match="Only a blind battle"):
        battle_retry(battle_id=battle.pk, voter_id=VOTER, ip_hash="")
    assert Battle.objects.count() == 1
