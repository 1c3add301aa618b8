"""Each console action: what it changes, and the one audit entry it writes with it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from arena import services as arena_services
from arena.identity import voter_hash_get
from arena.models import Ban, Battle, Exclusion, FlaggedVoter, Model, Report, Vote
from core.errors import Conflict, InvalidInput
from moderation import services
from moderation.models import AuditEntry
from portal.submissions.models import Submission
from tests.factories import battle_make
from tests.moderation.helpers import counted_vote_make, overall_count, user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def moderator():
    return user_make(role="moderator")


@pytest.fixture
def console(moderator) -> Client:
    client = Client()
    client.force_login(moderator)
    return client


def _only_entry(action: str) -> AuditEntry:
    entry = AuditEntry.objects.get()
    assert entry.action == action
    return entry


def test_banning_a_voter_stores_only_the_salted_hash_and_their_next_vote_is_not_counted(
    console, moderator, settings
):
    settings.ARENA_VOTE_MIN_SECONDS = 0
    battle = battle_make(creator_id="voter-bad")
    confirm = console.post("/moderation/voters/voter/voter-bad/ban/", {"reason": "Spam votes"})
    assert confirm.status_code == 200 and b"Ban this voter?" in confirm.content
    assert not Ban.objects.exists()

    done = console.post(
        "/moderation/voters/voter/voter-bad/ban/", {"reason": "Spam votes", "confirmed": "True"}
    )
    assert done.status_code == 302
    ban = Ban.objects.get()
    assert (ban.kind, ban.value_hash, ban.expires_at) == ("voter", voter_hash_get(voter_id="voter-bad"), None)
    assert "voter-bad" not in ban.value_hash
    entry = _only_entry("ban_create")
    assert (entry.target_kind, entry.target_id, entry.reason) == ("voter", "voter-bad", "Spam votes")
    assert entry.changes["ban"] == ban.pk

    result = arena_services.vote_cast(battle_id=battle.pk, voter_id="voter-bad", ip_hash="", winner="model_a")
    assert Exclusion.VOTER_BANNED in result.vote.exclusions and not result.vote.is_valid


def test_an_address_ban_with_an_expiry_and_its_lifting(moderator):
    expires = timezone.now() + timedelta(days=7)
    services.ban_create(actor=moderator, kind="ip", value="d" * 64, reason="A bot farm", expires_at=expires)
    ban = Ban.objects.get()
    assert (ban.kind, ban.value_hash, ban.expires_at) == ("ip", "d" * 64, expires)

    services.ban_lift(actor=moderator, ban_id=ban.pk, reason="It was a school")
    ban.refresh_from_db()
    assert ban.lifted_at is not None
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "ban_create",
        "ban_lift",
    ]
    with pytest.raises(Conflict):
        services.ban_lift(actor=moderator, ban_id=ban.pk, reason="again")


def test_a_ban_refuses_a_raw_address_and_an_expiry_in_the_past(moderator):
    with pytest.raises(InvalidInput, match="salted hash"):
        services.ban_create(actor=moderator, kind="ip", value="203.0.113.9", reason="x", expires_at=None)
    with pytest.raises(InvalidInput, match="in the past"):
        services.ban_create(
            actor=moderator, kind="ip", value="d" * 64, reason="x", expires_at=timezone.now() - timedelta(1)
        )
    assert not Ban.objects.exists() and not AuditEntry.objects.exists()


def test_hiding_and_showing_a_battle_again(console):
    battle = battle_make()
    assert (
        console.post(f"/moderation/battles/{battle.pk}/hide/", {"reason": "Personal data"}).status_code == 302
    )
    assert Battle.objects.get(pk=battle.pk).hidden_at is not None
    assert console.post(f"/moderation/battles/{battle.pk}/unhide/", {"reason": "Checked"}).status_code == 302
    assert Battle.objects.get(pk=battle.pk).hidden_at is None
    assert list(AuditEntry.objects.order_by("id").values_list("action", "target_id")) == [
        ("battle_hide", str(battle.pk)),
        ("battle_unhide", str(battle.pk)),
    ]


def test_blocking_a_prompt_takes_its_counted_vote_out_with_the_reason_prompt_blocked(moderator):
    battle = battle_make()
    vote = counted_vote_make(battle.model_a, battle.model_b)
    assert overall_count() == 1

    entry = services.battle_prompt_block(actor=moderator, battle_id=vote.battle_id, reason="Abusive prompt")

    vote.refresh_from_db()
    assert (vote.is_valid, vote.exclusions) == (False, [Exclusion.PROMPT_BLOCKED])
    assert overall_count() == 0
    assert Battle.objects.get(pk=vote.battle_id).prompt_blocked_at is not None
    assert entry.changes["vote_ids"] == [vote.pk]


def test_reviewing_a_flagged_battle_takes_it_out_of_the_queue(console):
    battle = battle_make(flags=["words: a slur"])
    assert b'data-queue="flagged">1<' in console.get("/moderation/").content
    assert battle.pk.hex[:8] in console.get("/moderation/flagged/").content.decode()
    console.post(f"/moderation/battles/{battle.pk}/review-flags/", {"reason": "A false positive"})
    assert Battle.objects.get(pk=battle.pk).flags_reviewed_at is not None
    assert b'data-queue="flagged">0<' in console.get("/moderation/").content
    assert _only_entry("battle_flags_review").changes == {"flags": ["words: a slur"]}


def test_erasing_a_battle_removes_its_prompt_and_keeps_its_vote(console):
    battle = battle_make()
    vote = counted_vote_make(battle.model_a, battle.model_b)
    response = console.post(f"/moderation/battles/{vote.battle_id}/erase/", {"reason": "The person asked"})
    assert response.status_code == 302
    erased = Battle.objects.get(pk=vote.battle_id)
    assert erased.erased_at is not None
    assert "What is in the picture?" not in [turn.prompt for turn in erased.turns.all()]
    assert Vote.objects.get(pk=vote.pk).is_valid
    assert _only_entry("battle_erase").changes["removed"]


def test_resolving_a_report_takes_it_out_of_the_queue(console):
    battle = battle_make()
    report = Report.objects.create(battle=battle, reporter_id="r", reason=Report.Reason.IDENTITY)
    assert b'data-queue="reports">1<' in console.get("/moderation/").content
    console.post(f"/moderation/reports/{report.pk}/resolve/", {"resolution": "Vote invalidated"})
    report.refresh_from_db()
    assert report.resolved_at is not None and report.resolution == "Vote invalidated"
    assert b'data-queue="reports">0<' in console.get("/moderation/").content
    assert _only_entry("report_resolve").reason == "Vote invalidated"


def test_reviewing_a_suspicious_voter(console):
    FlaggedVoter.objects.create(voter_id="odd", votes=50, agreement=0.05, z_score=-6.2)
    assert b"odd" in console.get("/moderation/voters/").content
    page = console.get("/moderation/voters/voter/odd/")
    assert page.status_code == 200 and b"Mark reviewed" in page.content
    console.post("/moderation/voters/voter/odd/review/", {"reason": "Invalidated their votes"})
    assert FlaggedVoter.objects.get().reviewed_at is not None
    assert b"No suspicious voters" in console.get("/moderation/voters/").content
    assert _only_entry("flagged_voter_review").target_id == "odd"


def test_pausing_and_retiring_a_model(console):
    battle = battle_make()
    slug = battle.model_a.slug
    console.post(f"/moderation/models/{slug}/status/", {"status": "paused", "reason": "Leaks its name"})
    assert Model.objects.get(slug=slug).status == Model.Status.PAUSED
    console.post(f"/moderation/models/{slug}/status/", {"status": "retired", "reason": "Withdrawn"})
    assert Model.objects.get(slug=slug).status == Model.Status.RETIRED
    changes = list(AuditEntry.objects.order_by("id").values_list("changes", flat=True))
    assert changes == [{"status": ["active", "paused"]}, {"status": ["paused", "retired"]}]
    same = console.post(f"/moderation/models/{slug}/status/", {"status": "retired", "reason": "again"})
    assert same.status_code == 409


def _submission_pending(submitter) -> Submission:
    return Submission.objects.create(
        submitter=submitter,
        kind=Submission.Kind.ENDPOINT,
        display_name="Pending VL",
        slug="ep-pending-vl",
        organization="Lab",
        license="mit",
        description="A model.",
        status=Submission.Status.PENDING,
    )


def test_a_moderator_approves_and_rejects_submissions_with_a_reason(console, moderator):
    pending = _submission_pending(user_make())
    assert b"Pending VL" in console.get("/moderation/submissions/").content
    response = console.post(f"/moderation/submissions/{pending.pk}/reject/", {"reason": "Not a VLM"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Submission.Status.REJECTED
    entry = _only_entry("submission_reject")
    assert (entry.target_id, entry.reason, entry.actor) == (str(pending.pk), "Not a VLM", moderator)


def test_an_action_without_a_reason_is_refused_and_logs_nothing(console):
    battle = battle_make()
    response = console.post(f"/moderation/battles/{battle.pk}/hide/", {"reason": "   "})
    assert response.status_code == 400
    assert b"give a reason" in response.content
    assert Battle.objects.get(pk=battle.pk).hidden_at is None
    assert not AuditEntry.objects.exists()


def test_the_battle_review_page_shows_models_prompts_answers_vote_and_reports(console):
    battle = battle_make(creator_id="voter-r")
    Report.objects.create(battle=battle, reporter_id="x", reason=Report.Reason.HARMFUL, details="Nasty")
    page = console.get(f"/moderation/battles/{battle.pk}/").content.decode()
    for text in (battle.model_a.display_name, battle.model_b.display_name, "What is in the picture?",
                 "answer a", "Harmful or abusive content", "Nasty", "Not voted on"):  # fmt: skip
        assert text in page


def test_banning_a_battles_images_and_seeing_them_on_its_page(console):
    from arena.media import image_asset_create
    from arena.models import BannedImage, TurnAttachment
    from tests.factories import image_bytes

    battle = battle_make()
    asset = image_asset_create(data=image_bytes(size=(64, 48), color="teal"))
    link = TurnAttachment.objects.create(turn=battle.turns.get(), asset=asset)
    page = console.get(f"/moderation/battles/{battle.pk}/").content.decode()
    assert f"/api/v1/attachments/{link.public_id}" in page
    assert console.get(f"/api/v1/attachments/{link.public_id}").status_code == 200

    response = console.post(f"/moderation/battles/{battle.pk}/ban-images/", {"reason": "Someone's face"})
    assert response.status_code == 302
    assert BannedImage.objects.get().sha256 == asset.sha256
    assert _only_entry("battle_images_ban").changes == {"images_banned": [asset.sha256]}
    none = console.post(f"/moderation/battles/{battle_make().pk}/ban-images/", {"reason": "x"})
    assert none.status_code == 409
