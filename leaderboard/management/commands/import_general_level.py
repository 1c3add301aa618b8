from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ServiceError
from leaderboard.boards.general_level.files import general_level_path_read
from leaderboard.boards.general_level.services import GeneralLevelImportResult, general_level_file_import


class Command(BaseCommand):
    help = (
        "Import General-Level tasks and model scores from a General-Bench .xlsx or the JSON layout into "
        "the board. All or nothing: a file with a problem changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--json", action="store_true", help="print the full import report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = general_level_file_import(file=general_level_path_read(path=options["file"]))
        except ServiceError as error:
            raise CommandError(error.message) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(_summary(result, file=options["file"]))


def _summary(result: GeneralLevelImportResult, *, file: str) -> str:
    read = result.report
    tasks, scores = result.tasks, result.scores
    lines = [
        f"Imported {file}: {read.task_count} tasks, {read.model_count} models, {read.score_count} scores.",
        f"Tasks: {tasks.created} created, {tasks.updated} updated, {tasks.unchanged} unchanged.",
        f"Scores: {scores.created} created, {scores.updated} updated, {scores.unchanged} unchanged "
        "(one per model and task; unsupported tasks count too).",
    ]
    if result.models_in_arena:
        pairs = ", ".join(f"{name} → {slug}" for name, slug in result.models_in_arena.items())
        lines.append(f"Arena models: {pairs}.")
    if result.models_not_in_arena:
        lines.append(f"Not in the arena (ranked by name): {', '.join(result.models_not_in_arena)}.")
    if result.linked:
        lines.append(f"Linked earlier results to arena models: {', '.join(result.linked)}.")
    for skipped in read.skipped:
        lines.append(f"  skipped ({skipped.kind.value}) {skipped.where}: {skipped.why}")
    return "\n".join(lines)
