"""Changes to arena data: start a battle, ask a follow-up, vote, retry."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import transaction

from arena import signals
from arena.answers import responses_enqueue
from arena.models import Battle, MediaAsset, Model, Response, Side, Turn, TurnAttachment, Vote, Winner
from arena.pairing import pair_draw
from core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from core.metrics import battle_started_count, vote_cast_count


def _prompt_clean(prompt: str) -> str:
    prompt = (prompt or "").strip()
    if not prompt:
        raise InvalidInput("Please type a question or instruction for the models.")
    limit = settings.ARENA_MAX_PROMPT_CHARS
    if len(prompt) > limit:
        raise InvalidInput(f"The prompt is {len(prompt):,} characters long; the limit is {limit:,}.")
    return prompt


def _turn_create(*, battle: Battle, index: int, prompt: str, attachments: Sequence[MediaAsset]) -> Turn:
    turn = Turn.objects.create(battle=battle, index=index, prompt=prompt)
    TurnAttachment.objects.bulk_create(
        TurnAttachment(turn=turn, asset=asset, position=position)
        for position, asset in enumerate(attachments)
    )
    responses = Response.objects.bulk_create(Response(turn=turn, side=side) for side in Side.values)
    responses_enqueue(responses=responses, models={Side.A: battle.model_a, Side.B: battle.model_b})
    return turn


def battle_create(
    *,
    prompt: str,
    attachments: Sequence[MediaAsset] = (),
    creator_id: str,
    ip_hash: str,
    retry_of: Battle | None = None,
) -> Battle:
    """Draw a pair able to read the prompt and start both answers."""
    prompt = _prompt_clean(prompt)
    modalities = {"text", *(asset.kind for asset in attachments)}
    candidates = list(Model.objects.filter(status=Model.Status.ACTIVE))
    model_a, model_b = pair_draw(candidates=candidates, modalities=modalities)
    with transaction.atomic():
        battle = Battle.objects.create(
            model_a=model_a, model_b=model_b, creator_id=creator_id, ip_hash=ip_hash, retry_of=retry_of
        )
        _turn_create(battle=battle, index=0, prompt=prompt, attachments=attachments)
        transaction.on_commit(battle_started_count)
    return battle


def _battle_locked(*, battle_id: uuid.UUID | str, voter_id: str) -> Battle:
    battle = (
        Battle.objects.select_for_update(of=("self",))
        .select_related("model_a", "model_b")
        .filter(pk=battle_id)
        .first()
    )
    if battle is None:
        raise NotFound("There is no such battle.")
    if battle.creator_id != voter_id:
        raise NotAllowed("Only the person who started this battle can continue or vote on it.")
    return battle


def _latest_responses_check(*, battle: Battle, action: str) -> int:
    """The index of the battle's latest turn, once both its answers finished well (one query)."""
    found = list(
        Response.objects.filter(turn__battle=battle)
        .order_by("-turn__index")
        .values_list("turn__index", "status")[: len(Side.values)]
    )
    assert found, "every battle is created with its first turn"
    index = found[0][0]
    statuses = {status for turn_index, status in found if turn_index == index}
    if statuses - set(Response.FINISHED):
        raise Conflict(f"Please wait until both answers have finished before you {action}.")
    if Response.Status.FAILED in statuses:
        raise Conflict(
            f"One of the answers failed, so you cannot {action} in this battle. Retry with a new pair."
        )
    return index


def turn_append(
    *, battle_id: uuid.UUID | str, voter_id: str, prompt: str, attachments: Sequence[MediaAsset] = ()
) -> Turn:
    """A follow-up question to the same pair."""
    prompt = _prompt_clean(prompt)
    with transaction.atomic():
        battle = _battle_locked(battle_id=battle_id, voter_id=voter_id)
        if Vote.objects.filter(battle=battle).exists():
            raise Conflict("This battle has been voted on; start a new round to ask more.")
        latest = _latest_responses_check(battle=battle, action="ask a follow-up")
        if latest + 1 >= settings.ARENA_MAX_TURNS:
            raise Conflict(
                f"This battle has reached its limit of {settings.ARENA_MAX_TURNS} turns. Please vote."
            )
        return _turn_create(battle=battle, index=latest + 1, prompt=prompt, attachments=attachments)


