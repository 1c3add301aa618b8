"""Submitting a model and moving it through its statuses.

    CHECKING ─► PENDING ─► APPROVED ─► EVALUATING ─► FINISHED ─► (enabled into the arena pool)
        └─► REFUSED    └─► REJECTED                └─► FAILED

Every change is one `_move`: checked against `_NEXT`, stored with a `SubmissionEvent` (who, when, why),
and told to the submission's live page once committed. An update (a new revision or endpoint) starts
again at CHECKING; withdrawing ends it, retiring its arena model (its votes and ratings stay).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from arena.models import AdapterKind, Model
from arena.services import model_register
from core.errors import Conflict, InvalidInput, NotAllowed, NotFound, Unavailable
from core.realtime import event_send
from portal.submissions import rules
from portal.submissions.models import Submission, SubmissionEvent

logger = logging.getLogger(__name__)

Status = Submission.Status
_NEXT: Final[dict[str, frozenset[str]]] = {
    Status.CHECKING: frozenset({Status.PENDING, Status.REFUSED, Status.WITHDRAWN}),
    Status.PENDING: frozenset({Status.APPROVED, Status.REJECTED, Status.CHECKING, Status.WITHDRAWN}),
    Status.REFUSED: frozenset({Status.CHECKING, Status.WITHDRAWN}),
    Status.APPROVED: frozenset({Status.EVALUATING, Status.CHECKING, Status.WITHDRAWN}),
    Status.REJECTED: frozenset({Status.CHECKING, Status.WITHDRAWN}),
    Status.EVALUATING: frozenset({Status.FINISHED, Status.FAILED, Status.WITHDRAWN}),
    Status.FINISHED: frozenset({Status.CHECKING, Status.WITHDRAWN}),
    Status.FAILED: frozenset({Status.CHECKING, Status.WITHDRAWN}),
    Status.WITHDRAWN: frozenset(),
}
LOG_TAIL_CHARS: Final = 4000


def submission_group(*, submission_id: uuid.UUID | str) -> str:
    return f"submission.{submission_id}"


def _tell(submission: Submission, event: SubmissionEvent) -> None:
    try:
        event_send(
            group=submission_group(submission_id=submission.pk),
            event="status",
            timeout=5,
            status=submission.status,
            label=submission.get_status_display(),
            reason=submission.reason,
            at=event.at.isoformat(),
            log_tail=submission.log_tail,
        )
    except Exception:  # noqa: BLE001 - the channel layer's errors, whatever they are
        # The page shows the status when it next loads: a lost live update loses nothing.
        logger.warning("could not tell submission %s's page about %s", submission.pk, submission.status)


def _move(
    submission: Submission, to: str, *, actor: Any = None, reason: str = "", log_tail: str | None = None
) -> Submission:
    """Change the status (the row locked by the caller's transaction), keeping the event."""
    if to not in _NEXT[submission.status]:
        raise Conflict(
            f"This submission is {submission.get_status_display().lower()}; "
            f"it cannot become {Status(to).label.lower()} from there."
        )
    previous = submission.status
    submission.status = to
    submission.reason = reason
    submission.status_changed_at = timezone.now()
    fields = ["status", "reason", "status_changed_at"]
    if log_tail is not None:
        submission.log_tail = log_tail[-LOG_TAIL_CHARS:]
        fields.append("log_tail")
    submission.save(update_fields=fields)
    event = SubmissionEvent.objects.create(
        submission=submission,
        status=to,
        previous=previous,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        reason=reason,
    )
    transaction.on_commit(lambda: _tell(submission, event))
    return submission


def _locked(submission_id: uuid.UUID | str) -> Submission:
    try:
        return Submission.objects.select_for_update().get(pk=submission_id)
    except (Submission.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such submission.") from None


def _owned(submission: Submission, *, user: Any) -> None:
    if submission.submitter_id != user.pk and not user.is_staff:
        # As if it did not exist: a submission's id tells nothing to anyone else.
        raise NotFound("No such submission.")


def _key_encrypt(api_key: str) -> str:
    from workers.secrets import SecretError, secret_encrypt

    if not api_key:
        return ""
    try:
        return secret_encrypt(plaintext=api_key)
    except SecretError as error:
        # The operator's to fix (no key configured): say so, and store nothing.
        raise Unavailable(f"This site cannot take API keys right now. {error}") from None


def _check_enqueue(submission: Submission) -> None:
    from portal.submissions.tasks import submission_check_task

    transaction.on_commit(
        lambda: submission_check_task.apply_async(
            args=[str(submission.pk)], queue=settings.PORTAL_CHECK_QUEUE
        )
    )


def submission_create(*, user: Any, data: dict[str, Any]) -> Submission:
    """Accept a submission (its fields checked, the limits applied) and start its checks."""
    fields = rules.fields_clean(data=data)
    rules.card_check(description=fields["description"], license=fields["license"])
    slug = rules.slug_choose(display_name=fields["display_name"], kind=fields["kind"])
    rules.name_check(display_name=fields["display_name"], slug=slug)
    rules.duplicate_check(
        kind=fields["kind"],
        source=fields.get("source", ""),
        revision=fields.get("revision", ""),
        base_url=fields.get("base_url", ""),
        endpoint_model=fields.get("endpoint_model", ""),
    )
    api_key = fields.pop("api_key", "")
    with transaction.atomic():
        # One submitter's submissions in turn, so that two at once cannot both pass the weekly limit.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        rules.rate_check(user=user)
        submission = Submission.objects.create(
            submitter=user, slug=slug, api_key_encrypted=_key_encrypt(api_key), **fields
        )
        event = SubmissionEvent.objects.create(submission=submission, status=Status.CHECKING, actor=user)
        transaction.on_commit(lambda: _tell(submission, event))
        _check_enqueue(submission)
    return submission


def submission_update(*, user: Any, submission_id: uuid.UUID | str, data: dict[str, Any]) -> Submission:
    """A new revision or endpoint (or card): checked again from the start."""
    with transaction.atomic():
        submission = _locked(submission_id)
        _owned(submission, user=user)
        if submission.submitter_id != user.pk:
            raise NotAllowed("Only the submitter can update a submission.")
        if submission.status == Status.EVALUATING:
            raise Conflict("This submission is being evaluated; update it once the evaluation ends.")
        run = rules.run_fields_clean(data={**_run_fields(submission), **data}, kind=submission.kind)
        card = {
            "description": rules.text_field(
                {"description": data.get("description", submission.description)},
                "description",
                label="model card",
                most=50_000,
                required=False,
            ),
            "license": rules.text_field(
                {"license": data.get("license", submission.license)},
                "license",
                label="licence",
                most=100,
                required=False,
            ),
        }
        rules.card_check(**card)
        rules.duplicate_check(
            kind=submission.kind,
            source=run.get("source", ""),
            revision=run.get("revision", ""),
            base_url=run.get("base_url", ""),
            endpoint_model=run.get("endpoint_model", ""),
            exclude_id=submission.pk,
        )
        api_key = run.pop("api_key", "")
        for name, value in {**run, **card}.items():
            setattr(submission, name, value)
        if api_key:
            submission.api_key_encrypted = _key_encrypt(api_key)
        submission.commit = ""
        submission.report = {}
        submission.save()
        if submission.model_id is not None:
            # Out of the pool until the new version has been checked and evaluated.
            Model.objects.filter(pk=submission.model_id, status=Model.Status.ACTIVE).update(
                status=Model.Status.PAUSED
            )
            Submission.objects.filter(pk=submission.pk).update(enabled_at=None)
            submission.enabled_at = None
        _move(submission, Status.CHECKING, actor=user, reason="Updated by the submitter.")
        _check_enqueue(submission)
    return submission


def _run_fields(submission: Submission) -> dict[str, str]:
    if submission.kind == Submission.Kind.CHECKPOINT:
        return {"source": submission.source, "revision": submission.revision, "dtype": submission.dtype}
    # The key is not asked again: left out, the stored one stays.
    return {"base_url": submission.base_url, "model": submission.endpoint_model}


def submission_withdraw(*, user: Any, submission_id: uuid.UUID | str) -> Submission:
    with transaction.atomic():
        submission = _locked(submission_id)
        _owned(submission, user=user)
        if submission.status == Status.WITHDRAWN:
            return submission
        if submission.model_id is not None:
            Model.objects.filter(pk=submission.model_id).update(status=Model.Status.RETIRED)
        return _move(submission, Status.WITHDRAWN, actor=user, reason="Withdrawn by the submitter.")


def _staff(user: Any, action: str) -> None:
    # Moderators (the moderation console's permission) approve and reject too, staff or not.
    moderator = hasattr(user, "has_perm") and user.has_perm("moderation.act")
    if not (getattr(user, "is_staff", False) or moderator):
        raise NotAllowed(f"Only staff can {action} a submission.")


def submission_approve(*, user: Any, submission_id: uuid.UUID | str) -> Submission:
    _staff(user, "approve")
    with transaction.atomic():
        submission = _move(_locked(submission_id), Status.APPROVED, actor=user)
        from portal.submissions.tasks import submission_evaluate_task

        transaction.on_commit(
            lambda: submission_evaluate_task.apply_async(
                args=[str(submission.pk)], queue=settings.PORTAL_CHECK_QUEUE
            )
        )
    return submission


def submission_reject(*, user: Any, submission_id: uuid.UUID | str, reason: str) -> Submission:
    _staff(user, "reject")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Please say why the submission is rejected; the submitter will read it.")
    with transaction.atomic():
        return _move(_locked(submission_id), Status.REJECTED, actor=user, reason=reason[:2000])


def adapter_of(*, submission: Submission) -> tuple[str, dict[str, Any]]:
    """The arena adapter kind and configuration that run the submitted model."""
    if submission.kind == Submission.Kind.CHECKPOINT:
        path = submission.report.get("path") or submission.source
        config: dict[str, Any] = {"path": path}
        if submission.dtype and submission.dtype != "auto":
            config["dtype"] = submission.dtype
        return AdapterKind.TRANSFORMERS, config
    config = {"base_url": submission.base_url, "model": submission.endpoint_model, "public_only": True}
    if submission.api_key_encrypted:
        config["api_key_encrypted"] = submission.api_key_encrypted
    return AdapterKind.OPENAI, config


def submission_model_register(*, submission: Submission, status: str) -> Model:
    """The arena model the submission runs as (created or brought up to date), in `status`."""
    kind, config = adapter_of(submission=submission)
    model = model_register(
        slug=submission.slug,
        display_name=submission.display_name,
        organization=submission.organization,
        license=submission.license,
        modalities=submission.input_modalities,
        adapter_kind=kind,
        adapter_config=config,
        status=status,
    )
    Model.objects.filter(pk=model.pk).update(description=submission.description, links=submission.links)
    if submission.model_id != model.pk:
        Submission.objects.filter(pk=submission.pk).update(model=model)
        submission.model = model
    return model


def submission_enable(*, user: Any | None, submission_id: uuid.UUID | str) -> Submission:
    """A finished submission into the arena pool, with the new models' sampling boost."""
    if user is not None:
        _staff(user, "enable")
    with transaction.atomic():
        submission = _locked(submission_id)
        if submission.status != Status.FINISHED:
            raise Conflict("Only a finished submission can enter the arena.")
        model = submission_model_register(submission=submission, status=Model.Status.ACTIVE)
        Model.objects.filter(pk=model.pk).update(sampling_boost=settings.ARENA_NEW_MODEL_BOOST)
        submission.enabled_at = timezone.now()
        submission.save(update_fields=["enabled_at"])
    return submission


def submission_checked(
    *, submission_id: uuid.UUID | str, problem: str | None, report: dict[str, Any]
) -> Submission:
    """The checks' verdict: waiting for approval, or refused with the reason."""
    with transaction.atomic():
        submission = _locked(submission_id)
        if submission.status != Status.CHECKING:
            return submission  # withdrawn or updated meanwhile: this verdict is about an old version
        submission.report = report
        submission.commit = str(report.get("commit") or "")
        submission.save(update_fields=["report", "commit"])
        if problem:
            return _move(submission, Status.REFUSED, reason=problem)
        return _move(submission, Status.PENDING)


def submission_evaluation_start(*, submission_id: uuid.UUID | str) -> Submission | None:
    """APPROVED → EVALUATING, its arena model registered (paused, out of the pool); None when it is no
    longer approved (withdrawn, updated)."""
    with transaction.atomic():
        submission = _locked(submission_id)
        if submission.status != Status.APPROVED:
            return None
        submission_model_register(submission=submission, status=Model.Status.PAUSED)
        return _move(submission, Status.EVALUATING)


def submission_progress_record(
    *, submission_id: uuid.UUID | str, done: int, total: int, eta_s: float | None, url: str
) -> None:
    """How far the submission's evaluating run has got, for its page (stored, and sent to the page live)."""
    progress = {"done": done, "total": total, "eta_s": eta_s, "url": url}
    Submission.objects.filter(pk=submission_id).update(evaluation_progress=progress)
    try:
        event_send(
            group=submission_group(submission_id=submission_id), event="progress", timeout=5, **progress
        )
    except Exception:  # noqa: BLE001 - the channel layer's errors, whatever they are
        logger.warning("could not tell submission %s's page its evaluation progress", submission_id)


def submission_evaluated(*, submission_id: uuid.UUID | str, problem: str | None, log_tail: str) -> Submission:
    with transaction.atomic():
        submission = _locked(submission_id)
        if submission.status != Status.EVALUATING:
            return submission
        if problem:
            return _move(submission, Status.FAILED, reason=problem, log_tail=log_tail)
        submission = _move(submission, Status.FINISHED, log_tail=log_tail)
    if settings.PORTAL_AUTO_ENABLE:
        submission_enable(user=None, submission_id=submission.pk)
    return submission


ACTIONS: Final = ("withdraw", "approve", "reject", "enable")


def submission_act(*, user: Any, submission_id: uuid.UUID | str, action: str, reason: str = "") -> Submission:
    """One of the buttons on a submission's page (and the API's matching endpoints) by name."""
    if action == "withdraw":
        return submission_withdraw(user=user, submission_id=submission_id)
    if action == "approve":
        return submission_approve(user=user, submission_id=submission_id)
    if action == "reject":
        return submission_reject(user=user, submission_id=submission_id, reason=reason)
    if action == "enable":
        return submission_enable(user=user, submission_id=submission_id)
    raise NotFound(f"A submission has no action {action!r}.")
