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
from datetime import datetime, timedelta
from typing import Final

from django.conf import settings
from django.db import connection
from django.db.models import Max, Q

from arena.identity import voter_hash_get
from arena.identity_leaks import answer_names_identity, identity_words
from arena.models import Ban, Battle, Exclusion, PromptCount, Response, TurnAttachment, Vote

_DAY: Final = timedelta(hours=24)
_TABLE: Final = PromptCount._meta.db_table


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
    """The normalised digest of the battle's first prompt and images."""
    first = battle.turns.order_by("index").values_list("pk", "prompt").first()
    if first is None:
        return normalised_prompt_digest(prompt="")
    turn_id, prompt = first
    hashes = list(
        TurnAttachment.objects.filter(turn_id=turn_id).order_by("position").values_list("asset_id", flat=True)
    )
    return normalised_prompt_digest(prompt=prompt, attachments=hashes)


def bans_holding(*, voter_id: str, ip_hash: str, now: datetime) -> set[str]:
    """The kinds of ban (`Ban.Kind`) that hold on this voter or address at `now`."""
    matches = Q(kind=Ban.Kind.VOTER, value_hash=voter_hash_get(voter_id=voter_id))
    if ip_hash:
        matches |= Q(kind=Ban.Kind.IP, value_hash=ip_hash)
    holding = Ban.objects.filter(matches, lifted_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    return set(holding.values_list("kind", flat=True).distinct())


def _answers_excluded(*, battle: Battle, now: datetime) -> list[str]:
    answers = list(
        Response.objects.filter(turn__battle=battle).values_list(
            "turn__index", "status", "text", "finished_at"
        )
    )
    reasons: list[str] = []
    if any(status == Response.Status.FAILED for _, status, _, _ in answers):
        reasons.append(Exclusion.ANSWER_FAILED)
    words = identity_words()
    if any(answer_names_identity(text=text, words=words) for _, _, text, _ in answers):
        reasons.append(Exclusion.IDENTITY_LEAK)
    minimum = settings.ARENA_VOTE_MIN_SECONDS
    if minimum > 0 and answers:
        latest = max(index for index, *_ in answers)
        finished = [at for index, _, _, at in answers if index == latest and at is not None]
        # Answers always carry their time once finished; one written without it is not judged.
        if finished and (now - max(finished)).total_seconds() < minimum:
            reasons.append(Exclusion.TOO_FAST)
    return reasons


def _daily_cap_reached(*, voter_id: str, now: datetime) -> bool:
    cap = settings.ARENA_VOTE_DAILY_CAP
    if cap <= 0:
        return False
    counted = Vote.objects.filter(voter_id=voter_id, is_valid=True, anony=True, created_at__gt=now - _DAY)
    # At most `cap` rows are looked at, however many the voter has.
    return counted[:cap].count() >= cap


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


def vote_exclusions(*, battle: Battle, voter_id: str, ip_hash: str, now: datetime) -> list[str]:
    """Why a vote cast on `battle` at `now` is not counted (`Exclusion` values, in their order); empty:
    it counts.

    Call it inside the vote's transaction, once per vote: a vote that counts takes one of its
    prompt's ARENA_PROMPT_COUNT_CAP places there (rolled back with the vote).
    """
    if battle.named:
        return []
    reasons = _answers_excluded(battle=battle, now=now)
    if battle.prompt_blocked_at is not None:
        reasons.append(Exclusion.PROMPT_BLOCKED)
    bans = bans_holding(voter_id=voter_id, ip_hash=ip_hash, now=now)
    if Ban.Kind.VOTER in bans:
        reasons.append(Exclusion.VOTER_BANNED)
    if Ban.Kind.IP in bans:
        reasons.append(Exclusion.IP_BANNED)
    if _daily_cap_reached(voter_id=voter_id, now=now):
        reasons.append(Exclusion.DAILY_CAP)
    if Battle.objects.filter(retry_of=battle).exists():
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
