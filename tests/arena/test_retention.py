"""Data retention (arena.retention): prompts and images go, by age or on request; votes and counts stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from arena.media import image_asset_create, media_path
from arena.models import Battle, MediaAsset, Response, Turn, TurnAttachment, Vote
from arena.retention import battle_erase, retention_sweep
from core.errors import Conflict, NotFound
from leaderboard.models import VoteCount
from tests.factories import battle_make, image_bytes, vote_post, voter_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _voted_battle_with_image(*, color: str = "red") -> tuple[Battle, MediaAsset]:
    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"])
    asset = image_asset_create(data=image_bytes(size=(40, 30), color=color))
    TurnAttachment.objects.create(turn=battle.turns.get(), asset=asset)
    assert vote_post(client, token, battle.pk, "model_a").status_code == 200
    return battle, asset


def _counts() -> list[tuple[object, ...]]:
    return sorted(VoteCount.objects.values_list("model_a_id", "model_b_id", "winner", "category", "count"))


def _aged(battle: Battle, *, days: int) -> None:
    Battle.objects.filter(pk=battle.pk).update(created_at=timezone.now() - timedelta(days=days))


def test_erasing_a_battle_removes_its_prompts_answers_and_images_and_keeps_its_vote_and_counts(
    django_capture_on_commit_callbacks,
):
    battle, asset = _voted_battle_with_image()
    file = media_path(sha256=asset.sha256, mime_type=asset.mime_type)
    counts = _counts()
    vote = Vote.objects.values("winner", "is_valid", "categories").get(battle=battle)
    assert counts and file.exists()

    with django_capture_on_commit_callbacks(execute=True):
        removed = battle_erase(battle_id=battle.pk)

    assert removed == {"prompts": 1, "answers": 2, "attachments": 1, "images": 1}
    assert list(Turn.objects.filter(battle=battle).values_list("prompt", flat=True)) == [""]
    assert set(Response.objects.filter(turn__battle=battle).values_list("text", flat=True)) == {""}
    assert not TurnAttachment.objects.exists() and not MediaAsset.objects.exists()
    assert not file.exists()
    assert Battle.objects.get(pk=battle.pk).erased_at is not None
    assert Vote.objects.values("winner", "is_valid", "categories").get(battle=battle) == vote
    assert _counts() == counts


def test_an_erased_battle_still_shows_its_vote_at_its_link_and_says_it_was_erased(
    django_capture_on_commit_callbacks,
):
    battle, _ = _voted_battle_with_image()
    client, _ = voter_client()
    with django_capture_on_commit_callbacks(execute=True):
        battle_erase(battle_id=battle.pk)

    seen = client.get(f"/api/v1/battles/{battle.pk}").json()

    assert seen["erased"] is True and seen["state"] == "voted"
    assert seen["turns"][0]["prompt"] == "" and seen["turns"][0]["image_url"] is None
    assert seen["models"]["a"]["slug"] == battle.model_a.slug


def test_a_picture_another_battle_still_uses_is_kept(django_capture_on_commit_callbacks):
    first, asset = _voted_battle_with_image(color="blue")
    second, same = _voted_battle_with_image(color="blue")
    assert same.sha256 == asset.sha256

    with django_capture_on_commit_callbacks(execute=True):
        removed = battle_erase(battle_id=first.pk)

    assert removed["attachments"] == 1 and removed["images"] == 0
    assert MediaAsset.objects.filter(pk=asset.sha256).exists()
    assert media_path(sha256=asset.sha256, mime_type=asset.mime_type).exists()
    url = voter_client()[0].get(f"/api/v1/battles/{second.pk}").json()["turns"][0]["image_url"]
    assert voter_client()[0].get(url).status_code == 200


def test_a_battle_still_generating_is_not_erased_and_an_unknown_one_is_not_found():
    battle = battle_make(status=Response.Status.STREAMING)

    with pytest.raises(Conflict, match="still being written"):
        battle_erase(battle_id=battle.pk)
    with pytest.raises(NotFound):
        battle_erase(battle_id="00000000-0000-0000-0000-000000000000")
    assert Turn.objects.get(battle=battle).prompt == "What is in the picture?"
    assert Battle.objects.get(pk=battle.pk).erased_at is None


def test_with_no_retention_set_the_sweep_keeps_everything(settings):
    settings.ARENA_RETENTION_DAYS = 0
    battle, _ = _voted_battle_with_image()
    _aged(battle, days=5000)

    assert retention_sweep() == 0
    assert Turn.objects.get(battle=battle).prompt == "What is in the picture?"
    assert TurnAttachment.objects.exists()


def test_the_sweep_erases_prompts_and_images_of_battles_past_the_retention_and_keeps_the_rest(
    settings, django_capture_on_commit_callbacks
):
    settings.ARENA_RETENTION_DAYS = 30
    old, old_asset = _voted_battle_with_image(color="red")
    recent, _ = _voted_battle_with_image(color="green")
    _aged(old, days=31)
    _aged(recent, days=29)
    counts = _counts()

    with django_capture_on_commit_callbacks(execute=True):
        assert retention_sweep() == 1

    assert Turn.objects.get(battle=old).prompt == ""
    assert not TurnAttachment.objects.filter(turn__battle=old).exists()
    assert not media_path(sha256=old_asset.sha256, mime_type=old_asset.mime_type).exists()
    assert set(Response.objects.filter(turn__battle=old).values_list("text", flat=True)) == {
        "answer a",
        "answer b",
    }, "the sweep keeps answers unless ARENA_RETENTION_ERASE_ANSWERS"
    assert Turn.objects.get(battle=recent).prompt == "What is in the picture?"
    assert TurnAttachment.objects.filter(turn__battle=recent).exists()
    assert Battle.objects.get(pk=recent.pk).erased_at is None
    assert Vote.objects.count() == 2 and _counts() == counts
    assert retention_sweep() == 0, "an erased battle is not erased again"


def test_the_sweep_erases_answers_too_when_set(settings):
    settings.ARENA_RETENTION_DAYS = 1
    settings.ARENA_RETENTION_ERASE_ANSWERS = True
    battle, _ = _voted_battle_with_image()
    _aged(battle, days=2)

    assert retention_sweep() == 1
    assert set(Response.objects.filter(turn__battle=battle).values_list("text", flat=True)) == {""}


def test_the_sweep_is_a_beat_task_that_skips_a_battle_still_generating(settings):
    from arena.tasks import retention_sweep as task
    from core.celery import app

    entry = django_settings.CELERY_BEAT_SCHEDULE["arena-retention-sweep"]
    assert entry["task"] == "arena.retention_sweep" and entry["task"] in app.tasks
    settings.ARENA_RETENTION_DAYS = 1
    stuck = battle_make(status=Response.Status.STREAMING)
    done = battle_make()
    _aged(stuck, days=3)
    _aged(done, days=3)

    assert task() == 1
    assert Battle.objects.get(pk=stuck.pk).erased_at is None
    assert Battle.objects.get(pk=done.pk).erased_at is not None


def test_an_erased_battle_cannot_be_retried_or_followed_up():
    client, token = voter_client()
    battle = battle_make(creator_id=client.session["arena_voter_id"])
    battle_erase(battle_id=battle.pk)

    retried = client.post(f"/api/v1/battles/{battle.pk}/retry", headers={"X-CSRFToken": token})
    followed = client.post(
        f"/api/v1/battles/{battle.pk}/turns", data={"prompt": "And then?"}, headers={"X-CSRFToken": token}
    )

    assert retried.status_code == 409 and "prompt was erased" in retried.json()["detail"]
    assert followed.status_code == 409 and "conversation was erased" in followed.json()["detail"]
    assert Battle.objects.count() == 1 and Turn.objects.filter(battle=battle).count() == 1
