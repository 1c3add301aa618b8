from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena.models import AdapterKind, Model
from arena.services import model_register
from core.errors import InvalidInput
from workers.dispatch import model_queue


class Command(BaseCommand):
    help = "Add or update an arena model: a transformers checkpoint or an OpenAI-compatible endpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True, help="Display name, shown after the vote.")
        parser.add_argument("--kind", required=True, choices=AdapterKind.values)
        parser.add_argument(
            "--config", required=True, help='Adapter config as JSON, e.g. \'{"path": "..."}\'.'
        )
        parser.add_argument("--organization", default="")
        parser.add_argument("--license", default="")
        parser.add_argument("--modalities", default="text,image")
        parser.add_argument("--weight", type=float, default=1.0)
        parser.add_argument("--status", choices=Model.Status.values, default=Model.Status.ACTIVE)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = json.loads(options["config"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not valid JSON: {exc}") from None
        try:
            model = model_register(
                slug=options["slug"],
                display_name=options["name"],
                organization=options["organization"],
                license=options["license"],
                modalities=[m.strip() for m in options["modalities"].split(",") if m.strip()],
                adapter_kind=options["kind"],
                adapter_config=config,
                sampling_weight=options["weight"],
                status=options["status"],
            )
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"registered {model.slug}; its workers listen on queue {model_queue(slug=model.slug)}"
        )
