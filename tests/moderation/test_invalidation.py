"""An invalidation, of one vote or of every vote of a voter, reaches the vote counts, the online Elo
(replayed without the votes) and the next rating snapshot; through the console's pages as a moderator
uses them."""

from __future__ import annotations

import pytest
from django.test import Client

from arena.models import Exclusion, Vote
from leaderboard.boards.arena.online_elo import online_ratings_replay
from leaderboard.boards.arena.services import snapshot_compute, snapshot_due
from leaderboard.models import OnlineRating
from moderation import services
from moderation.models import AuditEntry
from tests.factories import model_make
from tests.moderation.helpers import counted_vote_make, overall_count, user_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_snapshots(settings):
    settings.LEADERBOARD_SNAPSHOT_INTERVAL_S = 0
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 10


def _elo() -> dict[str, float]:
    return dict(OnlineRating.objects.values_list("model__slug", "rating"))


def _board(honest: int = 3, rigged: int = 4) -> tuple[object, object, list[Vote], list[Vote]]:
    """`honest` votes for A by several voters, `rigged` votes for B by one voter; Elo replayed."""
    a, b = model_make(slug="model-a"), model_make(slug="model-b")
    fair = [counted_vote_make(a, b, "model_a", voter_id=f"honest-{i}") for i in range(honest)]
    bad = [counted_vote_make(a, b, "model_b", voter_id="rigger", ip_hash="e" * 64) for _ in range(rigged)]
    online_ratings_replay()
    return a, b, fair, bad


def _elo_without(votes: list[Vote]) -> dict[str, float]:
    """What a replay of the counted votes minus `votes` gives, computed apart (then restored)."""
    ids = [vote.pk for vote in votes]
    Vote.objects.filter(pk__in=ids).update(is_valid=False, exclusions=[Exclusion.INVALIDATED])
    online_ratings_replay()
    expected = _elo()
    Vote.objects.filter(pk__in=ids).update(is_valid=True, exclusions=[])
    online_ratings_replay()
    return expected


def test_one_invalidated_vote_leaves_the_counts_the_online_elo_and_the_next_snapshot():
    _, _, _, bad = _board()
    moderator = user_make(role="moderator")
    first = snapshot_compute()
    assert first is not None and first.vote_count == 7
    expected = _elo_without([bad[0]])
    before = _elo()

    entry = services.vote_invalidate(actor=moderator, vote_id=bad[0].pk, reason="A bought vote")

    vote = Vote.objects.get(pk=bad[0].pk)
    assert (vote.is_valid, vote.exclusions) == (False, [Exclusion.INVALIDATED])
    assert overall_count() == 6
    assert _elo() == pytest.approx(expected) and _elo() != before
    assert snapshot_due().due and snapshot_due().new_votes == -1
    snapshot = snapshot_compute()
    assert snapshot is not None and snapshot.vote_count == 6
    rows = {row["model"]: row for row in snapshot.results["overall"]["rows"]}
    assert rows["model-b"]["battles"] == 6
    assert (entry.action, entry.target_id, entry.reason) == ("vote_invalidate", str(vote.pk), "A bought vote")
    assert entry.actor == moderator and entry.changes["vote_ids"] == [vote.pk]


def test_invalidating_a_voters_votes_takes_out_exactly_theirs_in_the_range():
    _, _, _, bad = _board(rigged=4)
    moderator = user_make(role="moderator")
    snapshot_compute()
    expected = _elo_without(bad)

    assert services.votes_matching_count(kind="voter", value="rigger", since=None, until=None) == 4
    entry = services.votes_invalidate(
        actor=moderator, kind="voter", value="rigger", since=None, until=None, reason="One voter, always B"
    )

    assert sorted(entry.changes["vote_ids"]) == sorted(vote.pk for vote in bad)
    assert entry.changes["votes_invalidated"] == 4
    assert Vote.objects.filter(voter_id="rigger", is_valid=True).count() == 0
    assert Vote.objects.filter(voter_id__startswith="honest", is_valid=True).count() == 3
    assert overall_count() == 3
    assert _elo() == pytest.approx(expected)
    snapshot = snapshot_compute()
    assert snapshot is not None and snapshot.vote_count == 3
    ranked = [row["model"] for row in snapshot.results["overall"]["rows"]]
    assert ranked[0] == "model-a"


