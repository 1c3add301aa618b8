"""Benchmark the platform side of the ratings: a snapshot over N votes in PostgreSQL, and the reads.

Fills a scratch database (created if missing; its votes are replaced) with N votes between M models
(Bradley-Terry outcomes, ~20 % ties, random prompt categories) through COPY, then times:
the GROUP BY that feeds a snapshot, the per-category fits, a whole snapshot_compute, the beat
check, the board page and fragment, the leaderboard API (JSON/CSV), a model's history, and the
vote export streamed end to end.

    DATABASE_URL=postgresql://postgres:@/arena_bench?host=$PWD/.data/postgres \
        .venv/bin/python bench/snapshot_bench.py --votes 1000000 --models 100
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import uuid
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


def _database_ensure(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _timed(label: str, fn: Callable[[], object], repeat: int = 3) -> object:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    runs = ", ".join(f"{t:.3f}" for t in times)
    print(f"  {label:<58} median {statistics.median(times):8.3f} s   (runs: {runs})")
    return result


def _fill(*, votes: int, models: int, seed: int) -> None:
    import numpy as np
    from django.db import connection

    from arena.models import Battle, Model, Vote
    from leaderboard.models import OnlineRating, RatingSnapshot

    rng = np.random.default_rng(seed)
    RatingSnapshot.objects.all().delete()
    OnlineRating.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Vote._meta.db_table}, {Battle._meta.db_table} CASCADE")
    Model.objects.all().delete()
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
    ids = np.array([model.pk for model in created])
    strength = rng.normal(0, 1.2, models)
    a = rng.integers(0, models, votes)
    b = (a + rng.integers(1, models, votes)) % models
    p_a = 1 / (1 + np.exp(strength[b] - strength[a]))
    draw = rng.random(votes)
    outcome = np.where(draw < 0.2, 2 + (rng.random(votes) < 0.3), np.where(rng.random(votes) < p_a, 0, 1))
    winners = np.array(["model_a", "model_b", "tie", "tie (bothbad)"])[outcome]
    start_ts = time.time() - votes  # one vote a second, ending now
    image = rng.random(votes) < 0.7
    labels = {name: rng.random(votes) < p for name, p in CATEGORY_P.items()}
    print(f"filling {votes:,} votes between {models} models ...", flush=True)
    started = time.perf_counter()
    chunk = 200_000
    for lo in range(0, votes, chunk):
        hi = min(votes, lo + chunk)
        battle_ids = [uuid.uuid4() for _ in range(hi - lo)]
        battles = io.StringIO()
        rows = io.StringIO()
        for k, i in enumerate(range(lo, hi)):
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start_ts + i)) + "+00"
            battles.write(f"{battle_ids[k]}\t{ids[a[i]]}\t{ids[b[i]]}\tbench\t\t{stamp}\n")
            cats = ["image" if image[i] else "text", *(name for name, hit in labels.items() if hit[i])]
            rows.write(
                f"{battle_ids[k]}\t{winners[i]}\tbench\t\tt\t{stamp}\t{{{','.join(cats)}}}\tt\tarena\n"
            )
        with connection.cursor() as cursor:
            copy_battles = (
                f"COPY {Battle._meta.db_table} (id, model_a_id, model_b_id, creator_id, ip_hash, created_at) "
                "FROM STDIN"
            )
            with cursor.copy(copy_battles) as copy:
                copy.write(battles.getvalue())
            copy_votes = (
                f"COPY {Vote._meta.db_table} (battle_id, winner, voter_id, ip_hash, is_valid, created_at, "
                "categories, anony, source) FROM STDIN"
            )
            with cursor.copy(copy_votes) as copy:
                copy.write(rows.getvalue())
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Battle._meta.db_table}; ANALYZE {Vote._meta.db_table}")
    from leaderboard.boards.arena.online_elo import online_ratings_replay

    replayed = online_ratings_replay()
    print(f"filled in {time.perf_counter() - started:.1f} s (online Elo replayed over {replayed:,} votes)\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the votes already in the database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url or urlsplit(url).path.lstrip("/") in ("arena", ""):
        sys.exit("Set DATABASE_URL to a scratch database (its votes are replaced), e.g. .../arena_bench")
    _database_ensure(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    if not args.reuse:
        _fill(votes=args.votes, models=args.models, seed=args.seed)

    from django.conf import settings

    from leaderboard.boards.arena.services import snapshot_compute, snapshot_due
    from leaderboard.boards.arena.votes import pair_counts_by_category, votes_counted_tally
    from leaderboard.models import RatingSnapshot
    from leaderboard.ratings.leaderboard import leaderboard_compute

    tally = votes_counted_tally()
    print(f"{tally.count:,} counted votes; bootstrap rounds {settings.LEADERBOARD_BOOTSTRAP_ROUNDS}")
    print(f"PostgreSQL {connection.cursor().connection.info.server_version}, CPUs {os.cpu_count()}\n")
    print("snapshot")
    counts = _timed(
        "GROUP BY model_a, model_b, winner, category",
        lambda: pair_counts_by_category(last_vote_id=tally.last_id),
        args.repeat,
    )
    assert isinstance(counts, dict)
    print(f"  ({len(counts)} categories, {sum(len(c.a_idx) for c in counts.values()):,} grouped rows)")

    def fits() -> None:
        for category_counts in counts.values():
            leaderboard_compute(
                counts=category_counts,
                bootstrap_rounds=settings.LEADERBOARD_BOOTSTRAP_ROUNDS,
                penalty=settings.LEADERBOARD_PENALTY,
            ).to_dict()

    _timed(f"fits + intervals + to_dict, all {len(counts)} categories", fits, args.repeat)
    _timed("snapshot_compute (the above, stored, pruned, published)", snapshot_compute, args.repeat)
    latest = RatingSnapshot.objects.order_by("-version").first()
    assert latest is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_size(results), octet_length(results::text) "
            f"FROM {RatingSnapshot._meta.db_table} WHERE id = %s",
            [latest.pk],
        )
        stored, text = cursor.fetchone()
    print(f"  snapshot results: {text / 1e6:.2f} MB as JSON text, {stored / 1e6:.2f} MB stored (compressed)")
    print(f"  compute_seconds recorded by the service: {latest.compute_seconds:.3f}")

    print("\nbeat check (every 10 s)")
    _timed("snapshot_due: recent snapshot, nothing new", snapshot_due, args.repeat)
    RatingSnapshot.objects.filter(pk=latest.pk).update(created_at=latest.created_at.replace(year=2000))
    _timed("snapshot_due: old snapshot, nothing new (full count)", snapshot_due, args.repeat)
    RatingSnapshot.objects.filter(pk=latest.pk).update(created_at=latest.created_at)

    print("\nreads")
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

        response = _timed(label, get, args.repeat)
        assert getattr(response, "status_code", 0) == 200, (path, response)
    etag = client.get("/api/v1/leaderboard")["ETag"]
    _timed(
        "GET /api/v1/leaderboard with If-None-Match (304)",
        lambda: client.get("/api/v1/leaderboard", headers={"If-None-Match": etag}),
        args.repeat,
    )

    def export() -> int:
        response = client.get("/api/v1/battles/export")
        return sum(chunk.count(b"\n") for chunk in response.streaming_content)  # type: ignore[attr-defined]

    lines = _timed("GET /api/v1/battles/export, every line streamed", export, 1)
    print(f"  ({lines:,} lines)")


if __name__ == "__main__":
    main()
