"""Changes to arena data: start a battle (blind, or named for the playground), ask a follow-up, vote,
abandon, retry."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from arena import signals
from arena.answers import ABANDONED_FAILURE, responses_enqueue
from arena.content_filters import REASON_MAX, text_moderate
from arena.integrity import BattleAnswer, battle_answers, vote_exclusions
from arena.models import (
    Battle,
    Exclusion,
    MediaAsset,
    Model,
    Response,
    Side,
    Turn,
    TurnAttachment,
    Vote,
    Winner,
)
from arena.pairing import pair_draw
from arena.visibility import NO_SUCH_BATTLE, battle_readable
from arena.waiting import waiting_line_leave, waiting_places_tell
from core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from core.metrics import battle_started_count, vote_cast_count
from core.realtime import STREAM_EVENT, battle_group, group_send

logger = logging.getLogger(__name__)

ABANDONED_CONFLICT = "This battle was abandoned; start a new round."


def _prompt_clean(prompt: str) -> str:
    prompt = (prompt or "").strip()
    if not prompt:
        raise InvalidInput("Please type a question or instruction for the models.")
    limit = settings.ARENA_MAX_PROMPT_CHARS
    if len(prompt) > limit:
        raise InvalidInput(f"The prompt is {len(prompt):,} characters long; the limit is {limit:,}.")
    return prompt


PROMPT_REFUSED = "This prompt was refused by the content check; please rephrase it."


def _prompt_screen(*, prompt: str, label: str = "") -> list[str]:
    """The battle flags a prompt earns (README "Content filters"); InvalidInput when it is blocked.

    Asked before any transaction: an external classifier may take up to its timeout.
    """
    verdict = text_moderate(text=prompt)
    if verdict.action == "block":
        raise InvalidInput(PROMPT_REFUSED)
    return [f"{label}{reason}"[:REASON_MAX] for reason in verdict.reasons] if verdict.action == "flag" else []


def _turn_create(
    *, battle: Battle, index: int, prompt: str, attachments: Sequence[MediaAsset], video_frames: int = 8
) -> Turn:
    turn = Turn.objects.create(battle=battle, index=index, prompt=prompt)
    TurnAttachment.objects.bulk_create(
        TurnAttachment(
            turn=turn,
            asset=asset,
            position=position,
            # The voter's frame count: both sides see these frames of the video (arena.video).
            frames=video_frames if asset.kind == MediaAsset.Kind.VIDEO else None,
        )
        for position, asset in enumerate(attachments)
    )
    responses = Response.objects.bulk_create(Response(turn=turn, side=side) for side in battle.sides)
    responses_enqueue(responses=responses, models={Side.A: battle.model_a, Side.B: battle.model_b})
    return turn


def battle_create(
    *,
    prompt: str,
    attachments: Sequence[MediaAsset] = (),
    creator_id: str,
    ip_hash: str,
    retry_of: Battle | None = None,
    video_frames: int = 8,
) -> Battle:
    """Draw a pair able to read the prompt and start both answers."""
    prompt = _prompt_clean(prompt)
    flags = _prompt_screen(prompt=prompt)
    modalities = {"text", *(asset.kind for asset in attachments)}
    candidates = list(Model.objects.filter(status=Model.Status.ACTIVE))
    model_a, model_b = pair_draw(candidates=candidates, modalities=modalities)
    with transaction.atomic():
        battle = Battle.objects.create(
            model_a=model_a,
            model_b=model_b,
            creator_id=creator_id,
            ip_hash=ip_hash,
            retry_of=retry_of,
            flags=flags,
        )
        _turn_create(
            battle=battle, index=0, prompt=prompt, attachments=attachments, video_frames=video_frames
        )
        transaction.on_commit(battle_started_count)
    return battle


def _model_reads_check(*, model: Model, modalities: set[str]) -> None:
    missing = modalities - set(model.input_modalities)
    if missing:
        kinds = " and ".join(sorted(missing))
        raise InvalidInput(f"{model.display_name} cannot read {kinds}; pick another model or leave it out.")


def _battle_named_create(
    *,
    mode: str,
    model_a: Model,
    model_b: Model,
    prompt: str,
    attachments: Sequence[MediaAsset],
    creator_id: str,
    ip_hash: str,
) -> Battle:
    prompt = _prompt_clean(prompt)
    flags = _prompt_screen(prompt=prompt)
    modalities = {"text", *(asset.kind for asset in attachments)}
    for model in {model_a.pk: model_a, model_b.pk: model_b}.values():
        _model_reads_check(model=model, modalities=modalities)
    with transaction.atomic():
        battle = Battle.objects.create(
            mode=mode, model_a=model_a, model_b=model_b, creator_id=creator_id, ip_hash=ip_hash, flags=flags
        )
        _turn_create(battle=battle, index=0, prompt=prompt, attachments=attachments)
    return battle


def battle_start_named(
    *,
    model_a: Model,
    model_b: Model,
    prompt: str,
    attachments: Sequence[MediaAsset] = (),
    creator_id: str,
    ip_hash: str = "",
) -> Battle:
    """Two models the voter chose answer side by side, named throughout (the playground).

    Which models a voter may choose is the caller's to check (`arena.selectors.playground_models`).
    Its vote is stored with anony=False, so the anonymous board never counts it; it is never drawn
    by pairing, shown at a blind battle's permalink, or retried with a new pair.
    """
    if model_a.pk == model_b.pk:
        raise InvalidInput("Pick two different models to compare side by side.")
    return _battle_named_create(
        mode=Battle.Mode.SIDE_BY_SIDE,
        model_a=model_a,
        model_b=model_b,
        prompt=prompt,
        attachments=attachments,
        creator_id=creator_id,
        ip_hash=ip_hash,
    )


def chat_start(
    *, model: Model, prompt: str, attachments: Sequence[MediaAsset] = (), creator_id: str, ip_hash: str = ""
) -> Battle:
    """A direct chat with one chosen model: a named battle with side "a" only (model_b is model_a),
    so that its answers are generated, queued, streamed and stored as every battle's are. It takes
    follow-ups (`turn_append`) and no vote."""
    return _battle_named_create(
        mode=Battle.Mode.DIRECT,
        model_a=model,
        model_b=model,
        prompt=prompt,
        attachments=attachments,
        creator_id=creator_id,
        ip_hash=ip_hash,
    )


def _battle_locked(
    *,
    battle_id: uuid.UUID | str,
    voter_id: str,
    refusal: str = "Only the person who started this battle can continue or vote on it.",
    readers_only: bool = False,
    user: Any = None,
) -> Battle:
    battle = (
        Battle.objects.select_for_update(of=("self",))
        .select_related("model_a", "model_b")
        .filter(pk=battle_id)
        .first()
    )
    if battle is None:
        raise NotFound(NO_SUCH_BATTLE)
    if readers_only and (
        battle.mode != Battle.Mode.BLIND or not battle_readable(battle=battle, viewer_id=voter_id, user=user)
    ):
        raise NotFound(NO_SUCH_BATTLE)
    if battle.creator_id != voter_id:
        raise NotAllowed(refusal)
    return battle


def _latest_responses_check(
    *, battle: Battle, action: str, answers: Sequence[BattleAnswer] | None = None
) -> int:
    """The index of the battle's latest turn, once all its answers finished well (one query, none
    when the caller has read the battle's `answers` already)."""
    found: list[tuple[int, str]]
    if answers is None:
        found = list(
            Response.objects.filter(turn__battle=battle)
            .order_by("-turn__index")
            .values_list("turn__index", "status")[: len(battle.sides)]
        )
    else:
        found = [(answer.turn_index, answer.status) for answer in answers]
    assert found, "every battle is created with its first turn"
    index = max(turn_index for turn_index, _ in found)
    statuses = {status for turn_index, status in found if turn_index == index}
    if statuses - set(Response.FINISHED):
        pending = "the answer has" if len(battle.sides) == 1 else "both answers have"
        raise Conflict(f"Please wait until {pending} finished before you {action}.")
    if Response.Status.FAILED in statuses:
        raise Conflict(
            f"One of the answers failed, so you cannot {action} in this battle. Retry with a new pair."
        )
    return index


