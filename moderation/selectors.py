"""What the moderation console reads: who may use it, its queues, a battle or a voter under review,
and the audit log."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from arena.identity import voter_hash_get
from arena.models import Ban, Battle, FlaggedVoter, Model, Report, Vote
from arena.selectors import battle_get
from moderation.models import AuditEntry
from portal.submissions.models import Submission

PERMISSION: Final = "moderation.act"
MODERATOR_GROUP: Final = "moderator"
QUEUE_LIMIT: Final = 200
VOTES_SHOWN: Final = 200
AUDIT_PAGE: Final = 100


def moderator_can_act(*, user: Any) -> bool:
    """Moderators (the group's permission) and superusers; staff rights alone are not enough."""
    return bool(getattr(user, "is_active", False) and user.has_perm(PERMISSION))


def moderators_list() -> QuerySet[Any]:
    return (
        get_user_model()
        .objects.filter(Q(groups__name=MODERATOR_GROUP) | Q(is_superuser=True), is_active=True)
        .distinct()
    )


# ---------------------------------------------------------------- queues


def flagged_battles() -> QuerySet[Battle]:
    """Battles the content filters flagged and no moderator has reviewed, oldest first."""
    return (
        Battle.objects.exclude(flags=[])
        .filter(flags_reviewed_at__isnull=True)
        .select_related("model_a", "model_b")
        .order_by("created_at")
    )


def reports_open() -> QuerySet[Report]:
    return Report.objects.filter(resolved_at__isnull=True).select_related("battle").order_by("created_at")


def submissions_waiting() -> QuerySet[Submission]:
    """Submissions that passed the checks and wait for a moderator's approval, oldest first."""
    return (
        Submission.objects.filter(status=Submission.Status.PENDING)
        .select_related("submitter")
        .order_by("status_changed_at")
    )


def voters_suspicious() -> QuerySet[FlaggedVoter]:
    """Voters the outlier sweep flagged, not yet reviewed; the least likely first."""
    return FlaggedVoter.objects.filter(reviewed_at__isnull=True).order_by("z_score")


def queue_counts() -> dict[str, int]:
    return {
        "flagged": flagged_battles().count(),
        "reports": reports_open().count(),
        "submissions": submissions_waiting().count(),
        "voters": voters_suspicious().count(),
    }


def models_listed() -> QuerySet[Model]:
    return Model.objects.order_by("status", "slug")


# ---------------------------------------------------------------- a battle, a voter


@dataclass(frozen=True)
class BattleReview:
    battle: Battle
    vote: Vote | None
    reports: list[Report]
    voter_ban: Ban | None
    ip_ban: Ban | None
    images: int = 0


def bans_active() -> QuerySet[Ban]:
    now = timezone.now()
    return Ban.objects.filter(lifted_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def _ban_of(*, kind: str, value_hash: str) -> Ban | None:
    if not value_hash:
        return None
    return bans_active().filter(kind=kind, value_hash=value_hash).first()


def battle_review(*, battle_id: uuid.UUID | str) -> BattleReview:
    """A battle as a moderator sees it: named or blind, hidden or not, with its models, vote and reports."""
    battle = battle_get(battle_id=battle_id, blind_only=False)
    vote = Vote.objects.filter(battle=battle).first()
    voter_id = vote.voter_id if vote else battle.creator_id
    ip_hash = vote.ip_hash if vote else battle.ip_hash
    return BattleReview(
        battle=battle,
        vote=vote,
        reports=list(Report.objects.filter(battle=battle).order_by("created_at")),
        voter_ban=_ban_of(kind=Ban.Kind.VOTER, value_hash=voter_hash_get(voter_id=voter_id)),
        ip_ban=_ban_of(kind=Ban.Kind.IP, value_hash=ip_hash),
        images=sum(len(turn.turnattachment_set.all()) for turn in battle.turns.all()),
    )


SUBJECT_KINDS: Final = ("voter", "ip")


@dataclass(frozen=True)
class VoterReview:
    kind: str  # "voter" (a session's voter id) or "ip" (a salted address hash)
    value: str
    votes: list[Vote]
    total: int
    counted: int
    excluded_by_reason: dict[str, int]
    first_at: datetime | None
    last_at: datetime | None
    bans: list[Ban]
    flagged: FlaggedVoter | None
    battles: int = 0
    related: list[tuple[str, int]] = field(default_factory=list)  # the other kind's values, by votes


def subject_votes(*, kind: str, value: str) -> QuerySet[Vote]:
    return Vote.objects.filter(voter_id=value) if kind == "voter" else Vote.objects.filter(ip_hash=value)


def subject_ban_hash(*, kind: str, value: str) -> str:
    """What a ban of this voter or address stores: a voter's salted hash, an address's own hash."""
    return voter_hash_get(voter_id=value) if kind == "voter" else value


def voter_review(*, kind: str, value: str) -> VoterReview:
    votes = subject_votes(kind=kind, value=value)
    totals = votes.aggregate(total=Count("id"), counted=Count("id", filter=Q(is_valid=True)))
    reasons: Counter[str] = Counter()
    for exclusions in votes.filter(is_valid=False).values_list("exclusions", flat=True):
        reasons.update(exclusions)
    first = votes.order_by("created_at").values_list("created_at", flat=True).first()
    last = votes.order_by("-created_at").values_list("created_at", flat=True).first()
    ban_kind = Ban.Kind.VOTER if kind == "voter" else Ban.Kind.IP
    other = "ip_hash" if kind == "voter" else "voter_id"
    related = list(
        votes.exclude(**{other: ""}).values_list(other).annotate(n=Count("id")).order_by("-n")[:10]
    )
    battles = (
        Battle.objects.filter(creator_id=value) if kind == "voter" else Battle.objects.filter(ip_hash=value)
    )
    return VoterReview(
        kind=kind,
        value=value,
        votes=list(
            votes.select_related("battle__model_a", "battle__model_b").order_by("-created_at")[:VOTES_SHOWN]
        ),
        total=totals["total"],
        counted=totals["counted"],
        excluded_by_reason=dict(reasons.most_common()),
        first_at=first,
        last_at=last,
        bans=list(
            Ban.objects.filter(kind=ban_kind, value_hash=subject_ban_hash(kind=kind, value=value)).order_by(
                "-created_at"
            )
        ),
        flagged=FlaggedVoter.objects.filter(voter_id=value).first() if kind == "voter" else None,
        battles=battles.count(),
        related=[(str(v), int(n)) for v, n in related],
    )


def votes_counted_in_range(*, kind: str, value: str, since: datetime | None, until: datetime | None) -> int:
    """How many counted votes a bulk invalidation over this range would touch (the confirmation)."""
    found = subject_votes(kind=kind, value=value).filter(is_valid=True)
    if since is not None:
        found = found.filter(created_at__gte=since)
    if until is not None:
        found = found.filter(created_at__lt=until)
    return found.count()


# ---------------------------------------------------------------- the audit log


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor: str = ""  # an e-mail address, or part of one
    target: str = ""  # a target id, or its beginning
    since: date | None = None
    until: date | None = None  # inclusive: the whole day


def audit_entries(*, filters: AuditFilter) -> QuerySet[AuditEntry]:
    found = AuditEntry.objects.select_related("actor")
    if filters.action:
        found = found.filter(action=filters.action)
    if filters.actor:
        found = found.filter(actor__email__icontains=filters.actor)
    if filters.target:
        found = found.filter(target_id__startswith=filters.target)
    zone = timezone.get_current_timezone()
    if filters.since is not None:
        found = found.filter(created_at__gte=datetime.combine(filters.since, time.min, tzinfo=zone))
    if filters.until is not None:
        next_day = datetime.combine(filters.until + timedelta(days=1), time.min, tzinfo=zone)
        found = found.filter(created_at__lt=next_day)
    return found.order_by("-created_at", "-id")


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


AUDIT_CSV_COLUMNS: Final = (
    "id",
    "created_at",
    "actor",
    "action",
    "target_kind",
    "target_id",
    "reason",
    "changes",
)


def audit_csv_lines(*, filters: AuditFilter) -> Iterator[str]:
    """The filtered audit log as CSV, a line at a time (for a streaming response)."""
    import json

    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue()

    yield line(list(AUDIT_CSV_COLUMNS))
    for entry in audit_entries(filters=filters).iterator(chunk_size=1000):
        yield line(
            [
                entry.pk,
                entry.created_at.isoformat(),
                entry.actor.email or entry.actor.get_username(),
                entry.action,
                entry.target_kind,
                entry.target_id,
                _csv_safe(entry.reason),
                json.dumps(entry.changes, sort_keys=True),
            ]
        )


def _csv_safe(text: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ as a formula; a reason is typed by people.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
