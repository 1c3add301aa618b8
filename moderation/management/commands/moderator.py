"""`manage.py moderator add|remove|list [<email>]`: who is in the "moderator" group (README "Moderation").

Run by whoever runs the site (a superuser's job; the admin lets only superusers change groups)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ServiceError
from moderation.selectors import moderators_list
from moderation.services import moderator_add, moderator_remove


class Command(BaseCommand):
    help = "Add a user to the moderators, remove one, or list them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["add", "remove", "list"])
        parser.add_argument("email", nargs="?", default="")

    def handle(self, *args: Any, action: str, email: str, **options: Any) -> None:
        if action == "list":
            for user in moderators_list().order_by("email"):
                role = "superuser" if user.is_superuser else "moderator"
                self.stdout.write(f"{user.email or user.get_username()}\t{role}")
            return
        if not email:
            raise CommandError(f"Say whom to {action}: manage.py moderator {action} <email>.")
        try:
            user = moderator_add(email=email) if action == "add" else moderator_remove(email=email)
        except ServiceError as error:
            raise CommandError(error.message) from None
        done = "is now a moderator" if action == "add" else "is no longer a moderator"
        self.stdout.write(f"{user.email} {done}.")