@dataclass(frozen=True)
class VoteResult:
    battle: Battle
    vote: Vote
    reveals: dict[str, signals.VoteReveal]


def vote_cast(*, battle_id: uuid.UUID | str, voter_id: str, ip_hash: str, winner: str) -> VoteResult:
    """Record the one vote of a battle and tell the layers above (`arena.signals.vote_cast`).

    The receivers run in the vote's transaction: what they move (the online Elo, the vote's
    categories) commits with the vote or not at all, and what they return is shown in the reveal.
    """
    if winner not in Winner.values:
        choices = ", ".join(f'"{value}"' for value in Winner.values)
        raise InvalidInput(f"The winner must be one of {choices}.")
    with transaction.atomic():
        battle = _battle_locked(battle_id=battle_id, voter_id=voter_id)
        if Vote.objects.filter(battle=battle).exists():
            raise Conflict("This battle already has a vote.")
        _latest_responses_check(battle=battle, action="vote")
        vote = Vote.objects.create(battle=battle, winner=winner, voter_id=voter_id, ip_hash=ip_hash)
        answers = signals.vote_cast.send(sender=Vote, vote=vote, battle=battle)
        transaction.on_commit(partial(vote_cast_count, winner=winner))
    reveals: dict[str, signals.VoteReveal] = {}
    for _, answer in answers:
        if isinstance(answer, signals.VoteReveal):
            reveals[answer.key] = answer
    return VoteResult(battle=battle, vote=vote, reveals=reveals)


def vote_invalidate(*, vote_id: int, reason: str = "") -> bool:
    """Mark a vote invalid (moderation); returns False when it already was.

    The layers above hear of it in the same transaction (`arena.signals.vote_invalidated`, with
    `reason`), so what they count drops the vote with it or not at all. The vote row stays.
    """
    with transaction.atomic():
        vote = (
            Vote.objects.select_for_update(of=("self",)).select_related("battle").filter(pk=vote_id).first()
        )
        if vote is None:
            raise NotFound("There is no such vote.")
        if not vote.is_valid:
            return False
        vote.is_valid = False
        Vote.objects.filter(pk=vote.pk).update(is_valid=False)
        signals.vote_invalidated.send(sender=Vote, vote=vote, battle=vote.battle, reason=reason)
    return True


def battle_retry(*, battle_id: uuid.UUID | str, voter_id: str, ip_hash: str) -> Battle:
    """The same first prompt and attachments, put to a freshly drawn pair."""
    battle = Battle.objects.filter(pk=battle_id).first()
    if battle is None:
        raise NotFound("There is no such battle.")
    if battle.creator_id != voter_id:
        raise NotAllowed("Only the person who started this battle can retry it.")
    first = battle.turns.order_by("index").first()
    assert first is not None
    attachments = [link.asset for link in TurnAttachment.objects.filter(turn=first).select_related("asset")]
    return battle_create(
        prompt=first.prompt, attachments=attachments, creator_id=voter_id, ip_hash=ip_hash, retry_of=battle
    )


def model_register(
    *,
    slug: str,
    display_name: str,
    organization: str = "",
    license: str = "",
    modalities: Sequence[str] = ("text", "image"),
    adapter_kind: str,
    adapter_config: dict[str, object],
    sampling_weight: float = 1.0,
    status: str = Model.Status.ACTIVE,
) -> Model:
    """Create or update a model by slug."""
    from workers.adapters import adapter_config_validate

    problems = adapter_config_validate(kind=adapter_kind, config=adapter_config)
    if problems:
        raise InvalidInput("The adapter configuration is not valid: " + "; ".join(problems))
    model, _ = Model.objects.update_or_create(
        slug=slug,
        defaults={
            "display_name": display_name,
            "organization": organization,
            "license": license,
            "input_modalities": list(modalities),
            "adapter_kind": adapter_kind,
            "adapter_config": adapter_config,
            "sampling_weight": sampling_weight,
            "status": status,
        },
    )
    from arena.worker_queues import worker_queues_announce

    transaction.on_commit(worker_queues_announce)
    return model