def turn_append(
    *,
    battle_id: uuid.UUID | str,
    voter_id: str,
    prompt: str,
    attachments: Sequence[MediaAsset] = (),
    video_frames: int = 8,
) -> Turn:
    """A follow-up question to the same pair."""
    prompt = _prompt_clean(prompt)
    flags = _prompt_screen(prompt=prompt, label="follow-up: ")
    with transaction.atomic():
        battle = _battle_locked(battle_id=battle_id, voter_id=voter_id)
        if battle.abandoned_at is not None:
            raise Conflict(ABANDONED_CONFLICT)
        if Vote.objects.filter(battle=battle).exists():
            raise Conflict("This battle has been voted on; start a new round to ask more.")
        if battle.erased_at is not None:
            raise Conflict("This battle's conversation was erased; start a new round to ask more.")
        latest = _latest_responses_check(battle=battle, action="ask a follow-up")
        needed = {asset.kind for asset in attachments}
        unread = needed - set(battle.model_a.input_modalities) | needed - set(battle.model_b.input_modalities)
        if unread:
            # In words that name neither model: before the vote they are anonymous.
            raise InvalidInput(
                f"The models of this battle cannot read {' or '.join(sorted(unread))}; "
                "start a new round with it."
            )
        if latest + 1 >= settings.ARENA_MAX_TURNS:
            if battle.mode == Battle.Mode.DIRECT:
                raise Conflict(
                    f"This chat has reached its limit of {settings.ARENA_MAX_TURNS} turns; start a new one."
                )
            raise Conflict(
                f"This battle has reached its limit of {settings.ARENA_MAX_TURNS} turns. Please vote."
            )
        added = [flag for flag in flags if flag not in battle.flags]
        if added:
            # New reasons put a battle a moderator already reviewed back in the queue.
            battle.flags = [*battle.flags, *added]
            battle.flags_reviewed_at = None
            battle.save(update_fields=["flags", "flags_reviewed_at"])
        return _turn_create(
            battle=battle,
            index=latest + 1,
            prompt=prompt,
            attachments=attachments,
            video_frames=video_frames,
        )


