"""Data retention: erasing what people sent (their prompts and images) while votes and counts stay.

Two ways in: `retention_sweep` (a Celery beat task) erases every battle older than
ARENA_RETENTION_DAYS (0, the default, keeps everything); `battle_erase` erases one battle at a
person's request (the moderation console records who asked and why).

What an erase removes: each turn's prompt (left empty), the battle's attachments, and every stored
image no other battle uses (its row and its file). By default the answers go too, since an answer
may quote the prompt or describe the picture; the sweep keeps them unless
ARENA_RETENTION_ERASE_ANSWERS is set, so that old battles still show what the models said. The vote
(its winner, categories and exclusions), `leaderboard.VoteCount` and the ratings are untouched: the
board after an erase is the board before it. `Battle.erased_at` says when it happened.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from arena.media import media_path
from arena.media_av import rendition_files
from arena.models import Battle, MediaAsset, Response, Turn, TurnAttachment
from core.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

SWEEP_BATCH = 200


def _files_delete(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            logger.warning("could not delete the erased image %s", path, exc_info=True)


def _assets_unused_delete(asset_ids: set[str]) -> tuple[list[Path], list[Path]]:
    """Delete the assets among `asset_ids` that no attachment uses any more; their files' paths, and
    those of what was derived from them (a video's frames and sound, an audio file's WAV)."""
    paths = []
    derived_paths: list[Path] = []
    unused = MediaAsset.objects.filter(pk__in=asset_ids).exclude(
        pk__in=TurnAttachment.objects.values("asset_id")
    )
    for asset in unused:
        path = media_path(sha256=asset.sha256, mime_type=asset.mime_type)
        derived = rendition_files(asset=asset)
        try:
            # Its own savepoint: a concurrent upload that just attached it keeps it (PROTECT).
            with transaction.atomic():
                asset.delete()
        except ProtectedError:
            continue
        paths.append(path)
        derived_paths.extend(derived)
    return paths, derived_paths


def battle_erase(*, battle_id: uuid.UUID | str, answers: bool = True) -> dict[str, int]:
    """Erase one battle's prompts and images (and its answers, unless `answers` is False); what it
    removed, by kind: prompts, answers, attachments, images (stored pictures deleted)."""
    with transaction.atomic():
        battle = Battle.objects.select_for_update().filter(pk=battle_id).first()
        if battle is None:
            raise NotFound("There is no such battle.")
        responses = Response.objects.filter(turn__battle=battle)
        if responses.exclude(status__in=Response.FINISHED).exists():
            raise Conflict(
                "This battle's answers are still being written; erase it once they have finished "
                "(or after abandoning it)."
            )
        prompts = Turn.objects.filter(battle=battle).exclude(prompt="").update(prompt="")
        erased_answers = responses.exclude(text="").update(text="") if answers else 0
        links = TurnAttachment.objects.filter(turn__battle=battle)
        asset_ids = set(links.values_list("asset_id", flat=True))
        attachments, _ = links.delete()
        paths, derived = _assets_unused_delete(asset_ids)
        Battle.objects.filter(pk=battle.pk).update(erased_at=timezone.now())
        # The files go once the rows are gone for good; a rolled-back erase keeps both.
        transaction.on_commit(lambda: _files_delete(paths + derived))
    return {"prompts": prompts, "answers": erased_answers, "attachments": attachments, "images": len(paths)}


def retention_sweep(*, now: datetime | None = None) -> int:
    """Erase every battle older than ARENA_RETENTION_DAYS not erased yet; how many were erased."""
    days = settings.ARENA_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    due = Battle.objects.filter(created_at__lt=cutoff, erased_at__isnull=True).order_by("created_at")
    erased = 0
    skipped: set[uuid.UUID] = set()
    while True:
        batch = list(due.exclude(pk__in=skipped).values_list("pk", flat=True)[:SWEEP_BATCH])
        if not batch:
            return erased
        for battle_id in batch:
            try:
                battle_erase(battle_id=battle_id, answers=settings.ARENA_RETENTION_ERASE_ANSWERS)
            except (Conflict, NotFound):
                # Still generating (the answer sweep ends it soon) or deleted meanwhile: next time.
                skipped.add(battle_id)
                continue
            erased += 1
