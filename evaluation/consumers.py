"""A benchmark run's live progress over WebSocket, for whoever may read the run."""

from __future__ import annotations

from typing import Any

from channels.auth import get_user
from channels.db import database_sync_to_async

from core.errors import NotFound
from core.realtime import GroupStreamConsumer
from evaluation.models import EvaluationRun
from evaluation.scores import evaluation_run_readable
from evaluation.services import evaluation_group, evaluation_progress


@database_sync_to_async
def _readable(user: Any, run_id: str) -> EvaluationRun | None:
    try:
        return evaluation_run_readable(run_id=run_id, user=user)
    except NotFound:
        return None


@database_sync_to_async
def _progress_now(run_id: Any) -> dict[str, Any]:
    run = EvaluationRun.objects.get(pk=run_id)
    return {"type": "progress", "status": run.status, **evaluation_progress(run=run)}


class EvaluationConsumer(GroupStreamConsumer):
    run: EvaluationRun | None = None

    async def group_name(self) -> str | None:
        run_id = str(self.scope["url_route"]["kwargs"]["run_id"])
        # A run the visitor may not read is refused exactly like one that does not exist.
        self.run = await _readable(await get_user(self.scope), run_id)
        return evaluation_group(run_id=run_id) if self.run is not None else None

    async def joined(self) -> None:
        # The progress now, read after joining the group, so that no chunk's update falls between.
        assert self.run is not None
        await self.send_json(await _progress_now(self.run.pk))
