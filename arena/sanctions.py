"""Moderation's writes on the arena's own tables: bans, hidden and blocked battles, reviewed flags,
reports, reviewed outlier voters and model status.

They live here, beside the rules that read them at vote time (arena.integrity), so that what counts is
decided in one layer; the moderation app calls these and keeps the audit log. Each returns what it
changed, for that log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from django.db import transaction
from django.utils import timezone

from arena.models import Ban, Battle, Exclusion, FlaggedVoter, Model, Report, Vote
from arena.services import vote_invalidate
from arena.visibility import NO_SUCH_BATTLE, battle_readable
from core.errors import Conflict, InvalidInput, NotFound

REPORT_DETAILS_MAX_CHARS: Final = 2000
_HASH_CHARS: Final = 64


def ban_create(*, kind: str, value_hash: str, reason: str, expires_at: datetime | None) -> Ban:
    """Ban a voter (`arena.identity.voter_hash_get`) or an address (a vote's `ip_hash`) until
    `expires_at` (None: until lifted). Votes cast while it holds are stored, not counted."""
    if kind not in Ban.Kind.values:
        raise InvalidInput(f'A ban is of a "{Ban.Kind.VOTER}" or an "{Ban.Kind.IP}", not "{kind}".')
    value_hash = (value_hash or "").strip().lower()
    if len(value_hash) != _HASH_CHARS or any(c not in "0123456789abcdef" for c in value_hash):
        raise InvalidInput("A ban names a salted hash: 64 hexadecimal digits, never an address or id.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Please say why: a ban needs a reason.")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The ban's expiry is in the past; pick a later time or none.")
    return Ban.objects.create(kind=kind, value_hash=value_hash, reason=reason, expires_at=expires_at)


def ban_lift(*, ban_id: int) -> Ban:
    with transaction.atomic():
        ban = Ban.objects.select_for_update().filter(pk=ban_id).first()
        if ban is None:
            raise NotFound("There is no such ban.")
        if ban.lifted_at is not None:
            raise Conflict("This ban was already lifted.")
        ban.lifted_at = timezone.now()
        ban.save(update_fields=["lifted_at"])
    return ban


def _battle_locked(battle_id: uuid.UUID | str) -> Battle:
    battle = Battle.objects.select_for_update(of=("self",)).filter(pk=battle_id).first()
    if battle is None:
        raise NotFound("There is no such battle.")
    return battle


def battle_hide(*, battle_id: uuid.UUID | str) -> Battle:
    """Leave the battle out of exports and its shared link (its vote still counts)."""
    with transaction.atomic():
        battle = _battle_locked(battle_id)
        if battle.hidden_at is not None:
            raise Conflict("This battle is already hidden.")
        battle.hidden_at = timezone.now()
        battle.save(update_fields=["hidden_at"])
    return battle


def battle_unhide(*, battle_id: uuid.UUID | str) -> Battle:
    with transaction.atomic():
        battle = _battle_locked(battle_id)
        if battle.hidden_at is None:
            raise Conflict("This battle is not hidden.")
        battle.hidden_at = None
        battle.save(update_fields=["hidden_at"])
    return battle


@dataclass(frozen=True)
class PromptBlocked:
    battle: Battle
    vote_excluded: int | None  # the id of the counted vote it took out, if there was one


def battle_prompt_block(*, battle_id: uuid.UUID | str, reason: str = "") -> PromptBlocked:
    """Block the battle's prompt: a vote on it is stored but never counted, and a vote it already
    counted leaves the counts now (Exclusion.PROMPT_BLOCKED, through `vote_invalidate`'s signal)."""
    with transaction.atomic():
        battle = _battle_locked(battle_id)
        if battle.prompt_blocked_at is not None:
            raise Conflict("This battle's prompt is already blocked.")
        battle.prompt_blocked_at = timezone.now()
        battle.save(update_fields=["prompt_blocked_at"])
        vote = Vote.objects.filter(battle=battle, is_valid=True).only("pk").first()
        excluded = None
        if vote is not None and vote_invalidate(
            vote_id=vote.pk, reason=reason, exclusion=Exclusion.PROMPT_BLOCKED
        ):
            excluded = vote.pk
    return PromptBlocked(battle=battle, vote_excluded=excluded)


def battle_flags_review(*, battle_id: uuid.UUID | str) -> Battle:
    """The filters' flags were looked at: the battle leaves the flagged queue (the flags stay)."""
    with transaction.atomic():
        battle = _battle_locked(battle_id)
        if not battle.flags:
            raise Conflict("This battle has no flags to review.")
        if battle.flags_reviewed_at is not None:
            raise Conflict("This battle's flags were already reviewed.")
        battle.flags_reviewed_at = timezone.now()
        battle.save(update_fields=["flags_reviewed_at"])
    return battle


def report_create(*, battle_id: uuid.UUID | str, reporter_id: str, reason: str, details: str = "") -> Report:
    """A voter reports a battle they can see: its creator at any time, anyone once it is voted on and
    shared (not hidden). One open report per reporter and battle."""
    if reason not in Report.Reason.values:
        choices = ", ".join(f'"{value}"' for value in Report.Reason.values)
        raise InvalidInput(f"The reason must be one of {choices}.")
    details = (details or "").strip()
    if len(details) > REPORT_DETAILS_MAX_CHARS:
        raise InvalidInput(
            f"The details are {len(details):,} characters long; the limit is {REPORT_DETAILS_MAX_CHARS:,}."
        )
    with transaction.atomic():
        battle = _battle_locked(battle_id)
        # Someone who cannot see it hears what they would hear of an unknown battle.
        if battle.mode != Battle.Mode.BLIND or not battle_readable(battle=battle, viewer_id=reporter_id):
            raise NotFound(NO_SUCH_BATTLE)
        if Report.objects.filter(battle=battle, reporter_id=reporter_id, resolved_at__isnull=True).exists():
            raise Conflict("You have already reported this battle; moderators will look at it.")
        return Report.objects.create(battle=battle, reporter_id=reporter_id, reason=reason, details=details)


def report_resolve(*, report_id: int, resolution: str) -> Report:
    resolution = (resolution or "").strip()
    if not resolution:
        raise InvalidInput("Please say how the report was resolved.")
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound("There is no such report.")
        if report.resolved_at is not None:
            raise Conflict("This report was already resolved.")
        report.resolved_at = timezone.now()
        report.resolution = resolution
        report.save(update_fields=["resolved_at", "resolution"])
    return report


def flagged_voter_review(*, voter_id: str) -> FlaggedVoter:
    """A moderator acted on a flagged voter (or cleared them): they leave the suspicious queue."""
    with transaction.atomic():
        flagged = FlaggedVoter.objects.select_for_update().filter(voter_id=voter_id).first()
        if flagged is None:
            raise NotFound("This voter is not flagged.")
        if flagged.reviewed_at is not None:
            raise Conflict("This voter was already reviewed.")
        flagged.reviewed_at = timezone.now()
        flagged.save(update_fields=["reviewed_at"])
    return flagged


def model_status_set(*, slug: str, status: str) -> tuple[Model, str]:
    """Pause (no new battles until active again) or retire a model, or make it active; returns the
    model and its status before. The workers hear of it once it commits."""
    if status not in Model.Status.values:
        choices = ", ".join(f'"{value}"' for value in Model.Status.values)
        raise InvalidInput(f"A model's status is one of {choices}.")
    from arena.worker_queues import worker_queues_announce

    with transaction.atomic():
        model = Model.objects.select_for_update().filter(slug=slug).first()
        if model is None:
            raise NotFound("There is no such model.")
        before = model.status
        if before == status:
            raise Conflict(f"{model.display_name} is already {model.get_status_display().lower()}.")
        model.status = status
        model.save(update_fields=["status"])
        transaction.on_commit(worker_queues_announce)
    return model, before
