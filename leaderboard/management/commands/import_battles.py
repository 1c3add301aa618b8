"""`manage.py import_battles FILE`: store a battles file's votes as the arena's history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ServiceError
from leaderboard.boards.arena.imports import battles_import
from leaderboard.boards.arena.services import snapshot_compute


class Command(BaseCommand):
    help = (
        "Import a battles file (a JSON list or JSON lines in the common arena format) as historical votes. "
        "Models not in the arena are added as retired models. Importing the same battles again adds "
        "nothing; self-battles are skipped. The next rating snapshot counts the votes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the battles file")
        parser.add_argument("--snapshot", action="store_true", help="compute a rating snapshot right after")
        parser.add_argument("--json", action="store_true", help="print the import report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = battles_import(path=options["file"])
        except ServiceError as error:
            raise CommandError(error.message) from None
        snapshot = snapshot_compute() if options["snapshot"] else None
        if options["json"]:
            report = result.to_dict()
            report["snapshot"] = None if snapshot is None else snapshot.version
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
            return
        lines = [
            f"{result.source}: {result.read} battles read, {result.imported} imported, "
            f"{result.duplicates} already imported, {result.self_battles} self-battles skipped.",
            f"Models: {len(result.models_matched)} matched to arena models, "
            f"{len(result.models_created)} added as retired models.",
        ]
        lines += [f"  added {slug} ({name})" for name, slug in sorted(result.models_created.items())]
        if result.imported:
            lines.append(f"Online Elo replayed over {result.online_elo_votes} counted votes.")
        if snapshot is not None:
            lines.append(f"Rating snapshot {snapshot.version} computed over {snapshot.vote_count} votes.")
        self.stdout.write("\n".join(lines))
