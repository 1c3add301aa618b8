"""Rating snapshots: when they are due (the counts changed, the interval passed), what they hold,
how their history is thinned, and who hears of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from arena.models import Model, Vote
from arena.services import vote_invalidate
from leaderboard.boards.arena import services as snapshot_services
from leaderboard.boards.arena.services import snapshot_check, snapshot_compute, snapshot_due
from leaderboard.boards.arena.versions import arena_board_version
from leaderboard.models import RatingSnapshot
from leaderboard.ratings.battle_set import OUTCOME_OF_WINNER, BattleSet
from leaderboard.ratings.leaderboard import leaderboard_compute
from leaderboard.tasks import snapshot_check as snapshot_check_task
from tests.factories import model_make, vote_make

pytestmark = pytest.mark.django_db


def votes_make(models: Sequence[Model], count: int, *, seed: int = 0, categories: Sequence[str] = ()) -> None:
    rng = np.random.default_rng(seed)
    winners = list(OUTCOME_OF_WINNER)
    for _ in range(count):
        a, b = rng.choice(len(models), size=2, replace=False)
        vote_make(models[a], models[b], winners[int(rng.integers(0, 4))], categories=categories)


@pytest.fixture
def fast(settings):
    settings.LEADERBOARD_BOOTSTRAP_ROUNDS = 20
    settings.LEADERBOARD_SNAPSHOT_INTERVAL_S = 5
    return settings


def _age(snapshot: RatingSnapshot, seconds: float) -> None:
    RatingSnapshot.objects.filter(pk=snapshot.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_no_votes_means_no_snapshot(fast):
    assert snapshot_due().due is False
    assert snapshot_compute() is None
    assert RatingSnapshot.objects.count() == 0


def test_the_first_vote_makes_the_first_snapshot_due(fast):
    alpha, beta = model_make(), model_make()
    vote_make(alpha, beta)
    assert snapshot_due().due is True
    snapshot = snapshot_check()
    assert snapshot is not None and snapshot.version == 1 and snapshot.vote_count == 1


def test_a_snapshot_is_due_once_the_counts_changed_and_the_last_one_is_interval_old(fast):
    models = [model_make() for _ in range(3)]
    votes_make(models, 3)
    first = snapshot_compute()
    assert first is not None
    _age(first, 600)
    assert snapshot_due().due is False, "old, but nothing changed"
    votes_make(models, 2, seed=1)
    _age(first, 4)
    due = snapshot_due()
    assert due.due is False and due.new_votes == 2, "changed, but the snapshot is recent"
    assert snapshot_check() is None
    _age(first, 5)
    due = snapshot_due()
    assert due.due is True and due.new_votes == 2
    second = snapshot_check()
    assert second is not None and second.version == 2 and second.vote_count == 5
    _age(second, 600)
    assert snapshot_due().due is False, "nothing changed since the second"


def test_one_new_vote_is_enough_once_the_interval_passed(fast):
    models = [model_make() for _ in range(3)]
    votes_make(models, 3)
    first = snapshot_compute()
    votes_make(models, 1, seed=3)
    _age(first, 6)
    assert snapshot_due().due is True
    assert snapshot_check().vote_count == 4


def test_an_invalidated_vote_makes_a_snapshot_due_and_leaves_it(fast):
    models = [model_make() for _ in range(3)]
    votes_make(models, 4)
    first = snapshot_compute()
    assert first is not None
    assert vote_invalidate(vote_id=Vote.objects.order_by("id").first().pk, reason="test") is True
    _age(first, 6)
    due = snapshot_due()
    assert due.due is True and due.new_votes == -1
    assert snapshot_check().vote_count == 3


def test_an_invalidation_and_a_new_vote_that_cancel_out_still_make_a_snapshot_due(fast):
    models = [model_make() for _ in range(3)]
    votes_make(models, 4)
    first = snapshot_compute()
    vote_invalidate(vote_id=Vote.objects.order_by("id").first().pk)
    votes_make(models, 1, seed=4)
    _age(first, 6)
    due = snapshot_due()
    assert due.due is True and due.new_votes == 0
    assert snapshot_check().vote_count == 4


def test_only_valid_anonymous_votes_count(fast):
    alpha, beta = model_make(), model_make()
    vote_make(alpha, beta)
    vote_make(alpha, beta, is_valid=False)
    vote_make(alpha, beta, anony=False)
    assert snapshot_compute().vote_count == 1
    fast.LEADERBOARD_ANONY_ONLY = False
    assert snapshot_compute().vote_count == 2


def test_snapshot_holds_every_category_with_rows_matrices_and_settings(fast):
    models = [model_make(slug=f"m{i}") for i in range(4)]
    votes_make(models, 30, categories=["image", "ocr"])
    votes_make(models, 12, seed=5, categories=["text", "code"])
    snapshot = snapshot_compute()
    assert snapshot is not None
    assert set(snapshot.results) == {"overall", "image", "ocr", "text", "code"}
    assert snapshot.category_votes == {"overall": 42, "image": 30, "ocr": 30, "text": 12, "code": 12}
    overall = snapshot.results["overall"]
    assert {row["model"] for row in overall["rows"]} == {"m0", "m1", "m2", "m3"}
    row = overall["rows"][0]
    assert set(row) >= {
        "rating",
        "ci_lower",
        "ci_upper",
        "rank",
        "rank_lower",
        "rank_upper",
        "online_elo",
        "battles",
    }
    assert row["ci_lower"] <= row["rating"] <= row["ci_upper"]
    matrices = overall["matrices"]
    assert len(matrices["models"]) == 4
    assert np.array(matrices["battle_counts"]).sum() == 2 * 42
    assert set(matrices) == {"models", "win_rate", "battle_counts", "predicted_win_rate"}
    assert overall["settings"]["bootstrap_rounds"] == 20
    assert overall["settings"]["penalty"] == django_settings.LEADERBOARD_PENALTY
    assert sum(row["battles"] for row in snapshot.results["code"]["rows"]) == 2 * 12
    assert snapshot.settings["interval_s"] == 5 and snapshot.settings["anony_only"] is True
    assert set(snapshot.model_info["m0"]) == {"name", "organization", "license", "status"}


def test_the_vote_counts_give_what_the_engine_gives_on_the_same_battles(fast):
    models = [model_make(slug=f"model-{i}") for i in range(5)]
    votes_make(models, 60, seed=11)
    snapshot = snapshot_compute()
    votes = Vote.objects.order_by("id").values_list(
        "battle__model_a__slug", "battle__model_b__slug", "winner"
    )
    names = sorted(model.slug for model in models)
    index = {name: i for i, name in enumerate(names)}
    battles = BattleSet(
        models=tuple(names),
        model_a=np.array([index[a] for a, _, _ in votes]),
        model_b=np.array([index[b] for _, b, _ in votes]),
        outcome=np.array([OUTCOME_OF_WINNER[w] for _, _, w in votes]),
        tstamp=np.full(len(votes), np.nan),
        anony=np.ones(len(votes), bool),
    )
    expected = leaderboard_compute(
        battles=battles, bootstrap_rounds=20, seed=0, penalty=django_settings.LEADERBOARD_PENALTY
    ).to_dict()
    got = snapshot.results["overall"]
    for mine, theirs in zip(got["rows"], expected["rows"], strict=True):
        assert mine["model"] == theirs["model"]
        for key in ("rating", "ci_lower", "ci_upper", "battles", "win_rate", "rank", "rank_upper"):
            assert mine[key] == pytest.approx(theirs[key]), key
    assert got["matrices"]["battle_counts"] == expected["matrices"]["battle_counts"]


def test_snapshot_keeps_the_live_online_elo(fast):
    alpha, beta = model_make(slug="alpha"), model_make(slug="beta")
    vote_make(alpha, beta)
    from leaderboard.models import OnlineRating

    OnlineRating.objects.create(model=alpha, rating=1010.5, battles=1)
    OnlineRating.objects.create(model=beta, rating=989.5, battles=1)
    rows = {row["model"]: row for row in snapshot_compute().results["overall"]["rows"]}
    assert rows["alpha"]["online_elo"] == 1010.5 and rows["beta"]["online_elo"] == 989.5


def test_versions_count_up_and_old_snapshots_lose_their_matrices(fast):
    fast.LEADERBOARD_SNAPSHOT_KEEP_MATRICES = 2
    alpha, beta = model_make(), model_make()
    for _ in range(3):
        vote_make(alpha, beta)
        snapshot_compute()
    snapshots = list(RatingSnapshot.objects.order_by("version"))
    assert [s.version for s in snapshots] == [1, 2, 3]
    assert [s.matrices_pruned for s in snapshots] == [True, False, False]
    assert "matrices" not in snapshots[0].results["overall"]
    assert snapshots[0].results["overall"]["rows"], "rows stay for the history"
    assert "matrices" in snapshots[2].results["overall"]


def test_a_stored_snapshot_is_published_to_the_arena_board_on_commit(
    fast, monkeypatch, django_capture_on_commit_callbacks
):
    published: list[dict[str, str]] = []
    monkeypatch.setattr(snapshot_services, "board_updated_publish", lambda **kwargs: published.append(kwargs))
    vote_make(model_make(), model_make())
    before = arena_board_version()
    with django_capture_on_commit_callbacks(execute=True):
        snapshot_compute()
        assert published == [], "nothing before the commit"
    assert len(published) == 1
    assert published[0]["board"] == "arena"
    assert published[0]["version"] == arena_board_version() != before, "the new version, as pages see it"


def test_the_beat_task_runs_the_check(fast):
    vote_make(model_make(), model_make())
    assert snapshot_check_task.run() == 1
    assert snapshot_check_task.run() is None, "nothing new since"


def test_the_beat_schedule_checks_every_two_seconds_and_keeps_the_other_entries():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["leaderboard-snapshot-check"]["task"] == "leaderboard.snapshot_check"
    assert schedule["leaderboard-snapshot-check"]["schedule"] == 2
    assert "responses-expire-stale" in schedule
    assert django_settings.LEADERBOARD_SNAPSHOT_INTERVAL_S == 5
    assert django_settings.LEADERBOARD_SNAPSHOT_KEEP_ALL_S == 3600
    for gone in ("LEADERBOARD_SNAPSHOT_MIN_VOTES", "LEADERBOARD_SNAPSHOT_MAX_AGE_S"):
        assert not hasattr(django_settings, gone), gone