def test_a_bulk_invalidation_by_address_keeps_votes_outside_the_range():
    *_, bad = _board(rigged=3)
    moderator = user_make(role="moderator")
    Vote.objects.filter(pk=bad[0].pk).update(created_at=bad[0].created_at.replace(year=2020))
    since = bad[1].created_at.replace(year=2021)

    entry = services.votes_invalidate(
        actor=moderator, kind="ip", value="e" * 64, since=since, until=None, reason="A click farm"
    )

    assert entry.changes["votes_invalidated"] == 2
    assert Vote.objects.get(pk=bad[0].pk).is_valid
    assert overall_count() == 4


def test_the_console_asks_to_confirm_a_bulk_invalidation_showing_how_many_votes_it_touches():
    _board(rigged=4)
    client = Client()
    client.force_login(user_make(role="moderator"))
    url = "/moderation/voters/voter/rigger/invalidate/"

    confirm = client.post(url, {"reason": "Always B"})
    assert confirm.status_code == 200
    assert b'data-confirm-count="4"' in confirm.content
    assert Vote.objects.filter(voter_id="rigger", is_valid=True).count() == 4  # nothing yet
    assert not AuditEntry.objects.exists()

    done = client.post(url, {"reason": "Always B", "confirmed": "True"})
    assert done.status_code == 302
    assert Vote.objects.filter(voter_id="rigger", is_valid=True).count() == 0
    assert AuditEntry.objects.get().action == "votes_invalidate"


def test_a_bulk_invalidation_needs_a_reason_and_a_range_that_ends_after_it_starts():
    _board(rigged=2)
    client = Client()
    client.force_login(user_make(role="moderator"))
    url = "/moderation/voters/voter/rigger/invalidate/"
    no_reason = client.post(url, {"reason": "  ", "confirmed": "True"})
    assert no_reason.status_code == 400 and b"give a reason" in no_reason.content
    backwards = client.post(
        url, {"reason": "x", "since": "2026-05-02T10:00", "until": "2026-05-01T10:00", "confirmed": "True"}
    )
    assert backwards.status_code == 400 and b"ends before it starts" in backwards.content
    assert Vote.objects.filter(voter_id="rigger", is_valid=True).count() == 2


def test_invalidating_one_vote_from_the_battle_page():
    _, _, _, bad = _board(rigged=1)
    client = Client()
    client.force_login(user_make(role="moderator"))
    page = client.get(f"/moderation/battles/{bad[0].battle_id}/")
    assert page.status_code == 200 and b"Invalidate the vote" in page.content

    done = client.post(
        f"/moderation/votes/{bad[0].pk}/invalidate/",
        {"reason": "Reported as bought", "back": f"/moderation/battles/{bad[0].battle_id}/"},
    )
    assert done.status_code == 302 and done["Location"] == f"/moderation/battles/{bad[0].battle_id}/"
    assert not Vote.objects.get(pk=bad[0].pk).is_valid
    again = client.post(f"/moderation/votes/{bad[0].pk}/invalidate/", {"reason": "twice"})
    assert again.status_code == 409 and b"already not counted" in again.content
    assert AuditEntry.objects.count() == 1


def test_a_moderator_who_lost_the_right_cannot_act_through_the_service():
    from core.errors import NotAllowed

    _, _, _, bad = _board(rigged=1)
    with pytest.raises(NotAllowed):
        services.vote_invalidate(actor=user_make(role="staff"), vote_id=bad[0].pk, reason="no")
    assert Vote.objects.get(pk=bad[0].pk).is_valid
