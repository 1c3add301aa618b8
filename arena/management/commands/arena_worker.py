from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from arena.worker_queues import model_slugs_hosted, worker_patterns_set
from core.celery import app
from workers.dispatch import DEFAULT_QUEUE, model_queue
from workers.runner import torch_threads_limit


class Command(BaseCommand):
    help = (
        "Run a Celery worker for the arena: the default queue plus the queue of each model it hosts. "
        "A GPU worker names its models with --models; models registered later that match are added while it "
        "runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--models",
            default="*",
            help="Comma-separated slugs or glob patterns of the models to host (default: all).",
        )
        parser.add_argument("--pool", default="threads", help="Celery pool (threads, prefork, solo).")
        parser.add_argument("--concurrency", type=int, default=4)
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument("--hostname", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        patterns = [pattern.strip() for pattern in options["models"].split(",") if pattern.strip()]
        # Models registered later that the patterns match are picked up while it runs (arena.worker_queues).
        worker_patterns_set(patterns=patterns)
        slugs = model_slugs_hosted(patterns=patterns)
        # Their order is no priority: the broker hands this worker every queue's answers before any
        # queue's evaluation chunks, by message priority (workers.dispatch.EVALUATION_PRIORITY).
        queues = [DEFAULT_QUEUE, *(model_queue(slug=slug) for slug in sorted(slugs))]
        self.stdout.write(f"worker queues: {', '.join(queues)}")
        argv = [
            "worker",
            f"--queues={','.join(queues)}",
            f"--pool={options['pool']}",
            f"--concurrency={options['concurrency']}",
            f"--loglevel={options['loglevel']}",
            "--without-gossip",
            "--without-mingle",
        ]
        torch_threads_limit(settings.WORKER_TORCH_THREADS)
        _database_pool_fit(threads=options["concurrency"] if options["pool"] == "threads" else 1)
        if options["hostname"]:
            argv.append(f"--hostname={options['hostname']}")
        app.worker_main(argv)


def _database_pool_fit(*, threads: int) -> None:
    """Each answer keeps its thread's connection while it streams (it saves the text as it goes), so a
    pool smaller than the threads would make the surplus answers time out waiting for one: the pool
    of this process grows to the thread count (plus the task consumer's and the lease renewer's), whatever
    the setting."""
    pool = connection.settings_dict.get("OPTIONS", {}).get("pool")
    needed = threads + 3
    if isinstance(pool, dict) and pool.get("max_size", needed) < needed:
        close_pool = getattr(connection, "close_pool", None)  # PostgreSQL's wrapper has it
        if callable(close_pool):
            close_pool()  # the one the model lookup above opened, at the old size
        pool["max_size"] = needed
