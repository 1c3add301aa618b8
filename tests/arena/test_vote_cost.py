"""What one vote costs the database: every rule still applied, in a bounded number of statements
(bench/vote_profile.py measures the same path, with its CPU)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from arena.models import Vote
from leaderboard.models import OnlineRating, VoteCount, VoteStyle
from tests.factories import battle_make, model_make, vote_post, voter_client

pytestmark = pytest.mark.django_db

# The vote's transaction (2), the battle locked, the vote-exists check, the answers, the ban / daily
# cap / retried rules, the prompt's digest and its counted place, the vote, its categories (read,
# written), its counts, its style; then the online Elo's own transaction (2): both rows locked, written.
COUNTED_VOTE_STATEMENTS = 17


def test_a_counted_vote_runs_at_most_seventeen_statements_and_applies_every_rule():
    client, token = voter_client()
    voter_id = client.session["arena_voter_id"]
    model_a, model_b = model_make(), model_make()
    # The pair's first vote creates their Elo rows; the one measured is an ordinary one.
    first = battle_make(creator_id=voter_id, model_a=model_a, model_b=model_b)
    assert vote_post(client, token, first.pk).status_code == 200
    battle = battle_make(creator_id=voter_id, model_a=model_a, model_b=model_b)
    with CaptureQueriesContext(connection) as captured:
        response = vote_post(client, token, battle.pk, "model_b")
    assert response.status_code == 200
    assert len(captured.captured_queries) <= COUNTED_VOTE_STATEMENTS, "\n".join(
        query["sql"][:120] for query in captured.captured_queries
    )
    vote = Vote.objects.get(battle=battle)
    assert vote.is_valid and vote.exclusions == []
    assert VoteStyle.objects.filter(vote=vote).exists()
    assert VoteCount.objects.filter(last_vote_id=vote.pk, category="overall").exists()
    assert OnlineRating.objects.get(model=model_b).battles == 2


def test_a_stranger_voting_hears_no_such_battle_and_reads_nothing_more():
    owner, _ = voter_client()
    battle = battle_make(creator_id=owner.session["arena_voter_id"])
    stranger, token = voter_client()
    with CaptureQueriesContext(connection) as captured:
        response = vote_post(stranger, token, battle.pk)
    assert (response.status_code, response.json()) == (404, {"detail": "There is no such battle."})
    # The locked battle, and whether it has a vote (arena.visibility): nothing of its answers or rules.
    assert not any("arena_response" in query["sql"] for query in captured.captured_queries)
    assert not Vote.objects.exists()