@dataclass(frozen=True)
class VoteResult:
    battle: Battle
    vote: Vote
    reveals: dict[str, signals.VoteReveal]


def vote_cast(
    *,
    battle_id: uuid.UUID | str,
    voter_id: str,
    ip_hash: str,
    winner: str,
    readers_only: bool = False,
    user: Any = None,
) -> VoteResult:
    """Record the one vote of a battle and tell the layers above (`arena.signals.vote_cast`).

    The receivers run in the vote's transaction: what they move (the online Elo, the vote's
    categories) commits with the vote or not at all, and what they return is shown in the reveal.
    Whether it counts is `arena.integrity.vote_exclusions`' rule: an excluded vote is stored with
    its reasons (is_valid False) and moves no count or rating.

    `readers_only` (the API's rule): one who may not read the blind battle (arena.visibility, with
    `user`) hears NotFound, as for an unknown one, before any other refusal.
    """
    if winner not in Winner.values:
        choices = ", ".join(f'"{value}"' for value in Winner.values)
        raise InvalidInput(f"The winner must be one of {choices}.")
    with transaction.atomic():
        battle = _battle_locked(battle_id=battle_id, voter_id=voter_id, readers_only=readers_only, user=user)
        if battle.abandoned_at is not None:
            raise Conflict(ABANDONED_CONFLICT)
        # After the lock, in a statement of its own: a vote committed while this one waited is seen.
        if Vote.objects.filter(battle=battle).exists():
            raise Conflict("This battle already has a vote.")
        if battle.mode == Battle.Mode.DIRECT:
            raise Conflict("A direct chat has one model, so there is nothing to vote on.")
        # One read of the answers for both the check and the integrity rules.
        answers = battle_answers(battle=battle)
        _latest_responses_check(battle=battle, action="vote", answers=answers)
        now = timezone.now()
        # Stored either way; the voter sees the same reveal, never why a vote did not count.
        exclusions = vote_exclusions(
            battle=battle, voter_id=voter_id, ip_hash=ip_hash, now=now, answers=answers
        )
        vote = Vote.objects.create(
            battle=battle,
            winner=winner,
            voter_id=voter_id,
            ip_hash=ip_hash,
            anony=not battle.named,
            is_valid=not exclusions,
            exclusions=exclusions,
            created_at=now,
        )
        replies = signals.vote_cast.send(sender=Vote, vote=vote, battle=battle, answers=answers)
        transaction.on_commit(partial(vote_cast_count, winner=winner))
    replies += signals.vote_committed.send(sender=Vote, vote=vote, battle=battle)
    reveals: dict[str, signals.VoteReveal] = {}
    for _, reply in replies:
        if isinstance(reply, signals.VoteReveal):
            reveals[reply.key] = reply
    return VoteResult(battle=battle, vote=vote, reveals=reveals)


