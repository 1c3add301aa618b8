"""Every moderator action: the arena's (or the portal's) service that makes the change, and one audit
entry (who, what, why, what changed) written in the same transaction, so that no change goes unlogged
and no entry tells of a change that did not happen.

Invalidations end by replaying the online Elo from the counted votes (an invalidated vote's step cannot
be taken back alone); the vote counts drop in the invalidation's own transaction, so the next rating
snapshot (`snapshot_due` sees the counts changed) leaves the votes out.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from arena import sanctions
from arena import services as arena_services
from arena.models import Ban, MediaAsset, Vote
from core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from leaderboard.boards.arena.online_elo import online_ratings_replay
from moderation.models import AuditEntry
from moderation.selectors import MODERATOR_GROUP, moderator_can_act, subject_ban_hash
from portal.submissions import services as submission_services

REASON_MAX_CHARS: Final = 2000


def _reason_clean(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Please give a reason: every moderator action is logged with one.")
    if len(reason) > REASON_MAX_CHARS:
        raise InvalidInput(
            f"The reason is {len(reason):,} characters long; the limit is {REASON_MAX_CHARS:,}."
        )
    return reason


def _actor_check(actor: Any) -> None:
    # The views check too; this keeps a service called from anywhere else just as strict.
    if not moderator_can_act(user=actor):
        raise NotAllowed("Only moderators can do this.")


def _audit(
    *, actor: Any, action: str, target_kind: str, target_id: object, reason: str, changes: dict[str, Any]
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        target_kind=target_kind,
        target_id=str(target_id),
        reason=reason,
        changes=changes,
    )


# ---------------------------------------------------------------- votes


def vote_invalidate(*, actor: Any, vote_id: int, reason: str) -> AuditEntry:
    """Take one vote out of the counts and the online Elo."""
    _actor_check(actor)
    reason = _reason_clean(reason)
    with transaction.atomic():
        vote = Vote.objects.filter(pk=vote_id).only("battle_id").first()
        if vote is None:
            raise NotFound("There is no such vote.")
        if not arena_services.vote_invalidate(vote_id=vote_id, reason=reason):
            raise Conflict("This vote is already not counted; there is nothing to invalidate.")
        replayed = online_ratings_replay()
        return _audit(
            actor=actor,
            action="vote_invalidate",
            target_kind="vote",
            target_id=vote_id,
            reason=reason,
            changes={
                "votes_invalidated": 1,
                "vote_ids": [vote_id],
                "battle": str(vote.battle_id),
                "elo_replayed_votes": replayed,
            },
        )


def _subject_kwargs(*, kind: str, value: str) -> dict[str, str]:
    if kind == "voter":
        return {"voter_id": value}
    if kind == "ip":
        return {"ip_hash": value}
    raise InvalidInput('Pick a "voter" or an "ip".')


def votes_matching_count(*, kind: str, value: str, since: datetime | None, until: datetime | None) -> int:
    """How many counted votes `votes_invalidate` would take out (the confirmation step shows it)."""
    return arena_services.votes_matching_count(
        **_subject_kwargs(kind=kind, value=value), since=since, until=until
    )


def votes_invalidate(
    *, actor: Any, kind: str, value: str, since: datetime | None, until: datetime | None, reason: str
) -> AuditEntry:
    """Every counted vote of a voter (or a hashed address) cast in [since, until), in one transaction."""
    _actor_check(actor)
    reason = _reason_clean(reason)
    if since is not None and until is not None and since >= until:
        raise InvalidInput("The range ends before it starts; pick a later end.")
    with transaction.atomic():
        vote_ids = arena_services.votes_invalidate(
            **_subject_kwargs(kind=kind, value=value), since=since, until=until, reason=reason
        )
        replayed = online_ratings_replay() if vote_ids else 0
        return _audit(
            actor=actor,
            action="votes_invalidate",
            target_kind=kind,
            target_id=value,
            reason=reason,
            changes={
                "votes_invalidated": len(vote_ids),
                "vote_ids": list(vote_ids),
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
                "elo_replayed_votes": replayed,
            },
        )


# ---------------------------------------------------------------- bans


def ban_create(*, actor: Any, kind: str, value: str, reason: str, expires_at: datetime | None) -> AuditEntry:
    """Ban a voter (by their voter id) or an address (by its hash): their new votes are stored, not
    counted, until `expires_at` (None: until lifted). Their earlier votes stay as they are."""
    _actor_check(actor)
    reason = _reason_clean(reason)
    _subject_kwargs(kind=kind, value=value)
    with transaction.atomic():
        ban = sanctions.ban_create(
            kind=Ban.Kind.VOTER if kind == "voter" else Ban.Kind.IP,
            value_hash=subject_ban_hash(kind=kind, value=value),
            reason=reason,
            expires_at=expires_at,
        )
        return _audit(
            actor=actor,
            action="ban_create",
            target_kind=kind,
            target_id=value,
            reason=reason,
            changes={"ban": ban.pk, "expires_at": expires_at.isoformat() if expires_at else None},
        )


def ban_lift(*, actor: Any, ban_id: int, reason: str) -> AuditEntry:
    _actor_check(actor)
    reason = _reason_clean(reason)
    with transaction.atomic():
        ban = sanctions.ban_lift(ban_id=ban_id)
        return _audit(
            actor=actor,
            action="ban_lift",
            target_kind="ban",
            target_id=ban.pk,
            reason=reason,
            changes={"kind": ban.kind, "lifted_at": ban.lifted_at.isoformat() if ban.lifted_at else None},
        )


# ---------------------------------------------------------------- battles and reports


def battle_hide(*, actor: Any, battle_id: uuid.UUID | str, reason: str) -> AuditEntry:
    _actor_check(actor)
    reason = _reason_clean(reason)
    with transaction.atomic():
        battle = sanctions.battle_hide(battle_id=battle_id)
        return _audit(
            actor=actor,
            action="battle_hide",
            target_kind="battle",
            target_id=battle.pk,
            reason=reason,
            changes={"hidden_at": battle.hidden_at.isoformat() if battle.hidden_at else None},
        )


def battle_unhide(*, actor: Any, battle_id: uuid.UUID | str, reason: str) -> AuditEntry:
    _actor_check(actor)
    reason = _reason_clean(reason)
    with transaction.atomic():
        battle = sanctions.battle_unhide(battle_id=battle_id)
        return _audit(
            actor=actor,
            action="battle_unhide",
            target_kind="battle",
            target_id=battle.pk,
            reason=reason,
            changes={"hidden_at": None},
        )


def battle_prompt_block(*, actor: Any, battle_id: uuid.UUID | str, reason: str) -> AuditEntry:
    """Block the prompt; its vote, if counted, leaves the counts and the online Elo."""
    _actor_check(actor)
    reason = _reason_clean(reason)
    with transaction.atomic():
        blocked = sanctions.battle_prompt_block(battle_id=battle_id, reason=reason)
        excluded = [] if blocked.vote_excluded is None else [blocked.vote_excluded]
        replayed = online_ratings_replay() if excluded else 0
        return _audit(
            actor=actor,
            action="battle_prompt_block",
            target_kind="battle",
            target_id=blocked.battle.pk,
            reason=reason,
            changes={
                "votes_invalidated": len(excluded),
                "vote_ids": excluded,
                "elo_replayed_votes": replayed,
            },
        )


def battle_flags_review(*, actor: Any, battle_id: uuid.UUID | str, reason: str) -> AuditEntry:
    _actor_check(actor)
    reason = _reason_clean(reason)
    with transaction.atomic():
        battle = sanctions.battle_flags_review(battle_id=battle_id)
        return _audit(
            actor=actor,
            action="battle_flags_review",
            target_kind="battle",
            target_id=battle.pk,
            reason=reason,
            changes={"flags": list(battle.flags)},
        )


def battle_erase(*, actor: Any, battle_id: uuid.UUID | str, reason: str) -> AuditEntry:
    """Erase one battle's prompts and images on a person's request (arena.retention); votes stay."""
    from arena.retention import battle_erase as erase

    _actor_check(actor)
    reason = _reason_clean(reason)
    with transaction.atomic():
        removed = erase(battle_id=battle_id)
        return _audit(
            actor=actor,
            action="battle_erase",
            target_kind="battle",
            target_id=battle_id,
            reason=reason,
            changes={"removed": removed},
        )


def battle_images_ban(*, actor: Any, battle_id: uuid.UUID | str, reason: str) -> AuditEntry:
    """Ban every image of the battle: later uploads of them, or of near copies, are refused."""
    from arena.media import image_ban

    _actor_check(actor)
    reason = _reason_clean(reason)
    assets = list(
        MediaAsset.objects.filter(turnattachment__turn__battle_id=battle_id, kind=MediaAsset.Kind.IMAGE)
        .distinct()
        .order_by("pk")
    )
    if not assets:
        raise Conflict("This battle has no images to ban.")
    with transaction.atomic():
        banned = [image_ban(asset_or_sha256=asset, reason=reason) for asset in assets]
        return _audit(
            actor=actor,
            action="battle_images_ban",
            target_kind="battle",
            target_id=battle_id,
            reason=reason,
            changes={"images_banned": [image.sha256 for image in banned]},
        )


def report_resolve(*, actor: Any, report_id: int, resolution: str) -> AuditEntry:
    _actor_check(actor)
    resolution = _reason_clean(resolution)
    with transaction.atomic():
        report = sanctions.report_resolve(report_id=report_id, resolution=resolution)
        return _audit(
            actor=actor,
            action="report_resolve",
            target_kind="report",
            target_id=report.pk,
            reason=resolution,
            changes={"battle": str(report.battle_id), "report_reason": report.reason},
        )


def flagged_voter_review(*, actor: Any, voter_id: str, reason: str) -> AuditEntry:
    _actor_check(actor)
    reason = _reason_clean(reason)
    with transaction.atomic():
        flagged = sanctions.flagged_voter_review(voter_id=voter_id)
        return _audit(
            actor=actor,
            action="flagged_voter_review",
            target_kind="voter",
            target_id=voter_id,
            reason=reason,
            changes={"votes": flagged.votes, "z_score": flagged.z_score},
        )


# ---------------------------------------------------------------- models and submissions


def model_status_set(*, actor: Any, slug: str, status: str, reason: str) -> AuditEntry:
    """Pause, retire or reactivate a model."""
    _actor_check(actor)
    reason = _reason_clean(reason)
    with transaction.atomic():
        model, before = sanctions.model_status_set(slug=slug, status=status)
        return _audit(
            actor=actor,
            action="model_status_set",
            target_kind="model",
            target_id=slug,
            reason=reason,
            changes={"status": [before, model.status]},
        )


def submission_approve(*, actor: Any, submission_id: uuid.UUID | str, reason: str) -> AuditEntry:
    _actor_check(actor)
    reason = _reason_clean(reason)
    with transaction.atomic():
        submission = submission_services.submission_approve(user=actor, submission_id=submission_id)
        return _audit(
            actor=actor,
            action="submission_approve",
            target_kind="submission",
            target_id=submission.pk,
            reason=reason,
            changes={"status": submission.status, "slug": submission.slug},
        )


def submission_reject(*, actor: Any, submission_id: uuid.UUID | str, reason: str) -> AuditEntry:
    _actor_check(actor)
    reason = _reason_clean(reason)
    with transaction.atomic():
        submission = submission_services.submission_reject(
            user=actor, submission_id=submission_id, reason=reason
        )
        return _audit(
            actor=actor,
            action="submission_reject",
            target_kind="submission",
            target_id=submission.pk,
            reason=reason,
            changes={"status": submission.status, "slug": submission.slug},
        )


# ---------------------------------------------------------------- who moderates (superusers only)


def moderator_group_get() -> Group:
    """The "moderator" group with its permission (migration 0002 makes both; a flushed test database
    or a restored one may lack them)."""
    content_type = ContentType.objects.get_for_model(AuditEntry)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="act",
        defaults={"name": "Can use the moderation console and act on votes, battles and voters"},
    )
    group, _ = Group.objects.get_or_create(name=MODERATOR_GROUP)
    group.permissions.add(permission)
    return group


def _user_by_email(email: str) -> Any:
    user = get_user_model().objects.filter(email__iexact=(email or "").strip()).first()
    if user is None:
        raise NotFound(f"No account has the address {email!r}; they sign up first.")
    return user


def moderator_add(*, email: str) -> Any:
    user = _user_by_email(email)
    user.groups.add(moderator_group_get())
    return user


def moderator_remove(*, email: str) -> Any:
    user = _user_by_email(email)
    user.groups.remove(moderator_group_get())
    return user
