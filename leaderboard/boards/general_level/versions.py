"""The General-Level board's data version (core.versions): bumped by every task or score change.

Imports write in bulk, which sends no model signals, so the import service bumps it itself; the
receivers below catch single saves and deletes (the admin, a shell).
"""

from __future__ import annotations

from typing import Any, Final

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from arena.versions import MODELS
from core.versions import data_versions_bump
from leaderboard.models import Task, TaskScore

GENERAL_LEVEL: Final = "general-level"
BOARD: Final = (GENERAL_LEVEL, MODELS)


@receiver(post_save, sender=Task, dispatch_uid="leaderboard.general_level_version.task_save")
@receiver(post_delete, sender=Task, dispatch_uid="leaderboard.general_level_version.task_delete")
@receiver(post_save, sender=TaskScore, dispatch_uid="leaderboard.general_level_version.score_save")
@receiver(post_delete, sender=TaskScore, dispatch_uid="leaderboard.general_level_version.score_delete")
def general_level_version_bump(sender: type[Task | TaskScore], **kwargs: Any) -> None:
    data_versions_bump(GENERAL_LEVEL)
