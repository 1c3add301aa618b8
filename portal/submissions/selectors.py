"""Reading submissions: a submitter's own, all of them for staff, and the public queue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.db.models import QuerySet

from core.errors import NotFound
from portal.submissions.models import Submission

Status = Submission.Status
# The public queue, in the order a submission moves through it; refused and withdrawn ones are the
# submitter's business only.
QUEUE_GROUPS: Final = (
    Status.EVALUATING,
    Status.APPROVED,
    Status.PENDING,
    Status.CHECKING,
    Status.FINISHED,
    Status.FAILED,
    Status.REJECTED,
)
_WAITING: Final = frozenset({Status.CHECKING, Status.PENDING, Status.APPROVED})


def submissions_visible(*, user: Any) -> QuerySet[Submission]:
    """The submitter's own; staff see all."""
    found = Submission.objects.select_related("submitter", "model")
    return found if user.is_staff else found.filter(submitter=user)


def submission_get(*, user: Any, submission_id: uuid.UUID | str) -> Submission:
    try:
        return submissions_visible(user=user).get(pk=submission_id)
    except (Submission.DoesNotExist, ValueError, TypeError):
        # Someone else's looks exactly like none at all.
        raise NotFound("No such submission.") from None


@dataclass(frozen=True)
class QueueEntry:
    submission: Submission
    position: int | None  # 1 = next, within its status, for those still waiting


@dataclass(frozen=True)
class QueueGroup:
    status: str
    label: str
    entries: Sequence[QueueEntry]


def queue_groups(*, finished_most: int = 50) -> list[QueueGroup]:
    """The public queue by status: the waiting ones oldest first with their place, the rest newest first."""
    groups = []
    for status in QUEUE_GROUPS:
        waiting = status in _WAITING or status == Status.EVALUATING
        found = Submission.objects.filter(status=status).order_by(
            "status_changed_at" if waiting else "-status_changed_at"
        )
        if not waiting:
            found = found[:finished_most]
        entries = [
            QueueEntry(submission=submission, position=i + 1 if status in _WAITING else None)
            for i, submission in enumerate(found)
        ]
        groups.append(QueueGroup(status=status, label=Status(status).label, entries=entries))
    return groups
