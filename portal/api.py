"""REST endpoints of the submission portal: submit, follow, update and withdraw; staff approve, reject
and enable; anyone reads the queue. Authenticated by session (with CSRF for writes) or bearer token."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from core.api import ErrorOut
from core.ratelimits import request_rate_limit_check
from portal.auth import user_require, write_require
from portal.submissions import selectors, services
from portal.submissions.models import Submission

router = Router(tags=["submissions"])

_WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class LinkIn(Schema):
    label: str
    url: str


class SubmissionIn(Schema):
    kind: str = Field(
        description='"checkpoint" (a transformers checkpoint) or "endpoint" (OpenAI-compatible)'
    )
    display_name: str
    organization: str
    license: str = ""
    description: str = Field("", description="The model card, in Markdown")
    links: list[LinkIn] = []
    input_modalities: list[str] = ["text", "image"]
    source: str = Field("", description="checkpoint: a local path or a hub id")
    revision: str = Field("", description="checkpoint: a branch, tag or commit; pinned to its commit")
    dtype: str = Field("auto", description="checkpoint: auto, float32, float16 or bfloat16")
    base_url: str = Field("", description="endpoint: the base URL, e.g. https://host/v1")
    model: str = Field("", description="endpoint: the model name it serves")
    api_key: str = Field("", description="endpoint: its API key; stored encrypted, never shown again")


class SubmissionUpdateIn(Schema):
    description: str | None = None
    license: str | None = None
    source: str | None = None
    revision: str | None = None
    dtype: str | None = None
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None


class RejectIn(Schema):
    reason: str


class EventOut(Schema):
    status: str
    previous: str
    reason: str
    at: datetime
    by_staff: bool


class SubmissionOut(Schema):
    id: uuid.UUID
    slug: str
    display_name: str
    organization: str
    license: str
    kind: str
    status: str
    status_label: str
    reason: str
    log_tail: str
    source: str
    revision: str
    commit: str
    dtype: str
    base_url: str
    endpoint_model: str
    has_api_key: bool
    report: dict[str, Any]
    model_url: str | None
    enabled: bool
    created_at: datetime
    status_changed_at: datetime
    events: list[EventOut]


class QueueEntryOut(Schema):
    slug: str
    display_name: str
    organization: str
    kind: str
    status: str
    position: int | None
    created_at: datetime
    status_changed_at: datetime


def submission_out(submission: Submission) -> dict[str, Any]:
    """A submission as its submitter and staff read it: never the API key, only whether there is one."""
    return {
        "id": submission.pk,
        "slug": submission.slug,
        "display_name": submission.display_name,
        "organization": submission.organization,
        "license": submission.license,
        "kind": submission.kind,
        "status": submission.status,
        "status_label": submission.get_status_display(),
        "reason": submission.reason,
        "log_tail": submission.log_tail,
        "source": submission.source,
        "revision": submission.revision,
        "commit": submission.commit,
        "dtype": submission.dtype,
        "base_url": submission.base_url,
        "endpoint_model": submission.endpoint_model,
        "has_api_key": bool(submission.api_key_encrypted),
        "report": submission.report,
        "model_url": f"/models/{submission.slug}/" if submission.enabled_at else None,
        "enabled": submission.enabled_at is not None,
        "created_at": submission.created_at,
        "status_changed_at": submission.status_changed_at,
        "events": [
            {
                "status": event.status,
                "previous": event.previous,
                "reason": event.reason,
                "at": event.at,
                "by_staff": bool(event.actor_id and event.actor_id != submission.submitter_id),
            }
            for event in submission.events.all()
        ],
    }


def _private(response: HttpResponse) -> None:
    response["Cache-Control"] = "private, no-store"


def _acted(
    request: HttpRequest, response: HttpResponse, submission_id: uuid.UUID, action: str, reason: str = ""
) -> dict[str, Any]:
    _private(response)
    user = write_require(request=request)
    return submission_out(
        services.submission_act(user=user, submission_id=submission_id, action=action, reason=reason)
    )


@router.post(
    "/submissions",
    response={202: SubmissionOut, 413: ErrorOut, 422: ErrorOut, 429: ErrorOut, **_WRITE_ERRORS},
    summary="Submit a model: its checks start at once (status checking)",
)
def submissions_create(
    request: HttpRequest, response: HttpResponse, payload: SubmissionIn
) -> Status[dict[str, Any]]:
    _private(response)
    user = write_require(request=request)
    request_rate_limit_check(request=request, scope="submission", client=f"user:{user.pk}")
    data = payload.dict()
    data["links"] = [dict(link) for link in data["links"]]
    submission = services.submission_create(user=user, data=data)
    return Status(202, submission_out(submission))


@router.get(
    "/submissions",
    response={200: list[SubmissionOut], 401: ErrorOut},
    summary="Your submissions (staff: everyone's), newest first",
)
def submissions_list(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    _private(response)
    found = selectors.submissions_visible(user=user_require(request=request)).prefetch_related("events")[:200]
    return [submission_out(submission) for submission in found]


@router.get(
    "/submissions/queue",
    response={200: list[QueueEntryOut]},
    summary="The public queue: every submission past its checks, by status, with its place",
)
def submissions_queue(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "slug": entry.submission.slug,
            "display_name": entry.submission.display_name,
            "organization": entry.submission.organization,
            "kind": entry.submission.kind,
            "status": group.status,
            "position": entry.position,
            "created_at": entry.submission.created_at,
            "status_changed_at": entry.submission.status_changed_at,
        }
        for group in selectors.queue_groups()
        for entry in group.entries
    ]


@router.get(
    "/submissions/{uuid:submission_id}",
    response={200: SubmissionOut, 401: ErrorOut, 404: ErrorOut},
    summary="One of your submissions, with every status it went through",
)
def submissions_get(request: HttpRequest, response: HttpResponse, submission_id: uuid.UUID) -> dict[str, Any]:
    _private(response)
    return submission_out(
        selectors.submission_get(user=user_require(request=request), submission_id=submission_id)
    )


@router.patch(
    "/submissions/{uuid:submission_id}",
    response={202: SubmissionOut, 422: ErrorOut, **_WRITE_ERRORS},
    summary="Update a submission (a new revision, endpoint or card): it is checked again",
)
def submissions_update(
    request: HttpRequest, response: HttpResponse, submission_id: uuid.UUID, payload: SubmissionUpdateIn
) -> Status[dict[str, Any]]:
    _private(response)
    data = {key: value for key, value in payload.dict().items() if value is not None}
    submission = services.submission_update(
        user=write_require(request=request), submission_id=submission_id, data=data
    )
    return Status(202, submission_out(submission))


@router.post(
    "/submissions/{uuid:submission_id}/withdraw",
    response={200: SubmissionOut, **_WRITE_ERRORS},
    summary="Withdraw a submission: its model leaves the arena, its votes and ratings stay",
)
def submissions_withdraw(
    request: HttpRequest, response: HttpResponse, submission_id: uuid.UUID
) -> dict[str, Any]:
    return _acted(request, response, submission_id, "withdraw")


@router.post(
    "/submissions/{uuid:submission_id}/approve",
    response={200: SubmissionOut, **_WRITE_ERRORS},
    summary="Staff: approve a submission waiting for approval; its evaluation starts",
)
def submissions_approve(
    request: HttpRequest, response: HttpResponse, submission_id: uuid.UUID
) -> dict[str, Any]:
    return _acted(request, response, submission_id, "approve")


@router.post(
    "/submissions/{uuid:submission_id}/reject",
    response={200: SubmissionOut, 422: ErrorOut, **_WRITE_ERRORS},
    summary="Staff: reject a submission, saying why",
)
def submissions_reject(
    request: HttpRequest, response: HttpResponse, submission_id: uuid.UUID, payload: RejectIn
) -> dict[str, Any]:
    return _acted(request, response, submission_id, "reject", reason=payload.reason)


@router.post(
    "/submissions/{uuid:submission_id}/enable",
    response={200: SubmissionOut, **_WRITE_ERRORS},
    summary="Staff: put a finished submission into the arena's pool",
)
def submissions_enable(
    request: HttpRequest, response: HttpResponse, submission_id: uuid.UUID
) -> dict[str, Any]:
    return _acted(request, response, submission_id, "enable")