def vote_invalidate(*, vote_id: int, reason: str = "", exclusion: str = Exclusion.INVALIDATED) -> bool:
    """Mark a vote invalid (moderation) for `exclusion`; returns False when it already was.

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
        vote.exclusions = [*vote.exclusions, exclusion]
        Vote.objects.filter(pk=vote.pk).update(is_valid=False, exclusions=vote.exclusions)
        signals.vote_invalidated.send(sender=Vote, vote=vote, battle=vote.battle, reason=reason)
    return True


def _votes_matching(
    *, voter_id: str | None, ip_hash: str | None, since: datetime | None, until: datetime | None
) -> QuerySet[Vote]:
    """The counted votes of one voter or one hashed address cast in [since, until)."""
    voter_id = (voter_id or "").strip() or None
    ip_hash = (ip_hash or "").strip() or None
    if (voter_id is None) == (ip_hash is None):
        raise InvalidInput("Name either a voter or a hashed address, not both and not neither.")
    if since is not None and until is not None and since >= until:
        raise InvalidInput("The time range is empty: its start must come before its end.")
    votes = Vote.objects.filter(is_valid=True)
    votes = votes.filter(voter_id=voter_id) if voter_id is not None else votes.filter(ip_hash=ip_hash)
    if since is not None:
        votes = votes.filter(created_at__gte=since)
    if until is not None:
        votes = votes.filter(created_at__lt=until)
    return votes


def votes_matching_count(
    *,
    voter_id: str | None = None,
    ip_hash: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """How many counted votes `votes_invalidate` with the same arguments would take out."""
    return _votes_matching(voter_id=voter_id, ip_hash=ip_hash, since=since, until=until).count()


def votes_invalidate(
    *,
    voter_id: str | None = None,
    ip_hash: str | None = None,
    since: datetime | None,
    until: datetime | None,
    reason: str,
) -> list[int]:
    """Invalidate every counted vote of one voter (`voter_id`) or one hashed address (`ip_hash`)
    cast in [since, until) (None: unbounded); returns their ids.

    All or none, each through `vote_invalidate`, so the counts drop exactly as for one vote.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Please say why: invalidating votes in bulk needs a reason.")
    with transaction.atomic():
        ids = list(
            _votes_matching(voter_id=voter_id, ip_hash=ip_hash, since=since, until=until)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        return [vote_id for vote_id in ids if vote_invalidate(vote_id=vote_id, reason=reason)]


def _sent_logged(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("an abandoned battle's socket was not told", exc_info=future.exception())


def _abandon_announce(*, battle_id: uuid.UUID, failed: Sequence[tuple[str, int]]) -> None:
    """Each answer that stopped hears its error, then the battle its state; not waited for, so that a
    channel layer that cannot be reached costs the request nothing (a socket that joins later reads
    the stored failures in its `sync`)."""
    group = battle_group(battle_id=battle_id)
    previous: Future[None] | None = None
    messages: list[dict[str, Any]] = [
        {"event": "error", "side": side, "turn": turn, "message": ABANDONED_FAILURE} for side, turn in failed
    ]
    for message in [*messages, {"event": "state", "state": "abandoned"}]:
        previous = group_send(group=group, message={"type": STREAM_EVENT, **message}, after=previous)
        previous.add_done_callback(_sent_logged)


def _lines_leave(*, waited: dict[str, list[int]]) -> None:
    for slug, response_ids in waited.items():
        waiting_line_leave(slug=slug, response_ids=response_ids)
        waiting_places_tell(slug=slug)


def _battle_abandon_locked(*, battle: Battle) -> None:
    """Within the caller's transaction, `battle` locked and neither voted nor abandoned."""
    now = timezone.now()
    battle.abandoned_at = now
    Battle.objects.filter(pk=battle.pk).update(abandoned_at=now)
    unfinished = list(
        Response.objects.select_for_update(of=("self",))
        .filter(turn__battle=battle, status__in=[Response.Status.QUEUED, Response.Status.STREAMING])
        .values_list("pk", "side", "status", "turn__index")
    )
    # A streaming answer's worker sees at its next lease renewal that the answer is no longer
    # streaming and stops; its own writes are all guarded by status=streaming, so none lands after this.
    Response.objects.filter(pk__in=[pk for pk, *_ in unfinished]).update(
        status=Response.Status.FAILED, error=ABANDONED_FAILURE, finished_at=now
    )
    waited: dict[str, list[int]] = {}
    for pk, side, status, _ in unfinished:
        if status == Response.Status.QUEUED:
            slug = (battle.model_a if side == Side.A else battle.model_b).slug
            waited.setdefault(slug, []).append(pk)
    failed = [(side, turn) for _, side, _, turn in unfinished]
    transaction.on_commit(partial(_lines_leave, waited=waited))
    transaction.on_commit(partial(_abandon_announce, battle_id=battle.pk, failed=failed))


def battle_abandon(*, battle_id: uuid.UUID | str, voter_id: str) -> Battle:
    """The creator leaves the battle: its unfinished answers fail and stop, and it takes no vote or
    turn any more. Abandoning it again changes nothing."""
    with transaction.atomic():
        battle = _battle_locked(
            battle_id=battle_id,
            voter_id=voter_id,
            refusal="Only the person who started this battle can abandon it.",
        )
        if battle.abandoned_at is not None:
            return battle
        if Vote.objects.filter(battle=battle).exists():
            raise Conflict("This battle has a vote, so it can no longer be abandoned.")
        _battle_abandon_locked(battle=battle)
    return battle


def battle_retry(*, battle_id: uuid.UUID | str, voter_id: str, ip_hash: str) -> Battle:
    """The same first prompt and attachments, put to a freshly drawn pair. The original battle is
    abandoned with it, so that its answers stop taking workers and it takes no vote; a battle that
    has a vote cannot be retried."""
    with transaction.atomic():
        battle = _battle_locked(
            battle_id=battle_id,
            voter_id=voter_id,
            refusal="Only the person who started this battle can retry it.",
        )
        if battle.named:
            raise Conflict("Only a blind battle can be retried with a new pair; pick the models again.")
        if battle.erased_at is not None:
            # arena.retention emptied its prompt and removed its images: there is nothing to ask again.
            raise Conflict("This battle's prompt was erased, so it cannot be retried; start a new round.")
        first = battle.turns.order_by("index").first()
        assert first is not None
        links = list(TurnAttachment.objects.filter(turn=first).select_related("asset"))
        attachments = [link.asset for link in links]
        video_frames = next((link.frames for link in links if link.frames), 8)
        # One prompt, one counted vote: a voted battle keeps its vote, and the original of a retry
        # is abandoned, so it takes none (arena.integrity's "retried" covers any other path).
        if Vote.objects.filter(battle=battle).exists():
            raise Conflict("This battle has a vote, so it can no longer be retried; start a new round.")
        # In the same transaction: when no new pair can be drawn, the original stays as it was.
        if battle.abandoned_at is None:
            _battle_abandon_locked(battle=battle)
        return battle_create(
            prompt=first.prompt,
            attachments=attachments,
            creator_id=voter_id,
            ip_hash=ip_hash,
            retry_of=battle,
            video_frames=video_frames,
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
