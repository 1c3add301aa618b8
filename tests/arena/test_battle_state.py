"""battle_state_get: the state a battle's page shows, read without loading the battle's contents."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from arena.models import Battle, Response, Turn, Vote
from arena.selectors import battle_get, battle_state, battle_state_get
from core.errors import NotFound
from tests.factories import battle_make

pytestmark = pytest.mark.django_db

QUEUED, STREAMING, DONE, FAILED = (
    Response.Status.QUEUED,
    Response.Status.STREAMING,
    Response.Status.DONE,
    Response.Status.FAILED,
)


def _battle(statuses: tuple[str, str], *, second_turn: tuple[str, str] | None = None) -> Battle:
    battle = battle_make()
    for side, status in zip(("a", "b"), statuses, strict=True):
        Response.objects.filter(turn__battle=battle, side=side).update(status=status)
    if second_turn is not None:
        turn = Turn.objects.create(battle=battle, index=1, prompt="And then?")
        for side, status in zip(("a", "b"), second_turn, strict=True):
            Response.objects.create(turn=turn, side=side, status=status)
    return battle


def _both_ways(battle: Battle) -> tuple[str, str, int]:
    with CaptureQueriesContext(connection) as captured:
        state = battle_state_get(battle_id=battle.pk)
    return state, battle_state(battle=battle_get(battle_id=battle.pk)), len(captured)


@pytest.mark.parametrize(
    ("statuses", "second_turn", "state"),
    [
        ((QUEUED, QUEUED), None, "generating"),
        ((DONE, STREAMING), None, "generating"),
        ((DONE, DONE), None, "ready"),
        ((DONE, FAILED), None, "failed"),
        ((DONE, FAILED), (DONE, DONE), "ready"),
        ((DONE, DONE), (QUEUED, DONE), "generating"),
    ],
)
def test_the_state_is_the_one_the_battle_page_shows(statuses, second_turn, state):
    assert _both_ways(_battle(statuses, second_turn=second_turn)) == (state, state, 2)


def test_a_voted_battle_reads_voted_and_an_abandoned_one_abandoned():
    voted = _battle((DONE, DONE))
    Vote.objects.create(battle=voted, winner="model_a", voter_id="voter-1")
    abandoned = _battle((DONE, FAILED))
    Battle.objects.filter(pk=abandoned.pk).update(abandoned_at=timezone.now())

    assert _both_ways(voted)[:2] == ("voted", "voted")
    assert _both_ways(abandoned)[:2] == ("abandoned", "abandoned")


def test_an_unknown_battle_is_not_found():
    with pytest.raises(NotFound):
        battle_state_get(battle_id=uuid.uuid4())
