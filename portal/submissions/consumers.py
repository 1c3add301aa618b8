"""A submission's live status over WebSocket, for its submitter and staff only."""

from __future__ import annotations

from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async

from core.realtime import GroupStreamConsumer
from portal.submissions.models import Submission
from portal.submissions.services import submission_group


@database_sync_to_async
def _visible(user: Any, submission_id: str) -> Submission | None:
    if not user.is_authenticated:
        return None
    found = Submission.objects.filter(pk=submission_id)
    if not user.is_staff:
        found = found.filter(submitter=user)
    return found.first()


class SubmissionConsumer(GroupStreamConsumer):
    submission: Submission | None = None

    async def group_name(self) -> str | None:
        submission_id = str(self.scope["url_route"]["kwargs"]["submission_id"])
        # Someone else's submission is refused exactly like one that does not exist.
        self.submission = await _visible(await get_user(self.scope), submission_id)
        return submission_group(submission_id=submission_id) if self.submission is not None else None

    async def joined(self) -> None:
        # What a page that joins late missed: the status now, read after joining the group so that no
        # change falls between the two (a later event supersedes it).
        assert self.submission is not None
        submission = await Submission.objects.aget(pk=self.submission.pk)
        await self.send_json(
            {
                "type": "status",
                "status": submission.status,
                "label": submission.get_status_display(),
                "reason": submission.reason,
                "at": submission.status_changed_at.isoformat(),
                "log_tail": submission.log_tail,
            }
        )
