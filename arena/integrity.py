"""Which votes count, decided when the vote is cast (README "Which votes count").

A vote is always stored; it counts for the anonymous board only when no rule below excludes it, and
an excluded vote keeps every reason that applies (`Vote.exclusions`, `Exclusion` codes):

- `answer_failed`: an answer of any turn failed;
- `identity_leak`: an answer of any turn names a model or an organisation (arena.identity_leaks);
- `prompt_blocked`: a moderator blocked the battle's prompt (`Battle.prompt_blocked_at`);
- `voter_banned`, `ip_banned`: a ban holds on the voter or the address (not lifted, not expired);
- `daily_cap`: the voter already has ARENA_VOTE_DAILY_CAP counted votes in the last 24 hours;
- `too_fast`: it came less than ARENA_VOTE_MIN_SECONDS after the latest answers finished;
- `retried`: the battle was retried with a new pair (its original is abandoned, so this is the
  backstop for any other path to a vote);
- `duplicate_prompt`: its normalised first prompt (with that turn's images) has been counted
  ARENA_PROMPT_COUNT_CAP times already: LMArena's de-duplication of its most frequent prompts,
  applied as votes arrive.

A named battle's vote (the playground's, anony=False) is never counted by the anonymous board, and
none of these rules applies to it. Moderators write the bans and blocks (arena.sanctions); only this
module reads them to decide.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from django.conf import settings
from django.db import connection
from django.db.models import Max, Q

from arena.identity import voter_hash_get
from arena.identity_leaks import answer_names_identity, identity_words
from arena.models import Ban, Battle, Exclusion, PromptCount, Response, Turn, TurnAttachment, Vote

_DAY: Final = timedelta(hours=24)
_TABLE: Final = PromptCount._meta.db_table
_BANS: Final = Ban._meta.db_table
_VOTES: Final = Vote._meta.db_table
_BATTLES: Final = Battle._meta.db_table
_TURNS: Final = Turn._meta.db_table
_ATTACHMENTS: Final = TurnAttachment._meta.db_table


def _edge_sign(char: str) -> bool:
    # Punctuation and symbols: "What is this?", "what is this" and "¿What is this…" are one prompt.
    return unicodedata.category(char)[0] in "PSZ" or char.isspace()


def normalised_prompt_digest(*, prompt: str, attachments: Sequence[str] = ()) -> str:
    """The key under which a prompt's counted votes are capped: the prompt compatibility-normalised
    (NFKC), case-folded, its whitespace collapsed and the punctuation at its ends stripped, with the
    content hashes of its images in order (the same question about another picture is another
    prompt); SHA-256, hex."""
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", prompt or "").casefold())
    start, end = 0, len(text)
    while start < end and _edge_sign(text[start]):
        start += 1
    while end > start and _edge_sign(text[end - 1]):
        end -= 1
    key = "\n".join([text[start:end], *attachments])
    return hashlib.sha256(key.encode()).hexdigest()


def battle_prompt_digest(*, battle: Battle) -> str:
    """The normalised digest of the battle's first prompt and images (one query)."""
    sql = f"""
        SELECT t.prompt, ARRAY(
            SELECT a.asset_id FROM {_ATTACHMENTS} a WHERE a.turn_id = t.id ORDER BY a.position
        )
        FROM {_TURNS} t WHERE t.battle_id = %s ORDER BY t.index LIMIT 1
    """  # noqa: S608 (the tables are constants, values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [battle.pk])
        first = cursor.fetchone()
    if first is None:
        return normalised_prompt_digest(prompt="")
    prompt, hashes = first
    return normalised_prompt_digest(prompt=prompt, attachments=[str(value) for value in hashes])


