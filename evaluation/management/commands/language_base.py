from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena.models import Model
from core.errors import ServiceError
from evaluation.services import language_base_set


class Command(BaseCommand):
    help = (
        "Register the text-only language model a vision-language model was built on (MMStar's leakage is "
        "measured against its score without images), or --none to register none."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True, help="The vision-language model's slug.")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--base", help="The base language model's slug (a registered model).")
        group.add_argument("--none", action="store_true", help="Register no base language model.")

    def handle(self, *args: Any, **options: Any) -> None:
        slugs = [options["model"]] + ([options["base"]] if options["base"] else [])
        found = {model.slug: model for model in Model.objects.filter(slug__in=slugs)}
        for slug in slugs:
            if slug not in found:
                raise CommandError(f"No model {slug!r} is registered (manage.py register_model adds one).")
        base = found[options["base"]] if options["base"] else None
        try:
            language_base_set(model=found[options["model"]], base=base)
        except ServiceError as error:
            raise CommandError(error.message) from None
        said = f"on {base.slug}" if base else "on no base language model"
        self.stdout.write(f"{options['model']} is now measured {said}.")
