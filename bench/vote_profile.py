"""Where a vote request's CPU and queries go, measured in one process (no server, no network).

    .venv/bin/python bench/vote_profile.py                  # 8 voters, 400 votes measured, top 25
    .venv/bin/python bench/vote_profile.py --voters 8 --votes 400 --top 25 --sort cumulative

What it does, as bench/load/votes.py does through the real stack:

- A scratch database beside the one DATABASE_URL names (`<that name>_vote_profile_bench`, dropped and
  created afresh; the name holds "bench", as bench/stack.py requires of scratch databases), migrated,
  with bench/stack.py's four instant scripted models registered; the Redis databases REDIS_URL +
  REDIS_DB_OFFSET … +2 emptied. Production settings otherwise (debug off), with bench/stack.py's
  trusted proxy (127.0.0.1) and rate limits raised a thousandfold (still counted on every request).
- bench/seed.py's voters: each with a real session and finished battles it started, in bulk.
- Each voter is one Django test Client (the real middleware, sessions, CSRF enforced) with its own
  X-Forwarded-For; it GETs /api/v1/session for its token, then votes battle after battle through
  POST /api/v1/battles/<id>/vote. Some warm-up votes first (caches, imports), then `--votes` votes,
  round robin over the voters, so per-voter rules (the daily cap, after ARENA_VOTE_DAILY_CAP votes)
  apply as in the benchmark.

It prints, for the measured votes: CPU ms per vote (`time.process_time`: this process's CPU, so the
database's and Redis's own work is not in it; wall time is shown too but is noisy on a shared machine),
queries per vote (Django's CaptureQueriesContext, on a separate pass so its bookkeeping is not timed),
and a cProfile of a third pass, the top `--top` functions by `--sort`. The web server runs the same
view under ASGI (a thread per sync view), which adds its own cost on top of what is measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
HOST = "127.0.0.1"


def _scratch_url(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "arena"
    return urlunsplit(parts._replace(path=f"/{name}_vote_profile_bench"))


def _environment_prepare() -> None:
    """Point this process at the scratch database, empty its Redis databases, set bench/stack.py's rules."""
    from bench.stack import bench_rate_limits, redis_db_url, scratch_database_prepare

    database_url = os.environ.get("DATABASE_URL", "").strip()
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if not database_url or not redis_url:
        raise SystemExit("set DATABASE_URL and REDIS_URL (and REDIS_DB_OFFSET) to servers this may use")
    scratch = _scratch_url(database_url)
    scratch_database_prepare(scratch, fresh=True)
    import redis

    offset = int(os.environ.get("REDIS_DB_OFFSET", "0") or 0)
    for extra in range(3):
        client = redis.Redis.from_url(redis_db_url(redis_url, offset + extra))
        try:
            client.flushdb()
        finally:
            client.close()
    os.environ["DATABASE_URL"] = scratch
    os.environ.setdefault("DJANGO_SECRET_KEY", "vote-profile-not-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["ARENA_TRUSTED_PROXIES"] = HOST
    os.environ["ARENA_RATE_LIMITS"] = bench_rate_limits()
    os.environ.pop("DJANGO_DEBUG", None)
    os.environ["DJANGO_ALLOWED_HOSTS"] = f"{HOST},testserver"


def _database_prepare() -> None:
    from django.core.management import call_command

    from bench.stack import models_default

    call_command("migrate", "--noinput", verbosity=0)
    for model in models_default():
        call_command("register_model", *model.register_args())


class Voter:
    """One simulated person: a test Client with its session cookie, address and CSRF token."""

    def __init__(self, made: dict[str, Any]) -> None:
        from django.conf import settings
        from django.test import Client

        self.client = Client(
            enforce_csrf_checks=True,
            HTTP_HOST=HOST,
            HTTP_X_FORWARDED_FOR=made["address"],
            HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) arena-bench/1",
        )
        self.client.cookies[settings.SESSION_COOKIE_NAME] = made["session_key"]
        self.battles: list[str] = list(made["battles"])
        reply = self.client.get("/api/v1/session")
        if reply.status_code != 200:
            raise RuntimeError(f"GET /api/v1/session answered {reply.status_code}")
        self.token = str(reply.json()["csrf_token"])

    def vote(self, winner: str) -> int:
        battle_id = self.battles.pop()
        reply = self.client.post(
            f"/api/v1/battles/{battle_id}/vote",
            data=json.dumps({"winner": winner}),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=self.token,
            HTTP_ORIGIN=f"http://{HOST}",
        )
        return int(reply.status_code)