def bans_holding(*, voter_id: str, ip_hash: str, now: datetime) -> set[str]:
    """The kinds of ban (`Ban.Kind`) that hold on this voter or address at `now`."""
    matches = Q(kind=Ban.Kind.VOTER, value_hash=voter_hash_get(voter_id=voter_id))
    if ip_hash:
        matches |= Q(kind=Ban.Kind.IP, value_hash=ip_hash)
    holding = Ban.objects.filter(matches, lifted_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    return set(holding.values_list("kind", flat=True).distinct())


@dataclass(frozen=True)
class BattleAnswer:
    turn_index: int
    side: str
    status: str
    text: str
    finished_at: datetime | None


def battle_answers(*, battle: Battle) -> list[BattleAnswer]:
    """Every answer of the battle, every turn (one query): what the vote's checks and rules read."""
    rows = Response.objects.filter(turn__battle=battle).values_list(
        "turn__index", "side", "status", "text", "finished_at"
    )
    return [BattleAnswer(*row) for row in rows]


def _answers_excluded(*, answers: Sequence[BattleAnswer], now: datetime) -> list[str]:
    reasons: list[str] = []
    if any(answer.status == Response.Status.FAILED for answer in answers):
        reasons.append(Exclusion.ANSWER_FAILED)
    words = identity_words()
    if any(answer_names_identity(text=answer.text, words=words) for answer in answers):
        reasons.append(Exclusion.IDENTITY_LEAK)
    minimum = settings.ARENA_VOTE_MIN_SECONDS
    if minimum > 0 and answers:
        latest = max(answer.turn_index for answer in answers)
        finished = [
            answer.finished_at
            for answer in answers
            if answer.turn_index == latest and answer.finished_at is not None
        ]
        # Answers always carry their time once finished; one written without it is not judged.
        if finished and (now - max(finished)).total_seconds() < minimum:
            reasons.append(Exclusion.TOO_FAST)
    return reasons


def _voter_rules_read(
    *, battle: Battle, voter_id: str, ip_hash: str, now: datetime
) -> tuple[set[str], bool, bool]:
    """(the kinds of ban holding as `bans_holding` reads them, whether the voter already has
    ARENA_VOTE_DAILY_CAP counted votes in the last 24 hours, whether the battle was retried), read in
    one statement: three rules of a vote for one round trip."""
    cap = settings.ARENA_VOTE_DAILY_CAP
    sql = f"""
        SELECT
            ARRAY(
                SELECT DISTINCT b.kind FROM {_BANS} b
                WHERE b.lifted_at IS NULL AND (b.expires_at IS NULL OR b.expires_at > %s)
                AND ((b.kind = %s AND b.value_hash = %s) OR (%s <> '' AND b.kind = %s AND b.value_hash = %s))
            ),
            (
                SELECT COUNT(*) FROM (
                    SELECT 1 FROM {_VOTES} v
                    WHERE v.voter_id = %s AND v.is_valid AND v.anony AND v.created_at > %s
                    LIMIT %s
                ) AS counted
            ),
            EXISTS (SELECT 1 FROM {_BATTLES} r WHERE r.retry_of_id = %s)
    """  # noqa: S608 (the tables are constants, values are parameters)
    params = [
        now,
        Ban.Kind.VOTER,
        voter_hash_get(voter_id=voter_id),
        ip_hash or "",
        Ban.Kind.IP,
        ip_hash or "",
        voter_id,
        now - _DAY,
        max(cap, 0),
        battle.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None
    kinds, counted, retried = row
    # At most `cap` votes are looked at, however many the voter has; no cap: never reached.
    return {str(kind) for kind in kinds}, cap > 0 and counted >= cap, bool(retried)


def _prompt_place_take(*, digest: str, cap: int) -> bool:
    """One of the prompt's `cap` counted places, taken in one statement (False: none is left), so
    that concurrent votes on one prompt never count it more than `cap` times."""
    sql = f"""
        INSERT INTO {_TABLE} (digest, counted, updated_at) VALUES (%s, 1, now())
        ON CONFLICT (digest) DO UPDATE SET counted = {_TABLE}.counted + 1, updated_at = now()
        WHERE {_TABLE}.counted < %s
        RETURNING counted
    """  # noqa: S608 (the table is a constant, values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [digest, cap])
        return cursor.fetchone() is not None


def vote_exclusions(
    *,
    battle: Battle,
    voter_id: str,
    ip_hash: str,
    now: datetime,
    answers: Sequence[BattleAnswer] | None = None,
) -> list[str]:
    """Why a vote cast on `battle` at `now` is not counted (`Exclusion` values, in their order); empty:
    it counts. `answers`: the battle's, when the caller has read them already (`battle_answers`).

    Call it inside the vote's transaction, once per vote: a vote that counts takes one of its
    prompt's ARENA_PROMPT_COUNT_CAP places there (rolled back with the vote).
    """
    if battle.named:
        return []
    if answers is None:
        answers = battle_answers(battle=battle)
    reasons = _answers_excluded(answers=answers, now=now)
    if battle.prompt_blocked_at is not None:
        reasons.append(Exclusion.PROMPT_BLOCKED)
    bans, capped, retried = _voter_rules_read(battle=battle, voter_id=voter_id, ip_hash=ip_hash, now=now)
    if Ban.Kind.VOTER in bans:
        reasons.append(Exclusion.VOTER_BANNED)
    if Ban.Kind.IP in bans:
        reasons.append(Exclusion.IP_BANNED)
    if capped:
        reasons.append(Exclusion.DAILY_CAP)
    if retried:
        reasons.append(Exclusion.RETRIED)
    cap = settings.ARENA_PROMPT_COUNT_CAP
    if cap > 0:
        digest = battle_prompt_digest(battle=battle)
        if reasons:
            full = PromptCount.objects.filter(digest=digest, counted__gte=cap).exists()
        else:
            full = not _prompt_place_take(digest=digest, cap=cap)
        if full:
            reasons.append(Exclusion.DUPLICATE_PROMPT)
    order = list(Exclusion.values)
    return sorted((str(reason) for reason in reasons), key=order.index)


def prompt_counted(*, battle: Battle) -> int:
    """How many counted votes the battle's normalised prompt has had."""
    found = PromptCount.objects.filter(digest=battle_prompt_digest(battle=battle)).aggregate(n=Max("counted"))
    return found["n"] or 0
