from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ServiceError
from leaderboard.boards.general_level.files import general_level_path_read
from leaderboard.general_level import NON_LANGUAGE_MODALITIES, GeneralLevelReport
from leaderboard.management.text_table import text_table


class Command(BaseCommand):
    help = (
        "Score the models in a General-Level file (the JSON layout, or a General-Bench .xlsx) and print "
        "their levels. Reads the file only; the database is not touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="tasks and model scores, e.g. tests/fixtures/general-level/*.json")
        parser.add_argument(
            "--json",
            action="store_true",
            help='print {"<model>": {"modalities": ..., "overall": ..., "level": n}} instead of a table',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            imported = general_level_path_read(path=options["file"]).imported
        except ServiceError as error:
            raise CommandError(error.message) from None
        reports = [model.report for model in imported.models]
        if options["json"]:
            document = {
                report.model: {key: value for key, value in report.to_dict().items() if key != "model"}
                for report in reports
            }
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
            return
        self.stdout.write(self._readable(reports, tasks=[t.modality.value for t in imported.tasks]))
        counts = imported.import_report.skipped_counts()
        if counts:
            notes = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))
            self.stdout.write(f"\nNotes from reading {options['file']}: {notes}.")

    def _readable(self, reports: Sequence[GeneralLevelReport], *, tasks: Sequence[str]) -> str:
        # Only the modalities the file has tasks for: the others are 0 for every model.
        modalities = [m for m in NON_LANGUAGE_MODALITIES if m.value in tasks]
        header = ["Model", "Level", "L2", "L3", "L4", "L5"]
        header += [f"{m.value} {level}" for m in modalities for level in ("L2", "L3", "L4")]
        ranked = sorted(
            reports, key=lambda r: (-r.level, -r.level5, -r.level4, -r.level3, -r.level2, r.model)
        )
        rows = [header]
        for report in ranked:
            row = [report.model, str(report.level), *(f"{value:.2f}" for value in report.overall.values())]
            for modality in modalities:
                row += [f"{value:.2f}" for value in report.modality(modality).to_dict().values()]
            rows.append(row)
        summary = (
            f"{len(reports)} models, {len(tasks)} tasks; each placed at its highest level scoring above 0."
        )
        return text_table(rows=rows, left_column=0) + "\n\n" + summary
