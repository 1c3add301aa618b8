from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena.models import Model
from evaluation.benchmarks import BENCHMARKS, benchmark_get
from evaluation.runs import analyses_lines, benchmark_run


class Command(BaseCommand):
    help = (
        "Run a benchmark on a registered model, here and now (through the same adapters as the arena), "
        "and print its results: scores per category and overall, the item list's hash, timings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True, help="The model's slug.")
        parser.add_argument(
            "--benchmark", default="tiny-ehub", help=f"One of {', '.join(sorted(BENCHMARKS))}."
        )
        parser.add_argument(
            "--limit", type=int, default=None, help="At most this many items, spread over the categories."
        )
        parser.add_argument(
            "--analyses",
            action="store_true",
            help=(
                "Also ask every item without its image, without its question, under the other wordings, "
                "with its image corrupted and with typos: the summary's `analyses` (gain, stability, "
                "modality importance, robustness)."
            ),
        )
        parser.add_argument("--json", action="store_true", help="Print the results JSON only.")
        parser.add_argument(
            "--predictions", type=Path, default=None, help="Write the per-item predictions (JSONL) here."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            benchmark = benchmark_get(name=options["benchmark"])
        except LookupError as error:
            raise CommandError(str(error)) from None
        model = Model.objects.filter(slug=options["model"]).first()
        if model is None:
            raise CommandError(
                f"No model {options['model']!r} is registered (manage.py register_model adds one)."
            )
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        run = benchmark_run(
            benchmark=benchmark, model=model, limit=options["limit"], analyses=options["analyses"]
        )
        summary = run.summary()
        if options["predictions"] is not None:
            lines = [json.dumps(row, sort_keys=True) for row in run.predictions()]
            options["predictions"].write_text("\n".join(lines) + "\n")
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2, sort_keys=True))
            return
        overall, seconds = summary["overall"], summary["timings"]["seconds"]
        self.stdout.write(
            f"{benchmark.name} ({summary['version'][:12]}) on {model.slug}: accuracy "
            f"{overall.get('accuracy', 0):.1%} over {overall['items']} items in {seconds:.1f} s"
        )
        for category, row in summary["per_category"].items():
            self.stdout.write(f"  {category}: {row['accuracy']:.1%} ({row['items']} items)")
        for line in analyses_lines(analyses=summary.get("analyses")):
            self.stdout.write(f"  {line}")
