from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from arena.demo_models import demo_models_register
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
        for model in demo_models_register(specs=tiny_models_build(target_dir=target)):
            self.stdout.write(f"registered {model.slug} ({model.display_name})")
