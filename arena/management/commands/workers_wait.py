from __future__ import annotations

import contextlib
import time
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from arena.health import models_served_problems


class Command(BaseCommand):
    help = (
        "Wait until a live worker serves every active model (what /readyz checks); `make run` starts the "
        "web server after it, so the first page a newcomer sees can battle at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=300.0, help="Give up after this many seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        # Ctrl-C reaches `make run`'s children too; make run itself says it is stopping.
        with contextlib.suppress(KeyboardInterrupt):
            self._wait(timeout=options["timeout"])

    def _wait(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                missing = models_served_problems()
            except (redis.RedisError, DatabaseError) as exc:
                missing = [f"The workers cannot be asked yet ({exc.__class__.__name__})."]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise CommandError(" ".join(missing))
            if not told:
                self.stdout.write("Models are still loading: waiting for the worker to be ready...")
                told = True
            time.sleep(0.5)
