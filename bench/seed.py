"""The Django side of the load benchmarks: run with the bench stack's environment (bench/load/common.py's
`seed()`), it writes the data the load generators need straight into the scratch database and prints
one JSON object on its last line.

    voters --count N --battles-per-voter K --addresses FILE --out FILE
        N voters, each with a real session (created through SESSION_ENGINE, holding the voter id
        under the key `arena.identity` reads) and K battles it started, whose answers are already
        finished: one turn, both responses `done` with text, timings and token counts, as
        `arena.answers.answer_generate` leaves them. Each battle's `ip_hash` is that of the voter's
        address (FILE: one per line).
    votes --count N
        N finished battles of one voter, each voted through `arena.services.vote_cast` (the receivers
        label the categories and move the online Elo), then one snapshot (`snapshot_compute`, what beat
        runs).
    activate --slugs SLUG,SLUG
        Those bench models active, every other bench-* model paused (saved through the ORM, so signals fire).
    count --battles FILE
        How many of the battles listed in FILE (one id per line) have their vote stored.
    timeline --battles FILE
        Each answer's stored times (queued, started, first chunk, finished; epoch seconds) for the
        battles listed in FILE, first turn.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Prompts of several kinds, so votes get the categories real ones get (text, code, counting, …).
PROMPTS = (
    "What is the capital of Australia, and why is it not Sydney?",
    "Write a Python function that reverses a linked list.",
    "How many legs do three spiders and two ants have in total?",
    "Explain step by step why the sky is blue.",
    "Summarise the plot of Hamlet in two sentences.",
    "¿Cuál es la montaña más alta de Europa?",
    "Describe a good name for a coffee shop next to a library.",
    "Why does ice float on water? Reason it out.",
)


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _ip_hash(address: str) -> str:
    from django.conf import settings

    # The same hash arena.identity.ip_hash_get computes from the client's address.
    return hmac.new(settings.ARENA_IP_HASH_SALT.encode(), address.encode(), hashlib.sha256).hexdigest()


def _models(group: str = "instant") -> list[Any]:
    from arena.models import Model

    models = list(Model.objects.filter(slug__startswith=f"bench-{group}-").order_by("slug"))
    if len(models) < 2:
        raise SystemExit(f"fewer than two bench-{group}-* models; start the stack with bench/stack.py")
    return models


def battles_finished_create(*, owners: list[tuple[str, str]], rng: random.Random) -> list[str]:
    """One finished battle per (voter id, address) in `owners`, in bulk; their ids, in order."""
    from django.db import connection, transaction
    from django.utils import timezone

    from arena.models import Battle, Response, Side, Turn

    models = _models()
    # A minute ago: the answers finished well before anyone votes (arena.integrity's minimum time).
    now = timezone.now() - timedelta(minutes=1)
    hashes: dict[str, str] = {}
    battles = []
    for voter_id, address in owners:
        model_a, model_b = rng.sample(models, 2)
        if address not in hashes:
            hashes[address] = _ip_hash(address)
        battles.append(
            Battle(
                id=uuid.uuid4(),
                model_a=model_a,
                model_b=model_b,
                creator_id=voter_id,
                ip_hash=hashes[address],
            )
        )
    text = "This is a scripted answer, not a model's. It streams chunk by chunk at its configured pace."
    with transaction.atomic():
        Battle.objects.bulk_create(battles, batch_size=2000)
        # Numbered: each prompt asked once, as the duplicate-prompt cap (arena.integrity) expects.
        turns = Turn.objects.bulk_create(
            (
                Turn(battle=battle, index=0, prompt=f"{rng.choice(PROMPTS)} (#{number})")
                for number, battle in enumerate(battles)
            ),
            batch_size=2000,
        )
        Response.objects.bulk_create(
            (
                Response(
                    turn=turn,
                    side=side,
                    text=text,
                    status=Response.Status.DONE,
                    started_at=now + timedelta(milliseconds=5),
                    first_chunk_at=now + timedelta(milliseconds=6),
                    finished_at=now + timedelta(milliseconds=8),
                    prompt_tokens=len(turn.prompt.split()),
                    completion_tokens=len(text.split()),
                )
                for turn in turns
                for side in Side.values
            ),
            batch_size=4000,
        )
        # queued_at is auto_now_add: set back to the start of the timeline above.
        Response.objects.filter(turn__in=turns).update(queued_at=now)
    # Tens of thousands of rows at once: until autovacuum gets to them, the planner's statistics say the
    # tables are nearly empty, and it read a battle's answers by scanning every answer (25 ms a vote
    # instead of 0.05 ms). Growing vote by vote, a real site never has that gap.
    with connection.cursor() as cursor:
        for model in (Battle, Turn, Response):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return [str(battle.id) for battle in battles]


def voters_create(
    *, count: int, battles_per_voter: int, addresses: list[str], seed: int
) -> list[dict[str, Any]]:
    from importlib import import_module

    from django.conf import settings

    from arena.identity import _SESSION_KEY

    if len(addresses) < count:
        raise SystemExit(f"{count} voters need {count} addresses, got {len(addresses)}")
    rng = random.Random(seed)
    # Through the configured session engine, so each session is stored wherever the site keeps them.
    engine = import_module(settings.SESSION_ENGINE)
    voters = []
    for i in range(count):
        session = engine.SessionStore()
        voter_id = uuid.uuid4().hex
        session[_SESSION_KEY] = voter_id
        session.create()
        voters.append({"session_key": session.session_key, "voter_id": voter_id, "address": addresses[i]})
    owners = [(voter["voter_id"], voter["address"]) for voter in voters for _ in range(battles_per_voter)]
    ids = battles_finished_create(owners=owners, rng=rng)
    for i, voter in enumerate(voters):
        voter["battles"] = ids[i * battles_per_voter : (i + 1) * battles_per_voter]
    return voters


def votes_cast(*, count: int, seed: int) -> dict[str, Any]:
    from arena.services import vote_cast
    from leaderboard.boards.arena.services import snapshot_compute

    rng = random.Random(seed)
    # One voter per vote, each from its own address: a board of many people, under every vote rule.
    owners = [(uuid.uuid4().hex, f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}") for n in range(count)]
    ids = battles_finished_create(owners=owners, rng=rng)
    winners = ("model_a", "model_b", "tie", "tie (bothbad)")
    for battle_id, (voter_id, address) in zip(ids, owners, strict=True):
        vote_cast(
            battle_id=battle_id,
            voter_id=voter_id,
            ip_hash=_ip_hash(address),
            winner=rng.choices(winners, (45, 40, 10, 5))[0],
        )
    snapshot = snapshot_compute()
    return {"votes": count, "snapshot": snapshot.version if snapshot else None}


def models_activate(*, slugs: list[str]) -> dict[str, Any]:
    from arena.models import Model

    changed = []
    for model in Model.objects.filter(slug__startswith="bench-"):
        status = Model.Status.ACTIVE if model.slug in slugs else Model.Status.PAUSED
        if model.status != status:
            model.status = status
            model.save(update_fields=["status", "updated_at"])
            changed.append(model.slug)
    active = sorted(Model.objects.filter(status=Model.Status.ACTIVE).values_list("slug", flat=True))
    return {"active": active, "changed": changed}


def votes_count(*, battles: list[str]) -> dict[str, Any]:
    from arena.models import Vote

    stored = 0
    for start in range(0, len(battles), 5000):
        stored += Vote.objects.filter(battle_id__in=battles[start : start + 5000]).count()
    return {"listed": len(battles), "stored": stored}


def answers_timeline(*, battles: list[str]) -> dict[str, Any]:
    from arena.models import Response

    def epoch(moment: Any) -> float | None:
        return None if moment is None else moment.timestamp()

    rows = Response.objects.filter(turn__battle_id__in=battles, turn__index=0).values_list(
        "turn__battle_id", "side", "queued_at", "started_at", "first_chunk_at", "finished_at"
    )
    timeline: dict[str, dict[str, Any]] = {}
    for battle_id, side, queued, started, first, finished in rows:
        timeline.setdefault(str(battle_id), {})[side] = {
            "queued": epoch(queued),
            "started": epoch(started),
            "first_chunk": epoch(first),
            "finished": epoch(finished),
        }
    return {"timeline": timeline}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="action", required=True)
    voters = sub.add_parser("voters")
    voters.add_argument("--count", type=int, required=True)
    voters.add_argument("--battles-per-voter", type=int, required=True)
    voters.add_argument("--addresses", type=Path, required=True)
    voters.add_argument("--out", type=Path, required=True)
    voters.add_argument("--seed", type=int, default=0)
    votes = sub.add_parser("votes")
    votes.add_argument("--count", type=int, required=True)
    votes.add_argument("--seed", type=int, default=0)
    activate = sub.add_parser("activate")
    activate.add_argument("--slugs", required=True, help="comma-separated")
    count = sub.add_parser("count")
    count.add_argument("--battles", type=Path, required=True)
    timeline = sub.add_parser("timeline")
    timeline.add_argument("--battles", type=Path, required=True)
    args = parser.parse_args()
    _setup()
    result: dict[str, Any]
    if args.action == "voters":
        addresses = args.addresses.read_text().split()
        made = voters_create(
            count=args.count, battles_per_voter=args.battles_per_voter, addresses=addresses, seed=args.seed
        )
        args.out.write_text(json.dumps(made))
        result = {"voters": len(made), "battles": sum(len(voter["battles"]) for voter in made)}
    elif args.action == "votes":
        result = votes_cast(count=args.count, seed=args.seed)
    elif args.action == "activate":
        result = models_activate(slugs=[slug.strip() for slug in args.slugs.split(",") if slug.strip()])
    elif args.action == "timeline":
        result = answers_timeline(battles=args.battles.read_text().split())
    else:
        result = votes_count(battles=args.battles.read_text().split())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