class AsgiVoter:
    """The same person through Django's ASGI handler (AsyncClient), as uvicorn runs the site: the
    sync view in asgiref's thread, and whatever is kept per request context made afresh."""

    def __init__(self, made: dict[str, Any]) -> None:
        from django.conf import settings
        from django.test import AsyncClient

        # The ASGI test client always names its host "testserver" (allowed by _environment_prepare).
        self.headers = {
            "X-Forwarded-For": made["address"],
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) arena-bench/1",
        }
        self.client = AsyncClient(enforce_csrf_checks=True)
        self.client.cookies[settings.SESSION_COOKIE_NAME] = made["session_key"]
        self.battles: list[str] = list(made["battles"])
        self.token = ""

    async def start(self) -> None:
        reply = await self.client.get("/api/v1/session", headers=self.headers)
        if reply.status_code != 200:
            raise RuntimeError(f"GET /api/v1/session answered {reply.status_code}")
        self.token = str(reply.json()["csrf_token"])

    async def vote(self, winner: str) -> int:
        battle_id = self.battles.pop()
        reply = await self.client.post(
            f"/api/v1/battles/{battle_id}/vote",
            data=json.dumps({"winner": winner}),
            content_type="application/json",
            headers={**self.headers, "X-CSRFToken": self.token, "Origin": "http://testserver"},
        )
        return int(reply.status_code)


def _votes(voters: list[Any], count: int, statuses: Counter[int]) -> None:
    if voters and isinstance(voters[0], AsgiVoter):

        async def each() -> None:
            for n in range(count):
                statuses[await voters[n % len(voters)].vote(WINNERS[n % len(WINNERS)])] += 1

        asyncio.run(each())
        return
    for n in range(count):
        statuses[voters[n % len(voters)].vote(WINNERS[n % len(WINNERS)])] += 1


def _redis_counters() -> tuple[int, int]:
    """(connections accepted, commands processed) by the Redis server so far (every database)."""
    from core.redis_client import redis_client_get

    stats = redis_client_get().info("stats")
    return int(stats["total_connections_received"]), int(stats["total_commands_processed"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voters", type=int, default=8)
    parser.add_argument("--votes", type=int, default=400, help="votes per measured pass (three passes)")
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative", help="a pstats sort key (cumulative, tottime, …)")
    parser.add_argument(
        "--asgi",
        action="store_true",
        help="vote through the ASGI handler (CPU and Redis figures only: the view runs in another thread)",
    )
    parser.add_argument("--ours", type=int, default=0, help="also the top N of the project's own functions")
    parser.add_argument(
        "--callers", action="append", default=[], help="print who calls functions matching this"
    )
    args = parser.parse_args()

    _environment_prepare()
    import django

    django.setup()
    _database_prepare()

    from django.db import connection
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from bench.load.common import address_new
    from bench.seed import voters_create

    # The test Client's response hooks (templates, context), as in the tests; the settings stay as they are.
    setup_test_environment()
    per_voter = -(-(args.warmup + 3 * args.votes) // args.voters) + 1
    seeded_at = time.perf_counter()
    made = voters_create(
        count=args.voters,
        battles_per_voter=per_voter,
        addresses=[address_new() for _ in range(args.voters)],
        seed=1,
    )
    print(f"seeded {args.voters} voters x {per_voter} battles in {time.perf_counter() - seeded_at:.1f} s")
    voters: list[Any]
    if args.asgi:
        voters = [AsgiVoter(one) for one in made]

        async def start() -> None:
            for voter in voters:
                await voter.start()

        asyncio.run(start())
    else:
        voters = [Voter(one) for one in made]
    statuses: Counter[int] = Counter()
    _votes(voters, args.warmup, statuses)

    redis_before = _redis_counters()
    cpu, wall = time.process_time(), time.perf_counter()
    _votes(voters, args.votes, statuses)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    redis_after = _redis_counters()
    connections, commands = (after - before for after, before in zip(redis_after, redis_before, strict=True))
    print(f"statuses: {dict(statuses)}")
    print(f"CPU per vote: {cpu * 1000 / args.votes:.2f} ms (wall {wall * 1000 / args.votes:.2f} ms)")
    print(
        f"Redis per vote (the whole server's counters): {connections / args.votes:.2f} connections opened, "
        f"{(commands - 1) / args.votes:.2f} commands"
    )
    if args.asgi:
        return

    with CaptureQueriesContext(connection) as captured:
        _votes(voters, args.votes, statuses)
    # Read now: once captured, the next request's start empties the connection's log again.
    statements = list(captured.captured_queries)
    last = statements[-round(len(statements) / args.votes) :]

    profile = cProfile.Profile()
    profile.enable()
    _votes(voters, args.votes, statuses)
    profile.disable()

    print(f"queries per vote: {len(statements) / args.votes:.2f}; the last vote's:")
    for query in last:
        print(f"  {float(query['time']) * 1000:6.2f} ms  {' '.join(query['sql'].split())[:200]}")
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).sort_stats(args.sort)
    stats.print_stats(args.top)
    if args.ours:
        # The project's own functions (not the libraries'), to see which of ours the time is under.
        stats.print_stats(str(ROOT).replace("/", "/") + r"/(?!\.venv)", args.ours)
    for pattern in args.callers:
        stats.print_callers(pattern)
    print(out.getvalue())


if __name__ == "__main__":
    main()
