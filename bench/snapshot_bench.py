"""Benchmark the platform side of the ratings: a snapshot at several vote counts, and the reads.

A snapshot reads only the vote counts (`leaderboard.VoteCount`, one row per category, pair, winner
and blind or not), so its cost should not grow with the votes stored. This fills a scratch database
(created if missing; its arena data is replaced) with SQL alone (INSERT ... SELECT generate_series:
battles and votes between M models, Bradley-Terry outcomes, ~20 % ties, 70 % image / 30 % text
prompts plus random rule categories, so 11 categories have votes), recounts the counts, and at each
size in `--votes` (ascending; the votes of a size are kept and added to for the next) times: the
recount, the counts read, the per-category fits, a whole `snapshot_compute`, the beat check, and
the cost of keeping the counts at vote time. After the last size it times the board page and
fragment, the leaderboard API and a model's history (and with `--export` the vote export).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_snapshots \\
        .venv/bin/python bench/snapshot_bench.py --votes 1000000,10000000 --models 100
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CATEGORY_P = {
    "ocr": 0.15,
    "counting": 0.1,
    "chart": 0.1,
    "captioning": 0.25,
    "reasoning": 0.2,
    "code": 0.05,
    "non_english": 0.05,
    "multi_turn": 0.1,
}
IMAGE_P = 0.7
TIE_P = 0.2
BOTHBAD_OF_TIES = 0.3
FILL_CHUNK = 1_000_000


def _database_ensure(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _timed(label: str, fn: Callable[[], object], repeat: int = 3) -> tuple[object, float]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    runs = ", ".join(f"{t:.3f}" for t in times)
    print(f"  {label:<60} median {median:8.3f} s   (runs: {runs})", flush=True)
    return result, median


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def _reset(*, models: int, seed: int) -> None:
    """Empty the arena's data and create the models, with a hidden strength each."""
    import numpy as np
    from django.db import connection

    from arena.models import Battle, Model, Vote
    from leaderboard.models import OnlineRating, RatingSnapshot, VoteCount

    tables = [
        model._meta.db_table for model in (RatingSnapshot, OnlineRating, VoteCount, Vote, Battle, Model)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    created = Model.objects.bulk_create(
        Model(
            slug=f"bench-model-{i:03d}",
            display_name=f"Bench Model {i:03d}",
            organization=f"Lab {i % 17}",
            license="apache-2.0",
            input_modalities=["text", "image"],
            adapter_kind="openai",
            adapter_config={},
        )
        for i in range(models)
    )
    strength = np.random.default_rng(seed).normal(0, 1.2, models)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_strength")
        cursor.execute("CREATE TABLE bench_strength (idx int PRIMARY KEY, model_id bigint, strength float8)")
        cursor.executemany(
            "INSERT INTO bench_strength VALUES (%s, %s, %s)",
            [(i, model.pk, float(strength[i])) for i, model in enumerate(created)],
        )
    # The board shows a live online Elo beside the ratings; a plausible one is enough here.
    OnlineRating.objects.bulk_create(
        OnlineRating(model=model, rating=1000 + 100 * float(strength[i]), battles=1)
        for i, model in enumerate(created)
    )


def _fill(*, start: int, stop: int, models: int, seed: int) -> None:
    """Votes number `start` .. `stop - 1` (one a second, the last one about now), in SQL alone."""
    from django.db import connection, transaction

    from arena.models import Battle, Vote

    labels = ", ".join(f"CASE WHEN random() < {p} THEN '{name}' END" for name, p in CATEGORY_P.items())
    # Battle ids follow the vote number (not random UUIDs), so the indexes grow at their end.
    # random() in the inner select list is drawn once per generated row (a volatile subquery is
    # not flattened); the labels' in the outer one, once per output row.
    rows = f"""
        SELECT lpad(to_hex(o.i), 32, '0')::uuid AS battle_id,
               sa.model_id AS a, sb.model_id AS b,
               CASE WHEN o.tie < {TIE_P} THEN
                        CASE WHEN o.bothbad < {BOTHBAD_OF_TIES} THEN 'tie (bothbad)' ELSE 'tie' END
                    WHEN o.win < 1 / (1 + exp(sb.strength - sa.strength)) THEN 'model_a'
                    ELSE 'model_b' END AS winner,
               array_remove(ARRAY[CASE WHEN o.image < {IMAGE_P} THEN 'image' ELSE 'text' END, {labels}],
                            NULL)::varchar[] AS categories,
               now() - make_interval(secs => %(stop)s - o.i) AS at
        FROM (SELECT g.i, floor(random() * {models})::int AS a, floor(random() * {models - 1})::int AS step,
                     random() AS tie, random() AS bothbad, random() AS win, random() AS image
              FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g(i)) AS o
        JOIN bench_strength sa ON sa.idx = o.a
        JOIN bench_strength sb ON sb.idx = (o.a + 1 + o.step) %% {models}
    """
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [((seed + start) % 1000) / 1000])
    for lo in range(start, stop, FILL_CHUNK):
        hi = min(stop, lo + FILL_CHUNK) - 1
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute(
                "CREATE TEMP TABLE bench_rows ON COMMIT DROP AS " + rows, {"lo": lo, "hi": hi, "stop": stop}
            )
            cursor.execute(
                f"INSERT INTO {Battle._meta.db_table} "
                "(id, model_a_id, model_b_id, creator_id, ip_hash, created_at, flags) "
                "SELECT battle_id, a, b, 'bench', '', at, '{}' FROM bench_rows ORDER BY battle_id"
            )
            cursor.execute(
                f"INSERT INTO {Vote._meta.db_table} "
                "(battle_id, winner, voter_id, ip_hash, is_valid, exclusions, created_at, categories, anony, "
                "source) SELECT battle_id, winner, 'bench', '', true, '{}', at, categories, true, 'arena' "
                "FROM bench_rows "
                "ORDER BY battle_id"
            )
        done = hi + 1
        print(f"    {done:>11,} votes stored ({time.perf_counter() - started:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute(f"VACUUM ANALYZE {Battle._meta.db_table}")
        cursor.execute(f"VACUUM ANALYZE {Vote._meta.db_table}")


def _stored_votes() -> int:
    from arena.models import Vote

    return Vote.objects.count()


def _measure(*, repeat: int) -> dict[str, float]:
    from django.conf import settings
    from django.db import connection, transaction

    from arena.models import Vote
    from leaderboard.boards.arena.counts import vote_counts_add, vote_counts_rebuild, vote_counts_subtract
    from leaderboard.boards.arena.services import snapshot_compute, snapshot_due
    from leaderboard.boards.arena.votes import pair_counts_by_category, vote_counts_state
    from leaderboard.models import RatingSnapshot, VoteCount
    from leaderboard.ratings.leaderboard import leaderboard_compute

    figures: dict[str, float] = {}
    _, figures["rebuild"] = _timed(
        "vote_counts_rebuild (the import path: recount from the votes)", vote_counts_rebuild, 1
    )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {VoteCount._meta.db_table}")
    state = vote_counts_state()
    rows = VoteCount.objects.count()
    print(f"  {state.total:,} counted votes in {rows:,} count rows; {_load()}")

    counts, figures["read"] = _timed(
        "pair_counts_by_category (the counts table → PairCounts)", pair_counts_by_category, repeat
    )
    assert isinstance(counts, dict)
    print(f"  ({len(counts)} categories: {', '.join(counts)})")

    def fits() -> None:
        for category_counts in counts.values():
            leaderboard_compute(
                counts=category_counts,
                bootstrap_rounds=settings.LEADERBOARD_BOOTSTRAP_ROUNDS,
                penalty=settings.LEADERBOARD_PENALTY,
            ).to_dict()

    _, figures["fits"] = _timed(
        f"fits + 100 bootstrap rounds + to_dict, {len(counts)} categories", fits, repeat
    )
    _, figures["snapshot"] = _timed(
        "snapshot_compute (read, fit, store, prune, thin, publish)", snapshot_compute, repeat
    )
    latest = RatingSnapshot.objects.order_by("-version").first()
    assert latest is not None and latest.vote_count == state.total
    print(
        f"  compute_seconds recorded by the service (read + fits + model info): {latest.compute_seconds:.3f}"
    )

    _, figures["due_unchanged"] = _timed("snapshot_due: nothing changed", snapshot_due, repeat)

    # Keeping the counts at vote time: the increment a vote makes (overall + 3 categories), then
    # the decrement an invalidation makes, each in a transaction of its own (net: nothing changes).
    vote = Vote.objects.order_by("id").select_related("battle").first()
    assert vote is not None
    vote.categories = ["image", "captioning", "reasoning"]
    pairs = 500

    def keep() -> None:
        for _ in range(pairs):
            with transaction.atomic():
                vote_counts_add(vote=vote, battle=vote.battle)
            with transaction.atomic():
                vote_counts_subtract(vote=vote, battle=vote.battle)

    def keep_in_one() -> None:
        with transaction.atomic():
            for _ in range(pairs):
                vote_counts_add(vote=vote, battle=vote.battle)
                vote_counts_subtract(vote=vote, battle=vote.battle)

    _, seconds = _timed(f"{2 * pairs} count changes (4 rows each), one transaction each", keep, 1)
    figures["per_change_ms"] = seconds / (2 * pairs) * 1000
    _, seconds = _timed(f"{2 * pairs} count changes, all in one transaction (no commits)", keep_in_one, 1)
    figures["per_statement_ms"] = seconds / (2 * pairs) * 1000
    print(
        f"  = {figures['per_change_ms']:.2f} ms per change with its commit "
        f"({1000 / figures['per_change_ms']:,.0f}/s on one connection), "
        f"{figures['per_statement_ms']:.2f} ms for the statement alone"
    )
    RatingSnapshot.objects.filter(pk=latest.pk).update(created_at=latest.created_at.replace(year=2000))
    due, figures["due_changed"] = _timed("snapshot_due: counts changed, snapshot old", snapshot_due, repeat)
    assert getattr(due, "due", False) is True
    return figures


def _reads(*, repeat: int, export: bool) -> None:
    from django.test import Client

    from leaderboard.models import RatingSnapshot

    latest = RatingSnapshot.objects.order_by("-version").first()
    assert latest is not None
    client = Client()
    slug = latest.results["overall"]["rows"][0]["model"]
    for label, path in [
        ("board page /leaderboard/", "/leaderboard/"),
        ("board page, category tab", "/leaderboard/?category=ocr"),
        ("live fragment /leaderboard/fragment/", "/leaderboard/fragment/"),
        ("charts page (figures built on the server)", "/leaderboard/charts/"),
        ("GET /api/v1/leaderboard", "/api/v1/leaderboard"),
        ("GET /api/v1/leaderboard?format=csv", "/api/v1/leaderboard?format=csv"),
        ("GET /api/v1/models/<slug> (history over snapshots)", f"/api/v1/models/{slug}"),
    ]:

        def get(path: str = path) -> object:
            return client.get(path)

        response, _ = _timed(label, get, repeat)
        assert getattr(response, "status_code", 0) == 200, (path, response)
    if export:

        def export_all() -> int:
            response = client.get("/api/v1/battles/export")
            return sum(chunk.count(b"\n") for chunk in response.streaming_content)  # type: ignore[attr-defined]

        lines, _ = _timed("GET /api/v1/battles/export, every line streamed", export_all, 1)
        print(f"  ({lines:,} lines)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", default="1000000,10000000", help="vote counts to measure at, ascending")
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the votes already there (fill up to each size)"
    )
    parser.add_argument("--export", action="store_true", help="also time the whole vote export")
    args = parser.parse_args()
    sizes = sorted(int(value) for value in args.votes.split(","))
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if not url or urlsplit(url).path.lstrip("/") in ("arena", ""):
        sys.exit(
            "Set BENCH_DATABASE_URL to a scratch database (its arena data is replaced), "
            "e.g. postgresql://postgres@127.0.0.1:5432/bench_snapshots"
        )
    _database_ensure(url)
    os.environ["DATABASE_URL"] = url
    # The fill and the recount run for minutes: no web statement timeout here.
    os.environ["DATABASE_STATEMENT_TIMEOUT_S"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("DJANGO_STATIC_HASHED", "0")  # the pages name the source files: no collectstatic
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    if not args.reuse:
        _reset(models=args.models, seed=args.seed)
    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version}, {os.cpu_count()} CPUs, "
        f"{args.models} models, bootstrap rounds {settings.LEADERBOARD_BOOTSTRAP_ROUNDS}; {_load()}\n"
    )
    results: dict[int, dict[str, float]] = {}
    for size in sizes:
        stored = _stored_votes()
        if stored < size:
            print(f"filling votes {stored:,} → {size:,} ...", flush=True)
            started = time.perf_counter()
            _fill(start=stored, stop=size, models=args.models, seed=args.seed)
            print(f"  filled in {time.perf_counter() - started:.0f} s; {_load()}", flush=True)
        print(f"\n{size:,} stored votes")
        results[size] = _measure(repeat=args.repeat)
        print()
    print("summary (median seconds)")
    keys = [
        ("rebuild", "recount s"),
        ("read", "counts read s"),
        ("fits", "fits s"),
        ("snapshot", "snapshot s"),
        ("due_unchanged", "beat check s"),
        ("per_change_ms", "change+commit ms"),
        ("per_statement_ms", "statement ms"),
    ]
    print("  " + f"{'votes':>12}" + "".join(f"{label:>18}" for _, label in keys))
    for size, figures in results.items():
        print("  " + f"{size:>12,}" + "".join(f"{figures[key]:>18.3f}" for key, _ in keys))
    print(f"\n{_load()}\n\nreads at {sizes[-1]:,} votes")
    _reads(repeat=args.repeat, export=args.export)


if __name__ == "__main__":
    main()
