from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from arena.services import model_register
from workers.tiny_models import tiny_models_build


class Command(BaseCommand):
    help = "Build tiny random-weight vision-language models (no downloads) and register them as arena models."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir", type=Path, default=None, help="Where to build (default ARENA_MODELS_DIR)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        target = options["dir"] or Path(settings.ARENA_MODELS_DIR)
        target.mkdir(parents=True, exist_ok=True)
        for spec in tiny_models_build(target_dir=target):
            model_register(
                slug=spec.slug,
                display_name=spec.display_name,
                organization=spec.organization,
                license=spec.license,
                modalities=list(spec.modalities),
                adapter_kind=spec.adapter_kind,
                adapter_config=dict(spec.adapter_config),
            )
            self.stdout.write(
                f"registered {spec.slug} ({spec.display_name}) from {spec.adapter_config['path']}"
            )
