"""The outlier sweep on stored votes: honest voters and an adversary who always votes for the weakest
model; only the adversary is flagged, moderators' reviews are kept, and the board can rank without
the flagged voters' votes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from arena.models import Battle, Exclusion, FlaggedVoter, Model, Vote
from core.versions import data_versions_bump
from leaderboard import tasks
from leaderboard.boards.arena.counts import vote_counts_rebuild
from leaderboard.boards.arena.outliers import voters_outlier_sweep
from leaderboard.boards.arena.services import snapshot_compute
from leaderboard.boards.arena.versions import VOTES
from leaderboard.models import OnlineRating
from leaderboard.ratings.outliers import chosen_win_probability
from tests.factories import model_make

pytestmark = pytest.mark.django_db

TRUE = (800.0, 900.0, 1000.0, 1100.0, 1200.0)
ADVERSARY = "voter-adversary"


def _votes_store(cast: Sequence[tuple[Model, Model, str]], *, voter_id: str) -> list[Vote]:
    """Counted votes of one voter, written in bulk and counted as a bulk import is (a recount)."""
    battles = Battle.objects.bulk_create(
        Battle(model_a=a, model_b=b, creator_id=voter_id) for a, b, _ in cast
    )
    votes = Vote.objects.bulk_create(
        Vote(battle=battle, winner=winner, voter_id=voter_id, ip_hash="hash-of-an-ip")
        for battle, (_, _, winner) in zip(battles, cast, strict=True)
    )
    vote_counts_rebuild()
    data_versions_bump(VOTES)
    return votes


def _honest_voters(models: Sequence[Model], *, voters: int, votes: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for number in range(voters):
        cast = []
        for _ in range(votes):
            a, b = rng.choice(len(models), size=2, replace=False)
            p_a = chosen_win_probability(rating_chosen=TRUE[a], rating_other=TRUE[b])
            cast.append((models[a], models[b], "model_a" if rng.random() < p_a else "model_b"))
        _votes_store(cast, voter_id=f"voter-honest-{number}")


def _adversary(
    models: Sequence[Model], *, votes: int, seed: int = 1, voter_id: str = ADVERSARY
) -> list[Vote]:
    """Always for the weakest model, whichever side it is on."""
    rng = np.random.default_rng(seed)
    weakest = models[0]
    cast = []
    for _ in range(votes):
        opponent = models[int(rng.integers(1, len(models)))]
        if rng.random() < 0.5:
            cast.append((weakest, opponent, "model_a"))
        else:
            cast.append((opponent, weakest, "model_b"))
    return _votes_store(cast, voter_id=voter_id)


@pytest.fixture
def arena(settings) -> list[Model]:
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 10
    settings.LEADERBOARD_MIN_VOTES = 10
    models = [model_make(slug=f"m{i}-rated-{int(rating)}") for i, rating in enumerate(TRUE)]
    _honest_voters(models, voters=12, votes=40)
    return models


def test_only_the_adversary_is_flagged_with_its_numbers(arena):
    _adversary(arena, votes=40)
    assert snapshot_compute() is not None

    assert voters_outlier_sweep() == 1

    flagged = FlaggedVoter.objects.get()
    assert flagged.voter_id == ADVERSARY
    assert flagged.votes == 40
    assert flagged.agreement < 0.4  # honest voting would agree ~70% of the time
    assert flagged.z_score < django_settings.LEADERBOARD_OUTLIER_Z
    assert flagged.reviewed_at is None


def test_an_adversary_with_fewer_votes_than_the_minimum_is_not_flagged(arena):
    _adversary(arena, votes=django_settings.LEADERBOARD_OUTLIER_MIN_VOTES - 1)
    snapshot_compute()
    assert voters_outlier_sweep() == 0
    assert not FlaggedVoter.objects.exists()


def test_ties_and_uncounted_votes_are_not_scored(arena):
    cast = _adversary(arena, votes=40)
    Vote.objects.filter(pk__in=[vote.pk for vote in cast[:15]]).update(winner="tie")
    Vote.objects.filter(pk__in=[vote.pk for vote in cast[15:25]]).update(
        is_valid=False, exclusions=[Exclusion.INVALIDATED]
    )
    vote_counts_rebuild()
    snapshot_compute()
    # 15 decisive votes are left: fewer than the 20 needed.
    assert voters_outlier_sweep() == 0


def test_before_the_first_snapshot_the_online_elo_is_the_reference(arena):
    _adversary(arena, votes=30)
    for model, rating in zip(arena, TRUE, strict=True):
        OnlineRating.objects.update_or_create(model=model, defaults={"rating": rating, "battles": 100})
    assert voters_outlier_sweep() == 1
    assert FlaggedVoter.objects.get().voter_id == ADVERSARY


def test_a_reviewed_voter_stays_reviewed_until_their_score_falls_further(arena):
    first = _adversary(arena, votes=25)
    snapshot_compute()
    voters_outlier_sweep()
    reviewed_at = timezone.now()
    FlaggedVoter.objects.update(reviewed_at=reviewed_at)
    seen = FlaggedVoter.objects.get()

    voters_outlier_sweep()
    assert FlaggedVoter.objects.get().reviewed_at == reviewed_at  # nothing new: still reviewed

    _adversary(arena, votes=len(first), seed=2)  # as many again
    voters_outlier_sweep()
    again = FlaggedVoter.objects.get()
    assert again.reviewed_at is None and again.votes == 2 * len(first)
    assert again.z_score < seen.z_score - 1


def test_a_voter_who_no_longer_stands_out_leaves_the_queue_unless_reviewed(arena):
    _adversary(arena, votes=30)
    snapshot_compute()
    FlaggedVoter.objects.create(voter_id="voter-honest-3", votes=40, agreement=0.2, z_score=-4.0)
    FlaggedVoter.objects.create(
        voter_id="voter-honest-4", votes=40, agreement=0.2, z_score=-4.0, reviewed_at=timezone.now()
    )
    voters_outlier_sweep()
    assert set(FlaggedVoter.objects.values_list("voter_id", flat=True)) == {ADVERSARY, "voter-honest-4"}


def test_the_beat_task_runs_the_sweep(arena):
    entry = django_settings.CELERY_BEAT_SCHEDULE["leaderboard-voters-outlier-sweep"]
    assert entry["task"] == "leaderboard.voters_outlier_sweep"
    assert entry["schedule"] == django_settings.LEADERBOARD_OUTLIER_SWEEP_S
    _adversary(arena, votes=30)
    snapshot_compute()
    assert tasks.voters_outlier_sweep() == 1


def _rows_by_model(body: dict) -> dict[str, dict]:
    return {row["model"]: row for row in body["rows"]}


def test_the_board_without_flagged_voters_leaves_their_votes_out(arena):
    _adversary(arena, votes=40)
    snapshot_compute()
    client = Client()
    weakest = arena[0].slug

    before = client.get("/api/v1/leaderboard/without-flagged")
    assert before.status_code == 200
    body = before.json()
    assert (body["flagged_voters"], body["votes_left_out"], body["votes"]) == (0, 0, 12 * 40 + 40)
    # With nobody flagged it is the full ranking: the adversary's 40 wins lift the weakest model.
    with_adversary = _rows_by_model(body)[weakest]

    voters_outlier_sweep()
    after = client.get("/api/v1/leaderboard/without-flagged").json()
    assert (after["flagged_voters"], after["votes_left_out"], after["votes"]) == (1, 40, 12 * 40)
    without = _rows_by_model(after)[weakest]
    assert without["rating"] < with_adversary["rating"] - 50
    assert without["battles"] == with_adversary["battles"] - 40
    assert without["intervals"]["bootstrap"] == [None, None]
    assert without["ci_lower"] < without["rating"] < without["ci_upper"]
    assert [row["rank"] for row in after["rows"][:1]] == [1]
    assert after["rows"][0]["model"] == arena[-1].slug

    # Once a moderator reviewed (cleared) the voter, the votes are in again.
    flagged = FlaggedVoter.objects.get()
    flagged.reviewed_at = timezone.now()
    flagged.save()
    cleared = client.get("/api/v1/leaderboard/without-flagged").json()
    assert cleared["votes_left_out"] == 0
    assert _rows_by_model(cleared)[weakest]["rating"] == pytest.approx(with_adversary["rating"])


def test_an_unknown_category_is_a_400_with_a_sentence(arena):
    refused = Client().get("/api/v1/leaderboard/without-flagged?category=nonsense")
    assert refused.status_code == 400
    assert "nonsense" in refused.json()["detail"]


def test_the_board_page_links_to_a_page_ranking_without_flagged_voters(arena):
    _adversary(arena, votes=40)
    snapshot_compute()
    voters_outlier_sweep()
    client = Client()
    board = client.get("/leaderboard/").content.decode()
    assert 'href="/leaderboard/without-flagged/?category=overall"' in board

    page = client.get("/leaderboard/without-flagged/?category=overall")
    assert page.status_code == 200
    text = page.content.decode()
    words = " ".join(text.split())
    assert "the votes of the 1 voter whose votes go against the ratings" in words
    assert "(40 votes left out of 520)" in words
    # Strongest first, and every model listed.
    assert text.index(f'data-model="{arena[-1].slug}"') < text.index(f'data-model="{arena[0].slug}"')
    assert Client().get("/leaderboard/without-flagged/?category=nonsense").status_code == 404
